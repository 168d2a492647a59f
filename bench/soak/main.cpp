// bench/soak: does orch stay flat over time? Flat is the bar (issue 19): a daemon that gains a
// little memory, a thread or a file descriptor per thousand requests passes every short test and
// falls over in a week.
//
//   bench_soak [--minutes 10] [--rate 2000] [--viewers 4] [--every 10] [--log-level info]
//     A real `orch serve` on a real redis-server takes `rate` distinct webhooks a second, each
//     signed by the Standard Webhooks reference library (tests/node/sign_deliveries.mjs, signing as
//     it goes so timestamps stay fresh), while `viewers` SSE clients follow GET /events and an MCP
//     client calls a tool on POST /mcp every second.
//   bench_soak --mcp-stdio [--calls 50000]
//     `orch mcp` over stdio (on a real redis-server) answers `calls` tools/call of recent_events,
//     16 in flight.
//
// Every `every` seconds (stdio: every calls/20 calls) it samples orch's VmRSS, threads, open fds
// and outbox depth (/health) and prints a row. At the end the samples after a warm-up (serve: the
// first 90 s and at least a third, while the stream fills to its MAXLEN and caches and pools fill;
// stdio: the first third) are split in two halves, and the later half may not exceed the earlier:
// RSS (median) by more than 1 MiB or 2 %, threads (max) by 4 (HTTP workers come and go with the
// load), fds (max) by 2, the outbox not at all. It prints RSS growth per request between the two,
// and exits 1 when a figure is not flat or a request failed.
#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/json.hpp"
#include "core/text.hpp"
#include "support/http_connection.hpp"
#include "support/orch_server.hpp"
#include "support/pipe_process.hpp"
#include "support/redis_server.hpp"
#include "support/webhook_sender.hpp"
#include "viewers.hpp"

using namespace orch;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

struct Sample {
  double t = 0;  // seconds since the load began (stdio: calls answered)
  long long rss_kb = 0, threads = 0, fds = 0, outbox = -1;
};

Sample sample(pid_t pid, double t, long long outbox) {
  return {t, test::proc_status(pid, "VmRSS"), test::proc_status(pid, "Threads"), test::open_fds(pid), outbox};
}

