#include "support/raw_ws.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace orch::test {

RawWs::RawWs(int port, const std::string& path) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return;
  const std::string hello = "GET " + path +
                            " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
  send(hello);
  while (buf_.find("\r\n\r\n") == std::string::npos && fill()) {}
  const auto end = buf_.find("\r\n\r\n");
  if (end == std::string::npos) return;
  head_ = buf_.substr(0, end);
  buf_.erase(0, end + 4);
}

RawWs::~RawWs() { ::close(fd_); }

void RawWs::send(const std::string& bytes) { ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL); }

std::pair<int, std::string> RawWs::frame() {
  for (;;) {
    if (buf_.size() >= 2) {
      size_t len = static_cast<unsigned char>(buf_[1]) & 0x7f, at = 2;
      if (len == 126 && buf_.size() >= 4) len = (static_cast<unsigned char>(buf_[2]) << 8) | static_cast<unsigned char>(buf_[3]), at = 4;
      if (len < 126 || at == 4)
        if (buf_.size() >= at + len) {
          std::pair<int, std::string> f{static_cast<unsigned char>(buf_[0]) & 0x0f, buf_.substr(at, len)};
          buf_.erase(0, at + len);
          return f;
        }
    }
    if (!fill()) return {-1, ""};
  }
}

std::pair<int, std::string> RawWs::control_frame() {
  for (;;) {
    auto f = frame();
    if (f.first != 0x1) return f;
  }
}

bool RawWs::closed_by_server() {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, 2000) <= 0) return false;
  char c;
  return ::recv(fd_, &c, 1, 0) == 0;
}

bool RawWs::fill() {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, 3000) <= 0) return false;
  char tmp[4096];
  const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
  if (n <= 0) return false;
  buf_.append(tmp, static_cast<size_t>(n));
  return true;
}

std::string client_frame(uint8_t first_byte, const std::string& payload) {
  const char mask[4] = {0x37, static_cast<char>(0xfa), 0x21, 0x3d};
  std::string f;
  f.push_back(static_cast<char>(first_byte));
  f.push_back(static_cast<char>(0x80 | payload.size()));
  f.append(mask, 4);
  for (size_t i = 0; i < payload.size(); ++i) f.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
  return f;
}

uint16_t code_of(const std::string& close_payload) {
  return close_payload.size() >= 2
             ? static_cast<uint16_t>((static_cast<unsigned char>(close_payload[0]) << 8) | static_cast<unsigned char>(close_payload[1]))
             : 1005;
}

std::string close_payload(uint16_t code) { return std::string{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)}; }

}  // namespace orch::test
