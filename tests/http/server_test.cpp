// The HTTP server wrapper: listen backlog, JSON errors, and taking a connection over from httplib.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sstream>

#include "http/client.hpp"
#include "http/connection.hpp"
#include "http/server.hpp"
#include "support/process.hpp"

using namespace orch;
using namespace orch::test;
using namespace std::chrono_literals;

namespace {

std::string raw_exchange(int port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string got;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) got.append(buf, static_cast<size_t>(n));
  close(fd);
  return got;
}

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
  auto got = raw_exchange(server.port(), "GET /upgrade HTTP/1.1\r\nHost: x\r\n\r\n");
  // What httplib wrote after the handler went to /dev/null: the client saw only our bytes.
  EXPECT_EQ(got, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nours");
}

}  // namespace
