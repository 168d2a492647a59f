// The front end and the server wrapper at their edges: status lines of batched answers, request
// lines it does not serve, chunked bodies over the limit, handlers that fail, replies and streams
// begun where they cannot be, a stream reader that falls behind, and the descriptor limit.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "core/error.hpp"
#include "core/json.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "support/process.hpp"
#include "support/raw_http.hpp"

using namespace orch;
using namespace orch::test;
using namespace std::chrono_literals;

namespace front_edges_test {

std::string post(const std::string& path, const std::string& body, const std::string& extra = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n" + extra +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string status_line(const std::string& response) { return response.substr(0, response.find("\r\n")); }

std::string body_of(const std::string& response) {
  const auto at = response.find("\r\n\r\n");
  return at == std::string::npos ? "(no answer)" : response.substr(at + 4);
}

// A server whose batched route answers with the status its body names ("status:409"), and
// whose other routes fail in the ways handlers do.
struct Edges : ::testing::Test {
  std::unique_ptr<http::Server> server;
  std::shared_ptr<http::OutStream> stream;
  std::atomic<bool> stream_closed{false};
  std::atomic<int> reply_ok{-1};
  std::mutex mu;

  void SetUp() override {
    server = std::make_unique<http::Server>(http::ServerOptions{"127.0.0.1", 0, 16, 100});
    server->post_batched("/batch", [](const std::vector<http::Exchange*>& batch, std::function<void()> done) {
      for (auto* ex : batch) {
        const int status = std::stoi(ex->req.body.substr(ex->req.body.find(':') + 1));
        ex->res.status = status;
        if (status != 204) ex->res.set_content("answered " + std::to_string(status), "text/plain");
      }
      done();
    });
    server->guard("/batch", http::Server::Rate::unlimited);
    auto& r = server->routes();
    r.Get("/throws", [](const httplib::Request&, httplib::Response&) { throw std::runtime_error("the handler broke"); });
    r.Get("/throws-other", [](const httplib::Request&, httplib::Response&) { throw 7; });
    r.Get("/status", [](const httplib::Request& req, httplib::Response& res) { res.status = std::stoi(req.get_param_value("code")); });
    r.Post("/json", [](const httplib::Request& req, httplib::Response& res) {
      if (auto body = http::read_json_body(req, res)) http::send_json(res, 200, json{{"got", *body}});
    });
    r.Get("/reply-elsewhere", [this](const httplib::Request& req, httplib::Response& res) {
      // A reply begun on another thread than the request's is refused; the handler answers as usual.
      std::thread([&] { reply_ok = http::ChunkedReply(req, 200, "text/plain").ok() ? 1 : 0; }).join();
      res.set_content("answered normally", "text/plain");
    });
    // Answers httplib writes from a content provider, three 4 KiB parts: with a length, and chunked.
    r.Get("/provided", [](const httplib::Request&, httplib::Response& res) {
      res.set_content_provider(3 * 4096, "text/plain", [](size_t, size_t length, httplib::DataSink& sink) {
        const std::string part(std::min<size_t>(length, 4096), 'p');
        return sink.write(part.data(), part.size());
      });
    });
    r.Get("/provided-chunked", [](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("text/plain", [parts = 0](size_t, httplib::DataSink& sink) mutable {
        if (parts++ == 3) {
          sink.done();
          return true;
        }
        const std::string part(4096, 'c');
        return sink.write(part.data(), part.size());
      });
    });
    r.Get("/stream", [this](const httplib::Request& req, httplib::Response&) {
      http::OutStreamOptions o;
      o.content_type = "text/plain";
      o.max_buffered = 64 * 1024;
      o.on_close = [this] { stream_closed = true; };
      std::lock_guard lock(mu);
      stream = http::detach_stream(req, std::move(o));
    });
    server->start();
  }
  void TearDown() override { server.reset(); }  // streams end (on_close) while the fixture is whole
  int port() { return server->port(); }
  std::string base() { return "http://127.0.0.1:" + std::to_string(port()); }
  // A raw client asks for /stream: its socket, and the stream the route detached for it.
  void open_stream(int& fd, std::shared_ptr<http::OutStream>& s) {
    fd = connect_from(port());
    ASSERT_GE(fd, 0);
    const std::string req = "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
    ASSERT_TRUE(eventually(
        [&] {
          std::lock_guard lock(mu);
          return stream != nullptr;
        },
        5s));
    std::lock_guard lock(mu);
    s = stream;
  }
};

TEST_F(Edges, BatchedAnswersCarryTheReasonPhraseOfTheirStatus) {
  const std::vector<std::pair<int, std::string>> expected = {
      {204, "HTTP/1.1 204 No Content"},
      {403, "HTTP/1.1 403 Forbidden"},
      {404, "HTTP/1.1 404 Not Found"},
      {405, "HTTP/1.1 405 Method Not Allowed"},
      {406, "HTTP/1.1 406 Not Acceptable"},  // MCP's answer to a client that accepts neither JSON nor SSE
      {409, "HTTP/1.1 409 Conflict"},
      {504, "HTTP/1.1 504 Gateway Timeout"},
      // Unregistered codes get no phrase (RFC 9112 §4), not their class's: "418 Bad Request" misled.
      {299, "HTTP/1.1 299 "},
      {418, "HTTP/1.1 418 "},
      {507, "HTTP/1.1 507 "}};
  for (const auto& [status, line] : expected) {
    auto r = raw_http(port(), post("/batch", "status:" + std::to_string(status), "Connection: close\r\n"), nullptr, 2s);
    EXPECT_EQ(status_line(r), line) << r;
    if (status != 204) {
      EXPECT_EQ(body_of(r), "answered " + std::to_string(status)) << r;
    }
  }
  // A status line without a phrase is read by clients (libcurl here) as its code.
  auto unregistered = http::send({"POST", base() + "/batch", {{"Connection", "close"}}, "status:418"});
  EXPECT_EQ(unregistered.status, 418);
  EXPECT_EQ(unregistered.body, "answered 418");
}

TEST_F(Edges, EmptyLinesBeforeARequestAreSkippedOtherHttpVersionsGet505AndOtherProtocols400) {
  // RFC 9112 §2.2: a server ignores empty lines received before a request line.
  auto r = raw_http(port(), "\r\n\r\n" + post("/batch", "status:202", "Connection: close\r\n"), nullptr, 2s);
  EXPECT_EQ(status_line(r), "HTTP/1.1 202 Accepted") << r;
  EXPECT_EQ(body_of(r), "answered 202");
  auto v2 = raw_http(port(), "GET /status?code=200 HTTP/2.0\r\nHost: x\r\n\r\n", nullptr, 2s);
  EXPECT_EQ(status_of(v2), 505) << v2;
  EXPECT_NE(v2.find("\"version_not_supported\""), std::string::npos) << v2;
  EXPECT_NE(v2.find("Connection: close"), std::string::npos) << v2;
  auto other = raw_http(port(), "GET /status?code=200 FTP/1.0\r\nHost: x\r\n\r\n", nullptr, 2s);
  EXPECT_EQ(status_of(other), 400) << other;
  EXPECT_NE(other.find("malformed request line"), std::string::npos) << other;
}

TEST_F(Edges, AChunkedBodyOverTheLimitIs413) {
  // The limit is 100 bytes: 60 + 60 in two chunks pass it while the body is still arriving.
  const std::string chunk(60, 'x');
  auto r = raw_http(
      port(),
      "POST /batch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3c\r\n" + chunk + "\r\n3c\r\n" + chunk + "\r\n0\r\n\r\n",
      nullptr, 2s);
  EXPECT_EQ(status_of(r), 413) << r;
  EXPECT_NE(r.find("\"payload_too_large\""), std::string::npos) << r;
}

TEST_F(Edges, AnAnswerFromAContentProviderArrivesWhole) {
  // httplib stops writing a provider's answer once it believes its server is shutting down, which
  // it judged by its own listening socket: the front end owns the sockets, so every such answer
  // was cut after its head (a Content-Length with no body behind it).
  for (const auto& [path, fill] : std::vector<std::pair<std::string, char>>{{"/provided", 'p'}, {"/provided-chunked", 'c'}}) {
    http::Request req{"GET", base() + path};
    req.timeout = 3s;
    try {
      auto r = http::send(req);
      EXPECT_EQ(r.status, 200) << path;
      EXPECT_EQ(r.body, std::string(3 * 4096, fill)) << path << ": " << r.body.size() << " bytes";
    } catch (const http::TransportError& e) {
      ADD_FAILURE() << path << ": " << e.what();  // "Transferred a partial file"
    }
  }
}

TEST_F(Edges, AHandlerThatThrowsAnswers500WithJsonAndIsLogged) {
  for (const char* path : {"/throws", "/throws-other"}) {
    auto r = http::send({"GET", base() + path});
    EXPECT_EQ(r.status, 500) << path;
    EXPECT_EQ(json::parse(r.body)["error"], "internal") << r.body;
  }
  // The server goes on answering.
  EXPECT_EQ(http::send({"GET", base() + "/status?code=200"}).status, 200);
}

TEST_F(Edges, ErrorStatusesWithoutABodyGetTheirJsonError) {
  const std::vector<std::pair<int, std::string>> expected = {{400, "bad_request"}, {413, "payload_too_large"}, {409, "error"}};
  for (const auto& [status, code] : expected) {
    auto r = http::send({"GET", base() + "/status?code=" + std::to_string(status)});
    EXPECT_EQ(r.status, status);
    EXPECT_EQ(json::parse(r.body)["error"], code) << r.body;
  }
}

TEST_F(Edges, AJsonRouteRefusesAnotherMediaTypeAndBadJson) {
  auto text = http::send({"POST", base() + "/json", {{"Content-Type", "text/plain"}}, "{}"});
  EXPECT_EQ(text.status, 415);
  EXPECT_EQ(json::parse(text.body)["error"], "unsupported_media_type");
  auto bad = http::send({"POST", base() + "/json", {{"Content-Type", "application/json"}}, "{nope"});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json::parse(bad.body)["error"], "bad_json");
  auto good = http::send({"POST", base() + "/json", {{"Content-Type", "application/json"}}, R"({"a":1})"});
  EXPECT_EQ(good.status, 200);
  EXPECT_EQ(json::parse(good.body)["got"]["a"], 1);
}

TEST_F(Edges, AChunkedReplyBegunOffTheRequestsThreadIsRefused) {
  auto r = http::send({"GET", base() + "/reply-elsewhere"});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "answered normally");
  EXPECT_EQ(reply_ok.load(), 0);
}

