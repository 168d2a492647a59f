// The daemon never crashes on input: a few hundred seeded random requests (methods, paths, headers,
// JSON of every shape, bytes, JSON-RPC) and malformed HTTP against a real `orch serve`. Each must
// get an answer that is not a 5xx from a handler, and orch must still be healthy afterwards.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "core/json.hpp"
#include "support/orch_server.hpp"
#include "support/raw_http.hpp"

using namespace orch;
using namespace orch::test;
using namespace std::chrono_literals;

namespace {

class RandomRequests {
 public:
  explicit RandomRequests(unsigned seed) : rng_(seed) {}

  // Three in four requests aim at an endpoint with its own method and field names, so that wrong
  // types and odd values reach the handlers; the rest are random throughout.
  std::string next() {
    struct Target {
      std::string method, path;
      std::vector<std::string> keys;
    };
    static const std::vector<Target> targets = {
        {"POST", "/webhook/builder", {"modelName", "operation", "newValue", "previousValue"}},
        {"POST", "/diagnose", {"services", "actions", "tail"}},
        {"POST", "/heal", {"dry_run", "reset"}},
        {"POST", "/rollback", {"service", "repo", "to", "steps", "mode", "clear", "dry_run"}},
        {"POST", "/mcp", {}},
        {"GET", "/status", {}}};
    static const std::vector<std::string> methods = {"GET", "POST", "DELETE", "PUT", "OPTIONS", "HEAD", "PATCH"};
    // Streams (/events, /ws) and the sync test (waits for its pipeline) are left out: they would
    // hold the connection open; their own tests cover bad input.
    static const std::vector<std::string> paths = {
        "/webhook/builder", "/diagnose", "/heal", "/rollback", "/mcp", "/status", "/", "/health", "/healthz",
        "/readyz", "/metrics", "/nope", "/mcp?x=%ff", "/status?token=%00", "/heal/../metrics", "//webhook/builder"};
    static const std::vector<std::string> all_keys = {"services", "actions", "tail", "dry_run", "reset", "service",
                                                      "repo", "to", "steps", "mode", "clear", "modelName", "id"};
    static const std::vector<std::string> headers = {
        "Content-Type: text/plain", "x-builder-secret: s", "x-builder-signature: sha256=zz", "webhook-id: a",
        "webhook-timestamp: 99999999999999999999", "webhook-signature: v1,!!!", "Authorization: Bearer",
        "Authorization: Basic Og==", "Mcp-Session-Id: nope", "MCP-Protocol-Version: 1999-01-01",
        "MCP-Protocol-Version: 2025-06-18", "Accept: application/json, text/event-stream",
        "Origin: http://evil.example", "Range: bytes=0-1,5-", "X-Request-Id: \x01\x7f", "Expect: 100-continue"};
    std::string method, path;
    const std::vector<std::string>* keys = &all_keys;
    if (below(4) > 0) {
      const auto& t = pick(targets);
      method = t.method, path = t.path;
      if (!t.keys.empty()) keys = &t.keys;
    } else {
      method = pick(methods), path = pick(paths);
    }
    std::string request = method + " " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
    for (int i = below(4); i > 0; --i) request += pick(headers) + "\r\n";
    const std::string body = random_body(*keys);
    request += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    return request;
  }

