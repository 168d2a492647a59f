// The HTTP server of `orch serve` (http/front.hpp, http/server.hpp) with every route it has: the
// real front end (heads, limits, chunked bodies, pipelining, framing refusals) and every module's
// handler behind it (POST /webhook/builder on the loop; /healthz /readyz /health /metrics; the
// control endpoints /diagnose /heal /rollback /sync-test /status; /events /ws /; MCP's /mcp),
// assembled as the daemon assembles them (serve/daemon.hpp) on the in-process bus, with a Docker
// socket that does not exist and sync-test's URL on a scheme nothing answers: no network, Redis or
// Docker is touched. Each input is one connection (a socketpair handed to the front end).
// Input: a first byte choosing the client's address (loopback or not), then the bytes the client
// sends; "@SESSION@" is replaced by the MCP session id a previous input opened.
// Beyond "no crash": every answer is well framed (Content-Length or chunked), an error status
// carries a JSON body with "error", nothing follows an answer that says Connection: close, and the
// connection ends (no hang) once the client has sent everything.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <mutex>

#include "config/config.hpp"
#include "core/json.hpp"
#include "core/text.hpp"
#include "http/server.hpp"
#include "serve/daemon.hpp"
#include "support/fuzz.hpp"

using namespace orch;

namespace {

struct Orch {
  std::string dir;
  Config config;
  std::unique_ptr<Daemon> daemon;
  http::Server* server = nullptr;
  std::string session;  // the newest MCP session id seen in an answer