TEST_F(Edges, AStreamWhoseReaderFallsBehindIsClosed) {
  // The client asks for the stream and never reads: the socket's buffers fill, then the stream's
  // queue passes its 64 KiB, and the stream is closed rather than buffered without end.
  int fd = -1;
  std::shared_ptr<http::OutStream> s;
  ASSERT_NO_FATAL_FAILURE(open_stream(fd, s));
  EXPECT_TRUE(s->open());
  const std::string piece(64 * 1024, 'x');
  int sent = 0;
  while (sent < 4000 && s->send(piece)) ++sent;
  EXPECT_LT(sent, 4000) << "250 MB queued for a client that reads nothing";
  EXPECT_FALSE(s->open());
  EXPECT_FALSE(s->send("more"));
  EXPECT_TRUE(eventually([&] { return stream_closed.load(); }, 5s));
  // The server closed the connection: what the buffers held, then the end.
  bool eof = false;
  char buf[65536];
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (!eof && std::chrono::steady_clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    eof = n <= 0;
  }
  EXPECT_TRUE(eof);
  ::close(fd);
}

TEST_F(Edges, AStreamWhoseClientWentAwayIsClosed) {
  int fd = -1;
  std::shared_ptr<http::OutStream> s;
  ASSERT_NO_FATAL_FAILURE(open_stream(fd, s));
  EXPECT_TRUE(s->send("event: one\n\n"));
  // The client goes away at once (a reset, not a polite close).
  linger hard{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  ::close(fd);
  EXPECT_TRUE(eventually(
      [&] {
        s->send("event: more\n\n");
        return !s->open();
      },
      5s));
  EXPECT_TRUE(eventually([&] { return stream_closed.load(); }, 5s));
  // The server is still serving.
  EXPECT_EQ(http::send({"GET", base() + "/status?code=200"}).status, 200);
}

TEST(ServerEdges, StartRaisesTheDescriptorLimitToItsHardLimit) {
  rlimit before{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &before), 0);
  rlimit lowered = before;
  lowered.rlim_cur = std::min<rlim_t>(before.rlim_max, 512);
  if (lowered.rlim_cur == before.rlim_max) GTEST_SKIP() << "the hard limit is 512 or less";
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  http::Server server({"127.0.0.1", 0});
  server.start();
  rlimit after{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &after), 0);
  EXPECT_EQ(after.rlim_cur, before.rlim_max);
}

