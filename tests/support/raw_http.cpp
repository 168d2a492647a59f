#include "support/raw_http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace orch::test {

int connect_from(int port, const char* source) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  if (source && (inet_pton(AF_INET, source, &local.sin_addr) != 1 ||
                 bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0)) {
    close(fd);
    return -1;
  }
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(static_cast<uint16_t>(port));
  remote.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::string raw_http(int port, const std::string& request, const char* source, std::chrono::milliseconds timeout) {
  const int fd = connect_from(port, source);
  if (fd < 0) return "";
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  // A server may answer and close before reading everything (413, 429): a short write is fine.
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string got;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) got.append(buf, static_cast<size_t>(n));
  close(fd);
  return got;
}

int status_of(const std::string& response) {
  size_t at = 0;
  while (true) {
    if (response.compare(at, 7, "HTTP/1.") != 0 || response.size() < at + 12) return 0;
    int status = 0;
    try {
      status = std::stoi(response.substr(at + 9, 3));
    } catch (const std::exception&) {
      return 0;
    }
    if (status >= 200) return status;
    // An interim answer (100 Continue) comes first: the final one follows its blank line.
    const size_t end = response.find("\r\n\r\n", at);
    if (end == std::string::npos) return status;
    at = end + 4;
  }
}

}  // namespace orch::test
