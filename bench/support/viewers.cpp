#include "viewers.hpp"

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "support/raw_http.hpp"

namespace orch::bench {

Viewers::Viewers(int port, int n, bool websocket) {
  const std::string request = websocket ? "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                          "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
                                        : "GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n";
  ep_ = epoll_create1(0);
  for (int i = 0; i < n; ++i) {
    int fd = test::connect_from(port);
    if (fd < 0 || write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
      std::fprintf(stderr, "viewer %d could not connect\n", i);
      if (fd >= 0) close(fd);
      continue;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
    fds_.push_back(fd);
  }
  reader_ = std::thread([this] {
    // The viewers stand in for browsers on other machines: keep their CPU from counting
    // against orch's API on this one.
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 19);
    epoll_event events[256];
    std::vector<char> buf(1 << 16);
    while (!stop_) {
      int n = epoll_wait(ep_, events, 256, 100);
      for (int i = 0; i < n; ++i) {
        ssize_t got = read(events[i].data.fd, buf.data(), buf.size());
        if (got > 0) bytes_ += got;
        else if (got == 0) {
          ++closed_;
          epoll_ctl(ep_, EPOLL_CTL_DEL, events[i].data.fd, nullptr);
        }
      }
    }
  });
}

Viewers::~Viewers() {
  stop_ = true;
  reader_.join();
  for (int fd : fds_) close(fd);
  close(ep_);
}

double gauge(const test::OrchServer& orch, const std::string& name) {
  auto body = orch.get("/metrics").body;
  auto at = body.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::atof(body.c_str() + at + name.size() + 2);
}

}  // namespace orch::bench