TEST(ServerEdges, ListeningWhereThisHostCannotIsAConfigError) {
  // A name that resolves to nothing (RFC 6761: .invalid never does), then an address of another
  // host (TEST-NET-3): both refused with where orch was told to listen.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"no-such-host.invalid", "cannot listen on no-such-host.invalid:0: not an address of this host"},
      {"203.0.113.7", "cannot listen on 203.0.113.7:0: Cannot assign requested address"}};
  for (const auto& [bind, message] : cases) {
    http::Server server({bind, 0});
    try {
      server.start();
      ADD_FAILURE() << "listened on " << bind;
    } catch (const ConfigError& e) {
      EXPECT_EQ(std::string(e.what()), message);
    }
  }
}

TEST(ServerEdges, AnUnlistenedServerServesTheSocketsItIsHanded) {
  // The HTTP fuzz harness's way in: no listener, a connected socket handed over with its peer.
  http::Server server({"127.0.0.1", 0});
  server.routes().Post("/control", [](const httplib::Request& req, httplib::Response& res) {
    if (!http::authorize_control(req, res, "")) return;
    res.set_content("done for " + req.remote_addr, "text/plain");
  });
  server.routes().Get("/who", [](const httplib::Request& req, httplib::Response& res) { res.set_content(req.remote_addr, "text/plain"); });
  server.start_unlistened();
  auto exchange = [&](const std::string& peer, const std::string& request) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return std::string("socketpair failed");
    server.serve_socket(fds[1], peer, 40000);
    ::send(fds[0], request.data(), request.size(), MSG_NOSIGNAL);
    std::string got;
    char buf[4096];
    for (;;) {
      pollfd p{fds[0], POLLIN, 0};
      if (::poll(&p, 1, 3000) <= 0) break;
      const ssize_t n = ::recv(fds[0], buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    ::close(fds[0]);
    return got;
  };
  auto who = exchange("203.0.113.9", "GET /who HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(who), 200) << who;
  EXPECT_EQ(body_of(who), "203.0.113.9");
  // Without ORCH_API_TOKEN a control endpoint answers only on loopback.
  auto remote = exchange("203.0.113.9", "POST /control HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(remote), 401) << remote;
  EXPECT_NE(remote.find("answer only on loopback"), std::string::npos) << remote;
  auto local = exchange("127.0.0.1", "POST /control HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(body_of(local), "done for 127.0.0.1") << local;
  // A stopped server closes what it is handed, unanswered.
  server.stop();
  EXPECT_EQ(exchange("127.0.0.1", "GET /who HTTP/1.1\r\nHost: x\r\n\r\n"), "");
}

}  // namespace front_edges_test
