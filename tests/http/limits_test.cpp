// The HTTP front end under hostile input, with real sockets: framing errors (request smuggling)
// get one answer and a closed connection at once, heads are bounded before they are buffered,
// slow clients are cut off at their deadline, connection caps hold, and probes are answered while
// control work and trickling clients fill everything else.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>

#include "http/server.hpp"
#include "support/orch_server.hpp"
#include "support/raw_http.hpp"
#include "support/require.hpp"

using namespace orch;
using namespace orch::test;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

// A sanitizer build (orch is built with the same flags as this test) holds the sanitizer's own
// memory in the process: ASan's shadow and quarantine, TSan's shadow and access histories (which
// grow with what a request touches, so under TSan even the peak's growth measures it). There the
// memory bounds are recorded, not checked; the rest of each test holds.
#if defined(__SANITIZE_THREAD__)
constexpr bool kIdleMemoryMeasurable = false, kPeakGrowthMeasurable = false;
#elif defined(__SANITIZE_ADDRESS__)
constexpr bool kIdleMemoryMeasurable = false, kPeakGrowthMeasurable = true;
#else
constexpr bool kIdleMemoryMeasurable = true, kPeakGrowthMeasurable = true;
#endif

// Everything the server sends until it closes (or `timeout` passes without a byte), and whether it closed.
struct Received {
  std::string bytes;
  bool closed = false;
};
Received read_until_close(int fd, std::chrono::milliseconds timeout = 3s) {
  Received r;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return r;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      r.closed = true;
      return r;
    }
    r.bytes.append(buf, static_cast<size_t>(n));
  }
}

// Status lines: at the start, or right after a message (bodies here are short and end with '}').
int answers_in(const std::string& bytes) {
  int n = bytes.rfind("HTTP/1.", 0) == 0 ? 1 : 0;
  for (size_t at = bytes.find("}HTTP/1."); at != std::string::npos; at = bytes.find("}HTTP/1.", at + 1)) ++n;
  for (size_t at = bytes.find("\r\n\r\nHTTP/1."); at != std::string::npos; at = bytes.find("\r\n\r\nHTTP/1.", at + 1)) ++n;
  return n;
}

// A server with a plain route, a slow control route, a probe and a batched route.
struct Served {
  std::unique_ptr<http::Server> server;
  std::atomic<int> slow_running{0};
  std::mutex refused_mu;
  std::vector<std::pair<int, std::string>> refused;  // what on_refused was told
  explicit Served(http::ServerOptions opts = {"127.0.0.1", 0}) {
    server = std::make_unique<http::Server>(opts);
    server->on_refused([this](int status, std::string_view code) {
      std::lock_guard lock(refused_mu);
      refused.emplace_back(status, std::string(code));
    });
    server->routes().Get("/plain", [](const httplib::Request&, httplib::Response& res) { res.set_content("plain", "text/plain"); });
    server->routes().Post("/echo", [](const httplib::Request& req, httplib::Response& res) { res.set_content("echo:" + req.body, "text/plain"); });
    server->routes().Post("/slow", [this](const httplib::Request&, httplib::Response& res) {
      ++slow_running;
      std::this_thread::sleep_for(1500ms);
      --slow_running;
      res.set_content("slow", "text/plain");
    });
    server->routes().Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });
    server->guard("/slow", http::Server::Rate::limited);
    server->probe("/healthz");
    server->post_batched("/batch", [](const std::vector<http::Exchange*>& batch, std::function<void()> done) {
      for (auto* ex : batch) {
        ex->res.status = 202;
        ex->res.set_content("batch:" + ex->req.body, "text/plain");
      }
      done();
    });
    server->start();
  }
  int port() const { return server->port(); }
};

