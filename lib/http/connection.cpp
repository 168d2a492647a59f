#include "http/connection.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

namespace orch::http {

bool address_of(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  if ((peer ? ::getpeername(fd, sa, &len) : ::getsockname(fd, sa, &len)) != 0) return false;
  if (addr.ss_family != AF_INET && addr.ss_family != AF_INET6) return false;
  char host[NI_MAXHOST], serv[NI_MAXSERV];
  if (::getnameinfo(sa, len, host, sizeof host, serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV) != 0) return false;
  ip = host;
  port = std::atoi(serv);
  return true;
}

namespace {

// Calls f(fd) for each socket descriptor of this process until it returns true; returns that fd or -1.
template <class F>
int find_socket(F f) {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return -1;
  int found = -1;
  while (dirent* entry = ::readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == ::dirfd(dir)) continue;
    struct stat st {};
    if (::fstat(static_cast<int>(fd), &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    if (f(static_cast<int>(fd))) {
      found = static_cast<int>(fd);
      break;
    }
  }
  ::closedir(dir);
  return found;
}

}  // namespace

bool raise_listen_backlog(int port, int backlog) {
  const int fd = find_socket([port](int fd) {
    int listening = 0;
    socklen_t len = sizeof listening;
    std::string ip;
    int local_port = 0;
    return ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening && address_of(fd, false, ip, local_port) &&
           local_port == port;
  });
  return fd >= 0 && ::listen(fd, backlog) == 0;
}

int take_connection(const httplib::Request& req) {
  const int fd = find_socket([&req](int fd) {
    std::string ip;
    int port = 0;
    return address_of(fd, true, ip, port) && port == req.remote_port && ip == req.remote_addr && address_of(fd, false, ip, port) &&
           port == req.local_port;
  });
  if (fd < 0) return -1;
  const int owned = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (owned < 0) return -1;
  const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0 || ::dup3(null, fd, O_CLOEXEC) < 0) {
    if (null >= 0) ::close(null);
    ::close(owned);
    return -1;
  }
  ::close(null);
  return owned;
}

bool send_all(int fd, std::string_view bytes, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) < 0 && errno != EINTR) return false;
  }
  return true;
}

}  // namespace orch::http