  Orch() {
    fuzz::quiet_logs();
    dir = fuzz::scratch_dir("http-fuzz");
    std::ofstream(dir + "/orch.yaml") << "# empty: every service from the environment, none configured\n";
    config = load_config({.file = dir + "/orch.yaml",
                          .flags = {},
                          .env = std::map<std::string, std::string>{
                              {"TRUSTED_WEBHOOK_SECRET", "fuzz-webhook-secret-0123456789"},
                              {"ORCH_API_TOKEN", "fuzz-api-token-0123456789"},
                              {"BUILDER_API_KEY", "fuzz-builder-key"},
                              {"DOCKER_HOST", "unix://" + dir + "/no-docker.sock"},  // nothing listens: unreachable at once
                              {"ORCH_STATE_DIR", dir + "/state"},
                              {"ORCH_URL", "nonet://orch"},  // sync-test's webhook: an unsupported scheme, refused by libcurl itself
                              {"ORCH_RATE_LIMIT", "0"},      // one client sends millions of requests here
                              {"ORCH_AUTH_FAILURE_LIMIT", "0"},
                              {"ORCH_BODY_LIMIT", "8192"},  // reachable by small inputs
                              {"ORCH_HTTP_THREADS", "2"},
                              {"ORCH_CONTROL_CONCURRENCY", "2"},
                              {"PORT", "9000"}}});
    daemon = std::make_unique<Daemon>(config);
    server = &daemon->assemble();
    server->start_unlistened();
  }
};

Orch& orch_under_test() {
  static Orch* o = new Orch();  // never destroyed: worker threads may outlive the last input
  return *o;
}

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;  // the server closed early (a refusal): what is left is never read
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string header_of(std::string_view head, std::string_view name) {
  for (size_t at = head.find("\r\n"); at != std::string_view::npos && at + 2 < head.size();) {
    const auto end = head.find("\r\n", at + 2);
    const auto line = head.substr(at + 2, end == std::string_view::npos ? std::string_view::npos : end - at - 2);
    const auto colon = line.find(':');
    if (colon != std::string_view::npos && iequals(line.substr(0, colon), name)) {
      auto v = line.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      return std::string(v);
    }
    at = end;
  }
  return {};
}

// Checks the answers on one connection; returns false where the checks stopped: a streaming
// answer (SSE, WebSocket) whose rest is not framed, or an answer to HEAD. `ended`: the server closed the connection, so every
// answer must be whole; otherwise the reading stopped at a stream and the last one may be cut.
bool check_answers(std::string_view out, std::string& session, bool ended, bool lenient) {
  while (!out.empty()) {
    FUZZ_CHECK(out.rfind("HTTP/1.1 ", 0) == 0 || (!ended && out.size() < 9), std::string(out.substr(0, 80)));
    const auto head_end = out.find("\r\n\r\n");
    if (head_end == std::string_view::npos && !ended) return false;
    FUZZ_CHECK(head_end != std::string_view::npos, "an answer head without its end");
    const auto head = out.substr(0, head_end + 2);
    const int status = std::atoi(std::string(out.substr(9, 3)).c_str());
    FUZZ_CHECK(status >= 100 && status <= 599, std::string(head));
    out.remove_prefix(head_end + 4);
    if (status == 100) continue;
    if (const auto id = header_of(head, "Mcp-Session-Id"); !id.empty()) session = id;
    if (status == 101 ||
        (header_of(head, "Content-Type").rfind("text/event-stream", 0) == 0 && !iequals(header_of(head, "Transfer-Encoding"), "chunked")))
      return false;  // the live fan-out writes from here on
    // An answer to HEAD says how long the body would be and has none: with a HEAD among the
    // requests, which answer is which is not known here, so the checks stop at the first body.
    if (lenient) return false;
    std::string body;
    if (status == 204 || status == 304) {
      // no body, whatever the head says
    } else if (iequals(header_of(head, "Transfer-Encoding"), "chunked")) {
      for (;;) {
        const auto eol = out.find("\r\n");
        if (eol == std::string_view::npos) return false;  // a stream still open (GET /mcp)
        const size_t n = std::strtoul(std::string(out.substr(0, eol)).c_str(), nullptr, 16);
        if (out.size() < eol + 2 + n + 2) return false;
        body.append(out.substr(eol + 2, n));
        FUZZ_CHECK(out.substr(eol + 2 + n, 2) == "\r\n", "a chunk without its CRLF");
        out.remove_prefix(eol + 2 + n + 2);
        if (n == 0) break;
      }
    } else {
      const auto length = header_of(head, "Content-Length");
      FUZZ_CHECK(!length.empty(), "an answer without Content-Length: " + std::string(head));
      const size_t n = std::strtoul(length.c_str(), nullptr, 10);
      if (out.size() < n && !ended) return false;
      FUZZ_CHECK(out.size() >= n, "an answer cut short: " + std::string(head));
      body = std::string(out.substr(0, n));
      out.remove_prefix(n);
    }
    if (status >= 400) {
      // {"error": code, "message": ...} (or a JSON-RPC error on /mcp); /readyz's 503 is its document.
      const auto doc = parse_json(body);
      FUZZ_CHECK(doc.is_object() && (doc.contains("error") || (status == 503 && doc.contains("ready"))),
                 std::to_string(status) + " with body " + body.substr(0, 200));
    }
    if (iequals(header_of(head, "Connection"), "close"))
      FUZZ_CHECK(out.empty(), "bytes after an answer that closes the connection: " + std::string(out.substr(0, 80)));
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto& o = orch_under_test();
  if (size == 0) return 0;
  const bool loopback = data[0] & 1;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  for (size_t at; !o.session.empty() && (at = bytes.find("@SESSION@")) != std::string::npos;) bytes.replace(at, 9, o.session);

  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
  o.server->serve_socket(fds[1], loopback ? "127.0.0.1" : "203.0.113.9", 40000 + (data[0] >> 1));
  write_all(fds[0], bytes);
  ::shutdown(fds[0], SHUT_WR);  // everything is sent: the connection must end by itself now

  std::string out;
  char buf[65536];
  bool ended = false, streamed = false;
  for (;;) {
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, 30'000) <= 0) break;  // no byte and no end for 30 s
    const ssize_t n = ::recv(fds[0], buf, sizeof buf, 0);
    if (n <= 0) {
      ended = true;
      break;
    }
    out.append(buf, static_cast<size_t>(n));
    // A stream (SSE, WebSocket) goes on as long as the client stays: seen, the client leaves.
    if (out.find("HTTP/1.1 101 ") != std::string::npos || out.find("text/event-stream") != std::string::npos) {
      streamed = true;
      break;
    }
  }
  ::close(fds[0]);
  static const bool show = std::getenv("ORCH_FUZZ_SHOW") != nullptr;  // reproducing an input: see what orch answered
  if (show) std::fprintf(stderr, "--- answers (%zu bytes, %s):\n%s\n---\n", out.size(), ended ? "closed" : "streaming", out.c_str());
  FUZZ_CHECK(ended || streamed, "the connection neither ended nor streamed within 30 s; answers: " + out.substr(0, 300));
  check_answers(out, o.session, ended, bytes.find("HEAD") != std::string::npos);
  return 0;
}