long long median(std::vector<long long> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

long long largest(const std::vector<long long>& v) { return v.empty() ? 0 : *std::max_element(v.begin(), v.end()); }

// The samples after `warmup` split in two halves, the later against the earlier; prints the
// verdict per figure. `per` names what the x axis counts (requests), to express RSS growth per
// request.
bool judge(const std::vector<Sample>& samples, size_t warmup, double requests_per_t, const char* per) {
  if (samples.size() < warmup + 4) {
    std::printf("  too few samples after the warm-up (%zu of %zu) to judge flatness: run longer\n",
                samples.size() - std::min(warmup, samples.size()), samples.size());
    return false;
  }
  const size_t mid = warmup + (samples.size() - warmup) / 2, n = samples.size();
  auto figure = [&](auto get, size_t from, size_t to) {
    std::vector<long long> v;
    for (size_t i = from; i < to; ++i) v.push_back(get(samples[i]));
    return v;
  };
  bool flat = true;
  auto verdict = [&](const char* name, long long earlier, long long later, long long allowed, const char* unit) {
    const bool ok = later <= allowed;
    flat &= ok;
    std::printf("  %-8s earlier half %lld%s, later half %lld%s, allowed %lld%s: %s\n", name, earlier, unit, later, unit, allowed, unit,
                ok ? "flat" : "GROWING");
  };
  std::printf("  judged: samples %zu-%zu against %zu-%zu (the first %zu are warm-up)\n", warmup + 1, mid, mid + 1, n, warmup);
  const long long rss1 = median(figure([](const Sample& s) { return s.rss_kb; }, warmup, mid));
  const long long rss2 = median(figure([](const Sample& s) { return s.rss_kb; }, mid, n));
  verdict("RSS", rss1, rss2, rss1 + std::max<long long>(1024, rss1 / 50), " kB (median)");
  const double span = (samples[(mid + n) / 2].t - samples[(warmup + mid) / 2].t) * requests_per_t;
  if (span > 0)
    std::printf("  %-8s %+.2f bytes per %s between the halves' middles\n", "", static_cast<double>(rss2 - rss1) * 1024 / span, per);
  const long long th1 = largest(figure([](const Sample& s) { return s.threads; }, warmup, mid));
  const long long th2 = largest(figure([](const Sample& s) { return s.threads; }, mid, n));
  verdict("threads", th1, th2, th1 + 4, " (max)");
  const long long fd1 = largest(figure([](const Sample& s) { return s.fds; }, warmup, mid));
  const long long fd2 = largest(figure([](const Sample& s) { return s.fds; }, mid, n));
  verdict("fds", fd1, fd2, fd1 + 2, " (max)");
  if (samples.back().outbox >= 0) {
    const long long ob1 = largest(figure([](const Sample& s) { return s.outbox; }, warmup, mid));
    const long long ob2 = largest(figure([](const Sample& s) { return s.outbox; }, mid, n));
    verdict("outbox", ob1, ob2, ob1, " (max)");
  }
  return flat;
}

long long outbox_depth(const test::OrchServer& orch) {
  try {
    auto j = json::parse(orch.get("/health").body, nullptr, false);
    return j.is_object() ? j["components"]["redis"].value("outbox_depth", -1LL) : -1;
  } catch (const std::exception&) {
    return -1;
  }
}

// An MCP client on POST /mcp (Streamable HTTP, one session, keep-alive) calling recent_events every
// second; a lost connection or session is opened again and counted as an error.
class McpPoller {
 public:
  explicit McpPoller(int port) : port_(port) {
    thread_ = std::thread([this] { loop(); });
  }
  ~McpPoller() {
    stop_ = true;
    thread_.join();
  }
  long long ok() const { return ok_.load(); }
  long long errors() const { return errors_.load(); }

 private:
  std::map<std::string, std::string> headers(const std::string& session) const {
    std::map<std::string, std::string> h{{"Content-Type", "application/json"}, {"Accept", "application/json, text/event-stream"}};
    if (!session.empty()) h["Mcp-Session-Id"] = session;
    return h;
  }
  void loop() {
    std::unique_ptr<test::HttpConnection> c;
    std::string session;
    for (long long id = 2; !stop_; ++id) {
      if (!c || !c->connected() || session.empty()) {
        c = std::make_unique<test::HttpConnection>(port_);
        auto init = c->request("POST", "/mcp", headers(""),
                               R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",)"
                               R"("capabilities":{},"clientInfo":{"name":"soak","version":"0"}}})");
        session = init.status == 200 ? init.header("mcp-session-id") : "";
        if (!session.empty()) c->request("POST", "/mcp", headers(session), R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
      }
      auto r = c->request("POST", "/mcp", headers(session),
                          R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
                              R"(,"method":"tools/call","params":{"name":"recent_events","arguments":{"count":5}}})");
      auto j = json::parse(r.body, nullptr, false);
      if (r.status == 200 && j.is_object() && j.contains("result") && !j["result"].value("isError", true)) {
        ++ok_;
      } else {
        ++errors_;
        if (errors_ <= 3) std::fprintf(stderr, "mcp poll: HTTP %d %s\n", r.status, r.body.substr(0, 300).c_str());
        session.clear();
      }
      for (int i = 0; i < 10 && !stop_; ++i) std::this_thread::sleep_for(100ms);
    }
  }
  int port_;
  std::atomic<bool> stop_{false};
  std::atomic<long long> ok_{0}, errors_{0};
  std::thread thread_;
};

int soak_serve(double minutes, double rate, int viewers, double every, const std::string& log_level) {
  test::RedisServer redis;
  test::OrchServer orch({{"REDIS_URL", redis.url()},
                         {"TRUSTED_WEBHOOK_SECRET", kSecret},
                         {"ORCH_LOG_LEVEL", log_level},
                         {"DOCKER_HOST", "\x01unset"},
                         {"HEALTH_INTERVAL", "1h"}});
  const pid_t pid = orch.process().pid();
  std::printf("bench/soak: orch serve (pid %d), %.0f webhooks/s for %.1f min, %d SSE viewers, MCP tools/call every 1 s, log level %s\n",
              pid, rate, minutes, viewers, log_level.c_str());
  std::printf("  (orch serve at rest: VmRSS %lld kB, %lld threads, %lld fds)\n", test::proc_status(pid, "VmRSS"),
              test::proc_status(pid, "Threads"), test::open_fds(pid));

  // The signer signs as the sender reads, so every timestamp is seconds old when it is sent.
  test::TempDir dir;
  test::PipeProcess signer(test::signer_argv(kSecret, "soak", 0), {}, dir.file("signer.log"));
  std::atomic<long long> bad_lines{0};
  long long seq = 0;
  bench::Viewers sse(orch.port(), viewers, /*websocket=*/false);
  McpPoller mcp(orch.port());
  std::atomic<long long> non_202{0};
  test::WebhookSender::Options o;
  o.connections = 8;
  o.rate = rate;
  test::WebhookSender sender(
      orch.port(),
      [&]() -> std::optional<test::SignedDelivery> {
        auto line = signer.read_line(5s);
        if (!line) return std::nullopt;
        auto d = test::parse_signed_line(*line);
        if (!d) {
          ++bad_lines;
          return std::nullopt;
        }
        d->seq = seq++;
        return d;
      },
      [&](const test::SignedDelivery&, const test::SendAnswer& a) {
        if (a.status != 202) ++non_202;
      },
      o);

  std::vector<Sample> samples;
  const auto start = Clock::now();
  const auto until = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(minutes * 60));
  std::printf("  %7s %10s %8s %6s %7s %10s %9s %8s %9s %8s\n", "t (s)", "VmRSS kB", "threads", "fds", "outbox", "accepted", "rate/s",
              "non-202", "SSE MB", "MCP ok");
  long long last_accepted = 0;
  double last_t = 0;
  for (int k = 1;; ++k) {
    const auto at = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(every * k));
    if (at > until) break;
    std::this_thread::sleep_until(at);
    const double t = std::chrono::duration<double>(Clock::now() - start).count();
    auto s = sample(pid, t, outbox_depth(orch));
    samples.push_back(s);
    const long long accepted = sender.answers(202);
    std::printf("  %7.0f %10lld %8lld %6lld %7lld %10lld %9.0f %8lld %9.1f %8lld\n", t, s.rss_kb, s.threads, s.fds, s.outbox, accepted,
                static_cast<double>(accepted - last_accepted) / (t - last_t), non_202.load(), static_cast<double>(sse.bytes()) / 1e6,
                mcp.ok());
    std::fflush(stdout);
    last_accepted = accepted;
    last_t = t;
  }
  sender.stop();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const long long accepted = sender.answers(202);
  std::printf(
      "  sent %lld deliveries in %.0f s (%.0f/s): %lld answered 202, %lld other answers (no answer: %lld, 503: %lld), "
      "%lld unreadable signer lines\n",
      sender.started(), seconds, static_cast<double>(sender.started()) / seconds, accepted, non_202.load(), sender.answers(0),
      sender.answers(503), bad_lines.load());
  std::printf("  SSE viewers: %zu of %d still connected, %.1f MB received; MCP polls: %lld ok, %lld failed\n", sse.connected(), viewers,
              static_cast<double>(sse.bytes()) / 1e6, mcp.ok(), mcp.errors());
  std::printf("  redis: XLEN orch:events %s", redis.cli({"XLEN", "orch:events"}).c_str());
  // Warm-up: the first 90 s (the stream reaches MAXLEN after 100,000 events, caches and pools
  // fill), and at least the first third of the run.
  size_t warmup = samples.size() / 3;
  while (warmup < samples.size() && samples[warmup].t < 90) ++warmup;
  bool ok = judge(samples, warmup, rate, "webhook");
  // Dropped by the server or the sender: a request that failed is a failure of the soak.
  if (non_202.load() > 0 || mcp.errors() > 0 || sse.connected() != static_cast<size_t>(viewers) || bad_lines > 0) {
    std::printf("  FAILED: requests failed or viewers were dropped\n");
    ok = false;
  }
  if (static_cast<double>(sender.started()) < 0.95 * rate * seconds) {
    std::printf("  FAILED: the load fell short of %.0f/s\n", rate);
    ok = false;
  }
  if (!orch.process().running()) {
    std::printf("  FAILED: orch serve is gone\n%s\n", orch.log().c_str());
    ok = false;
  }
  std::printf("  verdict: %s\n", ok ? "flat" : "NOT FLAT");
  return ok ? 0 : 1;
}

