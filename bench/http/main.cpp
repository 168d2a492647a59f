// bench/http: what an unauthenticated client can do to `orch serve`'s HTTP layer (issue 16's bars).
//
//   bench_http [--trickle 2000] [--seconds 8]
//   ORCH_BINARY_UNDER_TEST=/path/to/other/orch bench_http ...   (another build, for a comparison)
//
// 1. Idle: threads and resident memory of a fresh orch serve.
// 2. /healthz latency from another address (a new connection each time, as a HEALTHCHECK makes),
//    alone, then while N connections trickle request heads and bodies at one byte per second.
// 3. One request head with a header line of up to 1 GiB: how much the server took before it
//    answered, with what, and how much its peak resident memory grew.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "support/orch_server.hpp"
#include "support/raw_http.hpp"
#include "webhook_load.hpp"  // percentile

using namespace orch;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

long status_field(int pid, const char* name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(name, 0) == 0) return std::stol(line.substr(std::string(name).size()));
  return -1;
}

struct Probe {
  std::vector<double> ms;
  int failed = 0;  // no 200 within 2 s
};

// GET /healthz every `every` until `until`, each on a new connection from 127.0.0.2.
Probe probe_healthz(int port, Clock::time_point until, std::chrono::milliseconds every) {
  Probe p;
  while (Clock::now() < until) {
    const auto t0 = Clock::now();
    const auto r = test::raw_http(port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "127.0.0.2", 2s);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (test::status_of(r) == 200) p.ms.push_back(ms);
    else ++p.failed;
    std::this_thread::sleep_for(every);
  }
  return p;
}

void print_probe(const char* label, const Probe& p) {
  std::vector<double> us;
  for (double ms : p.ms) us.push_back(ms * 1000);
  std::sort(us.begin(), us.end());
  std::printf("  %-34s %zu answered, %d failed; p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", label, p.ms.size(), p.failed,
              bench::percentile(us, 0.50) / 1000, bench::percentile(us, 0.99) / 1000, us.empty() ? 0.0 : us.back() / 1000);
}

}  // namespace

int main(int argc, char** argv) {
  int trickle = 2000;
  double seconds = 8;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--trickle" && i + 1 < argc) trickle = std::atoi(argv[++i]);
    else if (a == "--seconds" && i + 1 < argc) seconds = std::atof(argv[++i]);
    else {
      std::fprintf(stderr, "usage: bench_http [--trickle N] [--seconds S]\n");
      return 64;
    }
  }
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &lim);

  test::OrchServer orch({{"REDIS_URL", ""}, {"DOCKER_HOST", "unix:///nonexistent.sock"}, {"ORCH_LOG_LEVEL", "warn"},
                         {"ORCH_HTTP_MAX_CONNECTIONS_PER_ADDRESS", std::to_string(trickle + 100)}});
  const int pid = orch.process().pid();
  const char* binary = std::getenv("ORCH_BINARY_UNDER_TEST");
  std::printf("bench/http: %s\n", binary ? binary : "this build's orch");
  std::this_thread::sleep_for(1s);
  std::printf("  idle: %ld threads, VmRSS %ld KiB (anonymous %ld KiB)\n", status_field(pid, "Threads:"),
              status_field(pid, "VmRSS:"), status_field(pid, "RssAnon:"));

  print_probe("/healthz, nothing else:", probe_healthz(orch.port(), Clock::now() + 2s, 10ms));

  // Trickling clients: half send a head a byte at a time, half a head then a body a byte at a time.
  std::vector<int> slow;
  for (int i = 0; i < trickle; ++i) {
    const int fd = test::connect_from(orch.port(), "127.0.0.1");
    if (fd < 0) break;
    const std::string start = i % 2 ? "GET /healthz HTTP/1.1\r\nHo" : "POST /diagnose HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{";
    ::send(fd, start.data(), start.size(), MSG_NOSIGNAL);
    slow.push_back(fd);
  }
  std::atomic<bool> trickling{true};
  std::thread dripper([&] {
    while (trickling) {
      for (int fd : slow) ::send(fd, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      std::this_thread::sleep_for(1s);
    }
  });
  const std::string label = "/healthz, " + std::to_string(slow.size()) + " trickling:";
  const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  print_probe(label.c_str(), probe_healthz(orch.port(), until, 20ms));
  trickling = false;
  dripper.join();
  std::printf("  during the trickle: %ld threads, VmRSS %ld KiB\n", status_field(pid, "Threads:"), status_field(pid, "VmRSS:"));
  for (int fd : slow) ::close(fd);

  // One endless header line.
  const long peak_before = status_field(pid, "VmHWM:");
  const int fd = test::connect_from(orch.port(), "127.0.0.3");
  const std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Huge: ";
  ::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
  const std::string chunk(1 << 20, 'h');
  size_t sent = head.size();
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const auto t0 = Clock::now();
  for (int i = 0; i < 1024; ++i) {
    const ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string answer;
  char buf[4096];
  pollfd p{fd, POLLIN, 0};
  while (::poll(&p, 1, 2000) > 0) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    answer.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  std::printf("  1 GiB header line: server took %.1f MiB in %.2f s, answered %d, peak RSS grew %ld KiB\n",
              static_cast<double>(sent) / 1048576.0, std::chrono::duration<double>(Clock::now() - t0).count(), test::status_of(answer),
              status_field(pid, "VmHWM:") - peak_before);
  std::printf("  after: /healthz %s\n", orch.get("/healthz").status == 200 ? "200" : "FAILED");
  return 0;
}
