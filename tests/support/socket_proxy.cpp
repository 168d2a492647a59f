#include "support/socket_proxy.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace orch::test {

namespace {

sockaddr_un address_of(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path) throw std::runtime_error("socket path too long: " + path);
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  return a;
}

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

SocketProxy::SocketProxy(std::string upstream_socket) : upstream_(std::move(upstream_socket)) { start(); }

SocketProxy::~SocketProxy() { stop(); }

void SocketProxy::start() {
  if (acceptor_.joinable()) return;
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto a = address_of(socket());
  unlink(socket().c_str());
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(listen_fd_, 64) != 0)
    throw std::runtime_error("proxy cannot listen at " + socket() + ": " + std::strerror(errno));
  stopping_ = false;
  acceptor_ = std::thread([this] { accept_loop(); });
}

void SocketProxy::stop() {
  if (!acceptor_.joinable()) return;
  stopping_ = true;
  acceptor_.join();
  close(listen_fd_);
  listen_fd_ = -1;
  unlink(socket().c_str());
  std::vector<std::thread> pumps;
  {
    std::lock_guard lock(mu_);
    pumps.swap(pumps_);
  }
  for (auto& t : pumps) t.join();
}

void SocketProxy::accept_loop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    int upstream = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    auto a = address_of(upstream_);
    if (connect(upstream, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close(upstream);
      close(client);
      continue;
    }
    std::lock_guard lock(mu_);
    pumps_.emplace_back([this, client, upstream] { pump(client, upstream); });
  }
}

// Request lines among the bytes a client sends: lines that start with a method and end with the
// HTTP version (orch's bodies to the engine are JSON on one line, so they never look like one).
static void scan_requests(std::string& pending, const char* data, size_t n, const std::function<void(std::string_view)>& observer) {
  pending.append(data, n);
  size_t start = 0;
  for (size_t nl; (nl = pending.find("\r\n", start)) != std::string::npos; start = nl + 2) {
    std::string_view line(pending.data() + start, nl - start);
    for (const char* method : {"GET ", "POST ", "PUT ", "DELETE ", "HEAD "})
      if (line.rfind(method, 0) == 0 && line.find(" HTTP/1.") != std::string_view::npos) observer(line);
  }
  pending.erase(0, start);
  if (pending.size() > 65536) pending.clear();  // a large body without line ends
}

void SocketProxy::pump(int a, int b) {
  char buf[65536];
  bool open = true;
  std::string pending;  // client bytes after the last line end
  while (open && !stopping_) {
    pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    if (poll(p, 2, 50) <= 0) continue;
    for (int i = 0; i < 2 && open; ++i) {
      if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(p[i].fd, buf, sizeof buf);
      open = n > 0 && write_all(p[1 - i].fd, buf, static_cast<size_t>(n));
      if (open && i == 0 && on_request_) scan_requests(pending, buf, static_cast<size_t>(n), on_request_);
    }
  }
  close(a);
  close(b);
}

}  // namespace orch::test
