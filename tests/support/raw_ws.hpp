#pragma once
// A WebSocket client on a raw socket, for frames a library would not send (unmasked, oversized,
// a ping in the middle of a fragmented message) and for reading every server frame as it came:
// the pings, pongs and close codes of docs/live.md.
#include <cstdint>
#include <string>
#include <utility>

namespace orch::test {

class RawWs {
 public:
  // Connects to 127.0.0.1:port and does the opening handshake for `path`; head() is the answer's head.
  RawWs(int port, const std::string& path);
  // A socket already past the handshake (one end of a socketpair whose other end a server holds).
  explicit RawWs(int connected_fd) : fd_(connected_fd) {}
  ~RawWs();
  RawWs(const RawWs&) = delete;
  RawWs& operator=(const RawWs&) = delete;
  const std::string& head() const { return head_; }
  void send(const std::string& bytes);
  // The next server frame: {opcode, payload}; opcode -1 when the server closed or nothing came.
  std::pair<int, std::string> frame();
  // Skips event frames (text) until a frame of another kind arrives.
  std::pair<int, std::string> control_frame();
  // Whether the server closed the connection (within 2 s).
  bool closed_by_server();

 private:
  bool fill();
  int fd_ = -1;
  std::string buf_, head_;
};

// A client frame masked the way a browser masks it.
std::string client_frame(uint8_t first_byte, const std::string& payload);
// The code of a close frame's payload (1005 when it carries none), and a payload carrying `code`.
uint16_t code_of(const std::string& close_payload);
std::string close_payload(uint16_t code);

}  // namespace orch::test