int soak_mcp_stdio(long long calls) {
  test::RedisServer redis;
  // Events for recent_events to read: each call then reads and shapes five of them.
  for (int i = 0; i < 50; ++i) {
    const json e = {{"specversion", "1.0"},
                    {"id", "soak-" + std::to_string(i)},
                    {"source", "orch://soak"},
                    {"type", "content.published"},
                    {"time", "2026-01-01T00:00:00Z"},
                    {"subject", "page/soak-" + std::to_string(i)},
                    {"datacontenttype", "application/json"},
                    {"data", {{"model", "page"}, {"id", "soak-" + std::to_string(i)}, {"revision", std::to_string(i)}}}};
    redis.cli({"XADD", "orch:events", "*", "event", to_text(e), "type", "content.published"});
  }
  test::TempDir state;
  test::PipeProcess mcp({ORCH_BINARY, "mcp"},
                        {{"REDIS_URL", redis.url()},
                         {"DOCKER_HOST", "unix:///nonexistent/docker.sock"},
                         {"ORCH_CONFIG", ""},
                         {"ORCH_STATE_DIR", state.path()}},
                        state.file("stderr.log"));
  const pid_t pid = mcp.pid();
  mcp.write_line(R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},)"
                 R"("clientInfo":{"name":"soak","version":"0"}}})");
  mcp.write_line(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  auto first = mcp.read_line(20s);
  if (!first) {
    std::fprintf(stderr, "orch mcp did not answer initialize:\n%s\n", test::read_file(state.file("stderr.log")).c_str());
    return 1;
  }
  std::printf("bench/soak --mcp-stdio: orch mcp (pid %d), %lld tools/call of recent_events, 16 in flight\n", pid, calls);
  std::printf("  %9s %10s %8s %6s %9s\n", "calls", "VmRSS kB", "threads", "fds", "calls/s");
  const long long window = 16, every = std::max<long long>(1, calls / 20);
  long long sent = 0, answered = 0, errors = 0;
  std::vector<Sample> samples;
  const auto start = Clock::now();
  auto last = start;
  while (answered < calls) {
    while (sent < calls && sent - answered < window) {
      ++sent;
      mcp.write_line(R"({"jsonrpc":"2.0","id":)" + std::to_string(sent) +
                     R"(,"method":"tools/call","params":{"name":"recent_events","arguments":{"count":5}}})");
    }
    auto line = mcp.read_line(30s);
    if (!line) {
      std::printf("  FAILED: no answer after %lld calls\n", answered);
      return 1;
    }
    auto j = json::parse(*line, nullptr, false);
    if (!j.is_object() || !j.contains("id")) continue;  // a notification
    ++answered;
    // A call that failed, or read nothing of the seeded events, is an error.
    if (!j.contains("result") || j["result"].value("isError", true) || line->find("soak-") == std::string::npos) {
      if (++errors <= 3) std::fprintf(stderr, "mcp call failed: %s\n", line->substr(0, 300).c_str());
    }
    if (answered % every == 0) {
      samples.push_back(sample(pid, static_cast<double>(answered), -1));
      const auto now = Clock::now();
      std::printf("  %9lld %10lld %8lld %6lld %9.0f\n", answered, samples.back().rss_kb, samples.back().threads, samples.back().fds,
                  static_cast<double>(every) / std::chrono::duration<double>(now - last).count());
      std::fflush(stdout);
      last = now;
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("  %lld calls in %.1f s (%.0f/s), %lld failed\n", answered, seconds, static_cast<double>(answered) / seconds, errors);
  bool ok = judge(samples, samples.size() / 3, 1, "call");
  mcp.close_stdin();
  const int code = mcp.wait(20s);
  if (code != 0) {
    std::printf("  FAILED: orch mcp exited %d at the end of its input\n", code);
    ok = false;
  }
  if (errors > 0) ok = false;
  std::printf("  verdict: %s\n", ok ? "flat" : "NOT FLAT");
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  double minutes = 10, rate = 2000, every = 10;
  int viewers = 4;
  long long calls = 50'000;
  bool stdio = false;
  std::string log_level = "info";  // what an operator runs: one line per accepted webhook
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--minutes" && i + 1 < argc) minutes = std::atof(argv[++i]);
    else if (a == "--rate" && i + 1 < argc) rate = std::atof(argv[++i]);
    else if (a == "--viewers" && i + 1 < argc) viewers = std::atoi(argv[++i]);
    else if (a == "--every" && i + 1 < argc) every = std::atof(argv[++i]);
    else if (a == "--log-level" && i + 1 < argc) log_level = argv[++i];
    else if (a == "--mcp-stdio") stdio = true;
    else if (a == "--calls" && i + 1 < argc) calls = std::atoll(argv[++i]);
    else {
      std::fprintf(stderr,
                   "usage: bench_soak [--minutes M] [--rate N] [--viewers N] [--every S] [--log-level L]\n"
                   "       bench_soak --mcp-stdio [--calls N]\n");
      return 64;
    }
  }
  if (minutes <= 0 || rate <= 0 || every <= 0 || calls <= 0) {
    std::fprintf(stderr, "bench_soak: --minutes, --rate, --every and --calls must be positive\n");
    return 64;
  }
  return stdio ? soak_mcp_stdio(calls) : soak_serve(minutes, rate, viewers, every, log_level);
}
