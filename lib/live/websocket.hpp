#pragma once
// RFC 6455 framing for GET /ws: the opening handshake's accept key, server frames, and an
// incremental parser for client frames. Pure functions, so they are tested without sockets.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace orch::live::ws {

enum class Opcode : uint8_t { continuation = 0x0, text = 0x1, binary = 0x2, close = 0x8, ping = 0x9, pong = 0xA };

// Close codes used here (RFC 6455 §7.4.1).
inline constexpr uint16_t kNormalClosure = 1000;
inline constexpr uint16_t kGoingAway = 1001;
inline constexpr uint16_t kProtocolError = 1002;
inline constexpr uint16_t kPolicyViolation = 1008;
inline constexpr uint16_t kMessageTooBig = 1009;

// base64(SHA-1(key + the RFC's GUID)): the Sec-WebSocket-Accept of a Sec-WebSocket-Key.
std::string accept_key(std::string_view client_key);

// A client key is the base64 of 16 bytes.
bool valid_client_key(std::string_view client_key);

// One unmasked server frame with FIN set.
std::string encode_frame(Opcode op, std::string_view payload);
// A close frame carrying `code` and a reason (truncated to fit the 125-byte control limit).
std::string encode_close(uint16_t code, std::string_view reason = {});

struct Frame {
  bool fin = true;
  Opcode opcode = Opcode::text;
  std::string payload;  // unmasked
};

// Feeds bytes from a client; yields whole frames. A protocol violation (unmasked frame, bad
// control frame, reserved bits or opcodes, oversized payload) sets error() to the close code to
// send, after which the connection must close.
class FrameParser {
 public:
  explicit FrameParser(size_t max_payload = 64 * 1024) : max_payload_(max_payload) {}
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  // The next whole frame, or nullopt when more bytes are needed or on error.
  std::optional<Frame> next();
  uint16_t error() const { return error_; }

 private:
  std::string buffer_;
  size_t max_payload_;
  uint16_t error_ = 0;
};

// The close code in a close frame's payload (1005 "no status" when it carries none).
uint16_t close_code(std::string_view payload);

}  // namespace orch::live::ws
