// The HTTP server wrapper: listen backlog, JSON errors, taking a connection over from httplib, rate limits.
#include <gtest/gtest.h>

#include <unistd.h>

#include <sstream>

#include "core/clock.hpp"
#include "http/client.hpp"
#include "http/connection.hpp"
#include "http/server.hpp"
#include "support/process.hpp"
#include "support/raw_http.hpp"

using namespace orch;
using namespace orch::test;
using namespace std::chrono_literals;

namespace {

TEST(Server, ListensWithALargeBacklog) {
  http::Server server({"127.0.0.1", 0});
  server.start();
  // httplib's own backlog is 5; ss shows a listening socket's backlog as Send-Q.
  auto r = run({"ss", "-ltnH", "sport = :" + std::to_string(server.port())});
  ASSERT_EQ(r.code, 0) << r.output;
  std::istringstream line(r.output);
  std::string state, recv_q, send_q;
  line >> state >> recv_q >> send_q;
  EXPECT_EQ(state, "LISTEN");
  EXPECT_GE(std::stoi(send_q), 128) << r.output;
}

TEST(Server, UnknownPathsAndMethodsGetJsonErrors) {
  http::Server server({"127.0.0.1", 0});
  server.routes().Get("/only-get", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });
  server.allow("/only-get", "GET");
  server.start();
  const auto base = "http://127.0.0.1:" + std::to_string(server.port());
  auto missing = http::send({"GET", base + "/nope"});
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(json::parse(missing.body)["error"], "not_found");
  auto wrong = http::send({"POST", base + "/only-get"});
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.header("allow"), "GET");
}

TEST(Server, AHandlerCanTakeItsConnectionOver) {
  http::Server server({"127.0.0.1", 0});
  server.routes().Get("/upgrade", [&](const httplib::Request& req, httplib::Response& res) {
    const int taken = http::take_connection(req);
    ASSERT_GE(taken, 0);
    res.set_content("httplib's reply must not reach the client", "text/plain");
    EXPECT_TRUE(http::send_all(taken, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nours", 1s));
    close(taken);
  });
  server.start();
  auto got = raw_http(server.port(), "GET /upgrade HTTP/1.1\r\nHost: x\r\n\r\n");
  // What httplib wrote after the handler went to /dev/null: the client saw only our bytes.
  EXPECT_EQ(got, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nours");
}

TEST(Server, LimitsControlRequestsAndFailedAuthenticationsPerClient) {
  FakeClock clock;
  http::ServerOptions opts{"127.0.0.1", 0};
  opts.auth_failures_per_minute = 2;
  opts.requests_per_minute = 3;
  opts.clock = &clock;
  http::Server server(opts);
  auto handler = [](const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("Authorization") != "Bearer right") return http::send_error(res, 401, "unauthorized", "no");
    res.set_content("ok", "text/plain");
  };
  server.routes().Post("/control", handler);
  server.routes().Post("/hook", handler);
  server.routes().Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });
  server.guard("/control", http::Server::Rate::limited);
  server.guard("/hook", http::Server::Rate::unlimited);
  std::vector<std::string> refused;
  server.on_rate_limited([&](const char* reason) { refused.emplace_back(reason); });
  server.start();
  const auto base = "http://127.0.0.1:" + std::to_string(server.port());
  auto post = [&](const std::string& path, const std::string& token) {
    return http::send({"POST", base + path, {{"Authorization", "Bearer " + token}}, "{}"});
  };

  // Requests: 3 a minute on /control; /hook is guarded but not counted.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(post("/control", "right").status, 200) << i;
  auto limited = post("/control", "right");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(json::parse(limited.body)["error"], "rate_limited");
  EXPECT_EQ(limited.header("retry-after"), "20");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(post("/hook", "right").status, 200) << i;
  // Another address is not affected.
  auto other = raw_http(server.port(), "POST /control HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer right\r\n"
                                           "Content-Length: 2\r\nConnection: close\r\n\r\n{}", "127.0.0.2");
  EXPECT_EQ(status_of(other), 200) << other;
  clock.advance(std::chrono::seconds(20));
  EXPECT_EQ(post("/control", "right").status, 200);

  // Failed authentications: two 401s, then this address gets 429 on every guarded path, even
  // with the right credentials; unguarded paths (probes) still answer.
  EXPECT_EQ(post("/hook", "wrong").status, 401);
  EXPECT_EQ(post("/hook", "wrong").status, 401);
  auto blocked = post("/hook", "right");
  EXPECT_EQ(blocked.status, 429);
  EXPECT_EQ(blocked.header("retry-after"), "30");
  EXPECT_EQ(post("/control", "right").status, 429);
  EXPECT_EQ(http::send({"GET", base + "/healthz"}).status, 200);
  // The front end reads a request whole before anything answers it: a refused one leaves the
  // connection usable (it once had to close it, its body unread).
  EXPECT_NE(blocked.header("connection"), "close");
  EXPECT_EQ(http::send({"GET", base + "/control"}).status, 429);
  clock.advance(std::chrono::seconds(30));
  EXPECT_EQ(post("/hook", "right").status, 200);

  EXPECT_EQ(refused, (std::vector<std::string>{"requests", "auth_failures", "auth_failures", "auth_failures"}));
}

}  // namespace
