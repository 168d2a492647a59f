#include "webhook_load.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "core/crypto.hpp"
#include "core/json.hpp"

namespace orch::bench {
namespace {

using Clock = std::chrono::steady_clock;

std::string make_request(int port, long long n) {
  json body = {{"modelName", "page"},
               {"operation", "publish"},
               {"newValue",
                {{"id", "page-" + std::to_string(n % 5000)},
                 {"name", "Bench page"},
                 {"lastUpdated", 1732470000000LL + n},
                 {"data", {{"url", "/bench/" + std::to_string(n % 5000)}, {"title", "Bench"}}}}}};
  auto b = body.dump();
  auto sig = "sha256=" + to_hex(hmac_sha256(kWebhookSecret, b));
  return "POST /webhook/builder HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
         "\r\nContent-Type: application/json\r\nx-builder-signature: " + sig + "\r\nContent-Length: " + std::to_string(b.size()) +
         "\r\n\r\n" + b;
}

int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

struct Conn {
  int fd = -1;
  size_t next = 0;
  std::string buf;
  Clock::time_point sent_at;
};

// Takes one complete HTTP response off the front of `buf`: its status, or 0 if incomplete.
int parse_response(std::string& buf) {
  auto head_end = buf.find("\r\n\r\n");
  if (head_end == std::string::npos) return 0;
  int status = std::atoi(buf.c_str() + 9);
  size_t len = 0;
  auto cl = buf.find("Content-Length: ");
  if (cl != std::string::npos && cl < head_end) len = std::strtoul(buf.c_str() + cl + 16, nullptr, 10);
  if (buf.size() < head_end + 4 + len) return 0;
  buf.erase(0, head_end + 4 + len);
  return status;
}

}  // namespace

LoadResult run_webhook_load(int port, int connections, double seconds, long long first_id) {
  // Requests are built before the clock starts so the generator spends its CPU on I/O only.
  const long long per_conn = 400'000 / connections + 1;
  std::vector<std::vector<std::string>> requests(static_cast<size_t>(connections));
  for (int c = 0; c < connections; ++c)
    for (long long i = 0; i < per_conn; ++i) requests[c].push_back(make_request(port, first_id + c * per_conn + i));

  std::vector<Conn> conns(static_cast<size_t>(connections));
  int ep = epoll_create1(0);
  for (int c = 0; c < connections; ++c) {
    conns[c].fd = connect_to(port);
    if (conns[c].fd < 0) throw std::runtime_error("cannot connect to orch on port " + std::to_string(port));
    fcntl(conns[c].fd, F_SETFL, O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(c);
    epoll_ctl(ep, EPOLL_CTL_ADD, conns[c].fd, &ev);
  }
  LoadResult result;
  result.latencies_us.reserve(1'000'000);
  auto send_next = [&](int c) {
    auto& conn = conns[c];
    if (conn.next >= requests[c].size()) return false;
    const auto& req = requests[c][conn.next++];
    conn.sent_at = Clock::now();
    return write(conn.fd, req.data(), req.size()) == static_cast<ssize_t>(req.size());
  };
  const auto start = Clock::now();
  const auto until = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  for (int c = 0; c < connections; ++c) send_next(c);
  int active = connections;
  epoll_event events[64];
  char tmp[65536];
  while (active > 0) {
    int n = epoll_wait(ep, events, 64, 1000);
    for (int i = 0; i < n; ++i) {
      int c = static_cast<int>(events[i].data.u32);
      auto& conn = conns[c];
      ssize_t got = read(conn.fd, tmp, sizeof tmp);
      if (got <= 0) {
        if (got < 0 && errno == EAGAIN) continue;
        ++result.errors;
        ++result.error_statuses[-1];
        epoll_ctl(ep, EPOLL_CTL_DEL, conn.fd, nullptr);
        --active;
        continue;
      }
      conn.buf.append(tmp, static_cast<size_t>(got));
      int status;
      while ((status = parse_response(conn.buf)) != 0) {
        if (status == 202) {
          result.latencies_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - conn.sent_at).count());
        } else {
          ++result.errors;
          ++result.error_statuses[status];
        }
        if (Clock::now() >= until || !send_next(c)) {
          epoll_ctl(ep, EPOLL_CTL_DEL, conn.fd, nullptr);
          --active;
          break;
        }
      }
    }
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& c : conns) close(c.fd);
  close(ep);
  return result;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i];
}

}  // namespace orch::bench