TEST(Framing, SmugglingAndFramingErrorsGetOneAnswerAtOnceAndAClosedConnection) {
  Served s;
  // Each case carries a second request behind the bad one: it must never be answered.
  const std::string smuggled = "GET /plain HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::vector<std::pair<std::string, int>> cases = {
      {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n", 400},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\nhello!", 400},
      {"POST /batch HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nabc\r\n0\r\n\r\n", 400},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n", 400},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", 400},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", 400},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", 400},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n", 413},
      {"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"GET /plain HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n  b\r\n\r\n", 400},
      {"GET /plain HTTP/1.1\r\nHost : x\r\n\r\n", 400},
      {"GET /plain HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400},
      {"GET /plain HTTP/1.1\r\n\r\n", 400},  // no Host
      {"GET /plain HTTP/1.1\nHost: x\n\n", 400},
      {"GET /plain HTTP/2.0\r\nHost: x\r\n\r\n", 505},
      {"GET /pl ain HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 2\r\n\r\nhi", 417},
  };
  for (const auto& [request, status] : cases) {
    const int fd = connect_from(s.port());
    ASSERT_GE(fd, 0);
    ASSERT_GT(::send(fd, (request + smuggled).data(), request.size() + smuggled.size(), MSG_NOSIGNAL), 0);
    const auto t0 = Clock::now();
    auto got = read_until_close(fd, 3s);
    ::close(fd);
    EXPECT_EQ(status_of(got.bytes), status) << request << "\n--- got:\n" << got.bytes;
    EXPECT_EQ(answers_in(got.bytes), 1) << "exactly one answer for:\n" << request << "\n--- got:\n" << got.bytes;
    EXPECT_TRUE(got.closed) << request;
    EXPECT_LT(Clock::now() - t0, 1500ms) << "answered at once, not after a read timeout: " << request;
    EXPECT_NE(got.bytes.find("Connection: close"), std::string::npos) << got.bytes;
  }
  // The same connection still serves requests that are right.
  auto fine = raw_http(s.port(), "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\nhi\r\n1;ext=1\r\n!\r\n0\r\nTrailer: x\r\n\r\n");
  EXPECT_EQ(status_of(fine), 200) << fine;
  EXPECT_NE(fine.find("echo:hi!"), std::string::npos) << fine;
  // Each refusal was reported once, with its status (orch_http_refused_total).
  std::lock_guard lock(s.refused_mu);
  ASSERT_EQ(s.refused.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) EXPECT_EQ(s.refused[i].first, cases[i].second) << cases[i].first;
}