 private:
  int below(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  template <class T>
  const T& pick(const std::vector<T>& v) { return v[static_cast<size_t>(below(static_cast<int>(v.size())))]; }

  json random_value(int depth) {
    switch (below(depth > 2 ? 9 : 12)) {
      case 0: return nullptr;
      case 1: return below(2) == 1;
      case 2: return -1;
      case 3: return 9223372036854775807LL;
      case 4: return 1e308;
      case 5: return "";
      case 6: return std::string(3000, 'x');
      case 7: return "../../etc/passwd";
      case 8: return "web";
      case 9: return json::array({random_value(depth + 1), random_value(depth + 1)});
      case 10: return random_object(depth + 1, {});
      default: return json::array();
    }
  }
  json random_object(int depth, const std::vector<std::string>& keys) {
    static const std::vector<std::string> nested = {"id", "name", "lastUpdated", "data", "url", "model"};
    json o = json::object();
    for (int i = 1 + below(4); i > 0; --i) o[pick(depth == 0 ? keys : nested)] = random_value(depth);
    return o;
  }
  std::string random_body(const std::vector<std::string>& keys) {
    static const std::vector<std::string> rpc_methods = {"initialize", "tools/list", "tools/call", "resources/read",
                                                         "resources/subscribe", "ping", "logging/setLevel", "nope"};
    static const std::vector<std::string> tools = {"diagnose", "heal", "rollback", "sync_test", "status", "nope"};
    switch (below(5)) {
      case 0: return "";
      case 1: {
        std::string bytes(static_cast<size_t>(below(300)), '\0');
        for (auto& c : bytes) c = static_cast<char>(below(256));
        return bytes;
      }
      case 2: {
        static const std::vector<std::string> argument_keys = {"services", "actions", "container", "dry_run", "service",
                                                               "to", "model", "marker", "timeout", "uri", "level"};
        json params = below(2) ? json{{"name", pick(tools)}, {"arguments", random_object(0, argument_keys)}} : random_value(1);
        return json{{"jsonrpc", "2.0"}, {"id", random_value(2)}, {"method", pick(rpc_methods)}, {"params", params}}.dump();
      }
      default: return random_object(0, keys).dump();
    }
  }
  std::mt19937 rng_;
};

TEST(HostileInput, RandomRequestsGetAnAnswerAndTheDaemonStaysUp) {
  // DOCKER_HOST points nowhere, so a request that gets through to Docker answers 503 quickly.
  OrchServer orch({{"REDIS_URL", ""}, {"TRUSTED_WEBHOOK_SECRET", "hostile-input-secret-1"}, {"DOCKER_HOST", "tcp://127.0.0.1:1"},
                   {"ORCH_AUTH_FAILURE_LIMIT", "0"}, {"ORCH_RATE_LIMIT", "0"}});
  const std::set<int> expected = {200, 202, 204, 206, 400, 401, 403, 404, 405, 409, 413, 415, 416, 426, 503};
  RandomRequests requests(20261127);
  std::map<int, int> seen;
  for (int i = 0; i < 600; ++i) {
    const auto request = requests.next();
    const auto response = raw_http(orch.port(), request);
    const int status = status_of(response);
    ++seen[status];
    ASSERT_TRUE(expected.count(status)) << "request " << i << ":\n" << request.substr(0, 400) << "\n--- answer:\n" << response.substr(0, 400);
  }
  EXPECT_GT(seen[400] + seen[401] + seen[405], 100) << "the random requests should mostly be refused";

  // Malformed HTTP: the front end answers 4xx (or 501/505) and closes; either way orch keeps serving.
  const std::vector<std::string> malformed = {
      "GARBAGE\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "POST /webhook/builder HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
      "POST /webhook/builder HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
      "GET /" + std::string(20000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(100000, 'b') + "\r\n\r\n",
      "GET / HTTP/1.1\r\n" + std::string(2000, '\n'), std::string("\0\0\0\0", 4)};
  for (const auto& request : malformed) {
    const auto response = raw_http(orch.port(), request, nullptr, 1s);
    const int status = status_of(response);
    // 501 (a transfer coding not understood) and 505 (HTTP/9.9) are what RFC 9112 asks for.
    EXPECT_TRUE(status == 0 || (status >= 400 && status < 500) || status == 501 || status == 505)
        << request.substr(0, 80) << " -> " << response.substr(0, 200);
  }

  EXPECT_EQ(orch.get("/healthz").status, 200);
  EXPECT_TRUE(orch.process().running());
  EXPECT_EQ(orch.log().find("handler failed"), std::string::npos) << orch.log().substr(0, 4000);
}

}  // namespace
