// bench/live: does watching starve the API? Webhook throughput on a real `orch serve` + real
// redis-server, first with no live viewers, then with N viewers on GET /events (SSE), then with N
// on GET /ws (WebSocket). Every viewer receives every event; one epoll thread reads them all.
//
//   bench_live [--viewers 200] [--connections 32] [--seconds 8]
//
// Prints req/s and p99 for each run, the ratio to the run without viewers, and what the viewers got.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "support/orch_server.hpp"
#include "support/redis_server.hpp"
#include "webhook_load.hpp"

using namespace orch;
using namespace std::chrono_literals;

namespace {

int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
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

// N connected viewers of one kind, drained by one thread; counts bytes and event separators.
class Viewers {
 public:
  Viewers(int port, int n, bool websocket) {
    const std::string request = websocket ? "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
                                          : "GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n";
    ep_ = epoll_create1(0);
    for (int i = 0; i < n; ++i) {
      int fd = connect_to(port);
      if (fd < 0 || write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
        std::fprintf(stderr, "viewer %d could not connect\n", i);
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
  ~Viewers() {
    stop_ = true;
    reader_.join();
    for (int fd : fds_) close(fd);
    close(ep_);
  }
  size_t connected() const { return fds_.size() - closed_.load(); }
  long long bytes() const { return bytes_.load(); }

 private:
  int ep_;
  std::vector<int> fds_;
  std::thread reader_;
  std::atomic<bool> stop_{false};
  std::atomic<long long> bytes_{0};
  std::atomic<size_t> closed_{0};
};

double gauge(const test::OrchServer& orch, const std::string& name) {
  auto body = orch.get("/metrics").body;
  auto at = body.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::atof(body.c_str() + at + name.size() + 2);
}

}  // namespace

int main(int argc, char** argv) {
  int viewers = 200, connections = 32;
  double seconds = 8;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--viewers" && i + 1 < argc) viewers = std::atoi(argv[++i]);
    else if (a == "--connections" && i + 1 < argc) connections = std::atoi(argv[++i]);
    else if (a == "--seconds" && i + 1 < argc) seconds = std::atof(argv[++i]);
    else {
      std::fprintf(stderr, "usage: bench_live [--viewers N] [--connections N] [--seconds S]\n");
      return 64;
    }
  }
  test::RedisServer redis;
  test::OrchServer orch({{"REDIS_URL", redis.url()}, {"TRUSTED_WEBHOOK_SECRET", bench::kWebhookSecret}, {"ORCH_LOG_LEVEL", "warn"}});
  bench::run_webhook_load(orch.port(), connections, 1.0, 900'000'000);  // warm-up

  std::printf("bench/live: %d webhook connections, %.0f s per run, %d viewers\n", connections, seconds, viewers);
  long long next_id = 0;
  auto run = [&](const char* label) {
    auto r = bench::run_webhook_load(orch.port(), connections, seconds, next_id);
    next_id += 1'000'000;
    std::printf("  %-16s %7.0f req/s  p99 %5.2f ms  errors %lld", label, r.per_second(), bench::percentile(r.latencies_us, 0.99) / 1000,
                r.errors);
    for (const auto& [status, n] : r.error_statuses) std::printf(" [%s: %lld]", status < 0 ? "closed" : std::to_string(status).c_str(), n);
    std::printf("\n");
    return r.per_second();
  };
  // Runs without viewers before and after each run with them: the machine's drift between runs
  // is of the same order as the effect measured.
  double before = run("no viewers");
  double ratio[2] = {0, 0};
  for (int kind = 0; kind < 2; ++kind) {
    const bool ws = kind == 1;
    double with = 0;
    {
      Viewers v(orch.port(), viewers, ws);
      const char* metric = ws ? "orch_live_ws_viewers" : "orch_live_viewers";
      for (int i = 0; i < 100 && gauge(orch, metric) < viewers; ++i) std::this_thread::sleep_for(50ms);
      with = run(ws ? "/ws viewers" : "SSE viewers");
      std::printf("  %-16s %zu of %d still connected, %.1f MB received in all\n", "", v.connected(), viewers,
                  static_cast<double>(v.bytes()) / 1e6);
    }
    const double after = run("no viewers");
    ratio[kind] = with / ((before + after) / 2);
    before = after;
  }
  std::printf("  with viewers / without (mean of the runs around it): SSE %.0f %%, WebSocket %.0f %% (target: >= 90 %%)\n",
              100 * ratio[0], 100 * ratio[1]);
  const auto log = orch.log();
  size_t dropped = 0;
  for (size_t at = 0; (at = log.find("live: dropping", at)) != std::string::npos; ++at) ++dropped;
  std::printf("  viewers dropped for lagging: %zu\n", dropped);
  if (std::getenv("BENCH_SHOW_LOG")) std::printf("%s\n", log.c_str());
  return 0;
}