TEST(Limits, HeadsAreBoundedLineByLineAndInAll) {
  Served s;
  const std::vector<std::pair<std::string, int>> cases = {
      {"GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
      {"GET /plain HTTP/1.1\r\nHost: x\r\nX-Long: " + std::string(9000, 'b') + "\r\n\r\n", 431},
      {[] {
         std::string r = "GET /plain HTTP/1.1\r\nHost: x\r\n";
         for (int i = 0; i < 101; ++i) r += "X-" + std::to_string(i) + ": v\r\n";
         return r + "\r\n";
       }(),
       431},
      {[] {
         std::string r = "GET /plain HTTP/1.1\r\nHost: x\r\n";
         for (int i = 0; i < 10; ++i) r += "X-" + std::to_string(i) + ": " + std::string(7000, 'c') + "\r\n";
         return r + "\r\n";
       }(),
       431},
      // A head that never ends: refused as soon as it is over the limit, not buffered on.
      {"GET /plain HTTP/1.1\r\nHost: x\r\nX-Endless: " + std::string(200'000, 'd'), 431},
      {std::string(20'000, 'e'), 414},
  };
  for (const auto& [request, status] : cases) {
    auto r = raw_http(s.port(), request, nullptr, 2s);
    EXPECT_EQ(status_of(r), status) << request.substr(0, 120) << "\n--- got:\n" << r.substr(0, 300);
  }
  // 100 fields of 8 KiB lines are within the limits.
  std::string ok = "GET /plain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
  for (int i = 0; i < 7; ++i) ok += "X-" + std::to_string(i) + ": " + std::string(8000, 'f') + "\r\n";
  EXPECT_EQ(status_of(raw_http(s.port(), ok + "\r\n")), 200);
}

TEST(Limits, AGigabyteHeaderLineCostsNoMemoryAndGets431) {
  // A real orch serve, so its own memory is measured (VmHWM: the peak resident set).
  OrchServer orch(std::map<std::string, std::string>{{"REDIS_URL", ""}, {"DOCKER_HOST", "unix:///nonexistent.sock"}});
  auto peak_kb = [&] {
    std::ifstream in("/proc/" + std::to_string(orch.process().pid()) + "/status");
    for (std::string line; std::getline(in, line);)
      if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
    return 0L;
  };
  ASSERT_EQ(orch.get("/healthz").status, 200);
  const long before = peak_kb();
  const int fd = connect_from(orch.port());
  ASSERT_GE(fd, 0);
  const std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Huge: ";
  ::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
  const std::string chunk(1 << 20, 'x');
  size_t sent = 0;
  std::string answer;
  // Up to 1 GiB; the server answers and closes long before.
  for (int i = 0; i < 1024; ++i) {
    const ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  answer = read_until_close(fd, 3s).bytes;
  ::close(fd);
  EXPECT_EQ(status_of(answer), 431) << answer.substr(0, 200);
  EXPECT_LT(sent, size_t{1} << 30) << "the server read the whole gigabyte";
  const long after = peak_kb();
  if (kPeakGrowthMeasurable) EXPECT_LT(after - before, 1024) << "peak RSS grew by " << (after - before) << " KiB for one header line";
  else RecordProperty("peak_rss_growth_kib_under_sanitizer", std::to_string(after - before));
  EXPECT_EQ(orch.get("/healthz").status, 200);
}

TEST(Limits, ASlowHeadGets408AtItsDeadlineWhileOthersAreServed) {
  http::ServerOptions opts{"127.0.0.1", 0};
  opts.head_timeout = 1s;
  Served s(opts);
  std::vector<int> slow;
  for (int i = 0; i < 50; ++i) {
    slow.push_back(connect_from(s.port()));
    ::send(slow.back(), "GET /pla", 8, MSG_NOSIGNAL);
  }
  // Trickling: a byte now and then, never the whole head.
  for (int step = 0; step < 3; ++step) {
    std::this_thread::sleep_for(200ms);
    for (int fd : slow) ::send(fd, "i", 1, MSG_NOSIGNAL);
    EXPECT_EQ(status_of(raw_http(s.port(), "GET /plain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "127.0.0.2", 1s)), 200);
  }
  int timed_out = 0;
  for (int fd : slow) {
    auto got = read_until_close(fd, 3s);
    timed_out += status_of(got.bytes) == 408 && got.closed;
    ::close(fd);
  }
  EXPECT_EQ(timed_out, 50);
}

TEST(Limits, ConnectionsPerAddressAreCappedOthersAreServed) {
  http::ServerOptions opts{"127.0.0.1", 0};
  opts.max_connections_per_address = 5;
  Served s(opts);
  std::vector<int> held;
  for (int i = 0; i < 5; ++i) {
    held.push_back(connect_from(s.port()));
    ::send(held.back(), "GET /plain HTTP/1.1\r\nHost: x\r\n\r\n", 32, MSG_NOSIGNAL);
    EXPECT_EQ(status_of(read_until_close(held.back(), 300ms).bytes), 200);
  }
  const int sixth = connect_from(s.port());
  auto refused = read_until_close(sixth, 2s);
  EXPECT_EQ(status_of(refused.bytes), 503) << refused.bytes;
  EXPECT_TRUE(refused.closed);
  ::close(sixth);
  {
    std::lock_guard lock(s.refused_mu);  // counted for orch_http_refused_total
    EXPECT_EQ(s.refused, (std::vector<std::pair<int, std::string>>{{503, "too_many_connections"}}));
  }
  EXPECT_EQ(status_of(raw_http(s.port(), "GET /plain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "127.0.0.3")), 200);
  for (int fd : held) ::close(fd);
  // Freed: the address may connect again.
  EXPECT_TRUE(eventually([&] {
    return status_of(raw_http(s.port(), "GET /plain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")) == 200;
  }, 2s));
}

TEST(Lanes, ProbesAnswerWhileControlIsSaturatedAndControlBeyondItsBoundIs503) {
  http::ServerOptions opts{"127.0.0.1", 0};
  opts.control_threads = 2;
  opts.control_queue = 2;
  Served s(opts);
  std::vector<std::thread> clients;
  std::atomic<int> ok{0}, busy{0};
  for (int i = 0; i < 8; ++i)
    clients.emplace_back([&] {
      auto r = raw_http(s.port(), "POST /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", nullptr, 5s);
      if (status_of(r) == 200) ++ok;
      if (status_of(r) == 503 && r.find("\"busy\"") != std::string::npos) ++busy;
    });
  ASSERT_TRUE(eventually([&] { return s.slow_running == 2; }, 2s));
  // The probe lane is apart: it answers while every control worker is held.
  const auto t0 = Clock::now();
  EXPECT_EQ(status_of(raw_http(s.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", nullptr, 2s)), 200);
  EXPECT_LT(Clock::now() - t0, 1s);
  EXPECT_EQ(status_of(raw_http(s.port(), "GET /plain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", nullptr, 2s)), 200);
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok + busy, 8);
  EXPECT_EQ(ok, 4) << "two running and two waiting; the rest are told to retry";
  EXPECT_EQ(busy, 4);
}

TEST(Limits, ExpectContinueGetsAnInterimAnswerOrAnEarly413) {
  Served s;
  const int fd = connect_from(s.port());
  const std::string head = "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
  ::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
  char buf[256];
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 2000), 1);
  const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(std::max<ssize_t>(0, n))), "HTTP/1.1 100 Continue\r\n\r\n");
  ::send(fd, "hello", 5, MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_WR);
  auto rest = read_until_close(fd, 2s).bytes;
  EXPECT_EQ(status_of(rest), 200) << rest;
  EXPECT_NE(rest.find("echo:hello"), std::string::npos);
  ::close(fd);
  auto big = raw_http(s.port(), "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5000000\r\n\r\n", nullptr, 2s);
  EXPECT_EQ(status_of(big), 413) << big;
  EXPECT_EQ(big.find("100 Continue"), std::string::npos);
}

TEST(Limits, TwoThousandTricklingConnectionsDoNotStopProbes) {
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &lim);
  ORCH_REQUIRE(lim.rlim_cur >= 4500) << "needs 4,500 descriptors (ulimit -n)";
  OrchServer orch(std::map<std::string, std::string>{{"REDIS_URL", ""}, {"DOCKER_HOST", "unix:///nonexistent.sock"},
                                                     {"ORCH_HTTP_MAX_CONNECTIONS_PER_ADDRESS", "5000"}});
  std::vector<int> slow;
  for (int i = 0; i < 2000; ++i) {
    const int fd = connect_from(orch.port());
    ASSERT_GE(fd, 0) << i;
    // Half trickle a head, half a body.
    if (i % 2) ::send(fd, "GET /healthz HTTP/1.1\r\nHo", 25, MSG_NOSIGNAL);
    else ::send(fd, "POST /diagnose HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{", 59, MSG_NOSIGNAL);
    slow.push_back(fd);
  }
  for (int round = 0; round < 5; ++round) {
    for (int fd : slow) ::send(fd, "x", 1, MSG_NOSIGNAL);
    const auto t0 = Clock::now();
    auto r = raw_http(orch.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "127.0.0.2", 2s);
    EXPECT_EQ(status_of(r), 200) << r;
    // The bar (50 ms) is measured by bench/http; here only that it answers, with room for CI.
    EXPECT_LT(Clock::now() - t0, 1s);
    std::this_thread::sleep_for(200ms);
  }
  for (int fd : slow) ::close(fd);
  EXPECT_EQ(orch.get("/healthz").status, 200);
}

TEST(Limits, AnIdleOrchHoldsFewThreadsAndLittleMemory) {
  OrchServer orch(std::map<std::string, std::string>{{"REDIS_URL", ""}, {"DOCKER_HOST", "unix:///nonexistent.sock"}});
  for (int i = 0; i < 20; ++i) ASSERT_EQ(orch.get("/healthz").status, 200);
  std::this_thread::sleep_for(300ms);
  auto field = [&](const char* name) {
    std::ifstream in("/proc/" + std::to_string(orch.process().pid()) + "/status");
    for (std::string line; std::getline(in, line);)
      if (line.rfind(name, 0) == 0) return std::stol(line.substr(std::string(name).size()));
    return -1L;
  };
  const long threads = field("Threads:");
  const long cores = static_cast<long>(std::max(1u, std::thread::hardware_concurrency()));
  // Issue 16's bar: at most 2 x cores plus a small fixed number (it was 270).
  EXPECT_LE(threads, 2 * cores + 14) << "threads of an idle orch serve";
  // Memory orch itself holds. VmRSS (about 19 MB here) is mostly the pages of shared libraries:
  // libcrypto alone is 3.5 MB, initialised at load by Debian's libcpp-httplib (docs/http.md).
  if (kIdleMemoryMeasurable) EXPECT_LT(field("RssAnon:"), 8 * 1024) << "KiB of anonymous memory, idle";
  else RecordProperty("rss_anon_kib_under_sanitizer", std::to_string(field("RssAnon:")));
}

}  // namespace
