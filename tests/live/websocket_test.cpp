// GET /ws: RFC 6455 framing, and the endpoint driven by a real WebSocket client (Node's `ws`).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <sstream>

#include "core/json.hpp"
#include "live/endpoints.hpp"
#include "live/websocket.hpp"
#include "support/orch_server.hpp"
#include "support/raw_ws.hpp"
#include "support/redis_server.hpp"
#include "support/require.hpp"

// Its own namespace: the unity build compiles this file with the rest of its folder.
namespace websocket_test {

using namespace orch;
using namespace orch::test;
using namespace orch::live;
using namespace std::chrono_literals;

namespace {

using Env = std::map<std::string, std::string>;
const std::string kSecret = "ws-secret-1-0123456789";
const std::string kNodeDir = std::string(ORCH_TESTS_DIR) + "/node";

std::string publish(const OrchServer& orch, int n, const std::string& operation = "publish") {
  json body = {{"modelName", "page"},
               {"operation", operation},
               {"newValue", {{"id", "w" + std::to_string(n)}, {"lastUpdated", 5000 + n}, {"data", {{"url", "/w"}}}}}};
  auto r = orch.post("/webhook/builder", body.dump(), {{"x-builder-secret", kSecret}});
  EXPECT_EQ(r.status, 202) << r.body;
  return json::parse(r.body).value("event_id", "");
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class WsClient {
 public:
  WsClient(const std::string& url, int count, const std::string& token = "") : out_(dir_.file("out")) {
    std::vector<std::string> argv = {"node", kNodeDir + "/ws_client.mjs", url, std::to_string(count)};
    if (!token.empty()) argv.push_back(token);
    proc_ = Process(argv, {}, out_);
  }
  std::vector<std::string> lines() const { return lines_of(read_file(out_)); }
  bool saw(const std::string& prefix) const {
    for (const auto& l : lines())
      if (l.rfind(prefix, 0) == 0) return true;
    return false;
  }
  int wait() { return proc_.wait(25s); }

 private:
  TempDir dir_;
  std::string out_;
  Process proc_;
};

bool ws_installed() { return std::filesystem::exists(kNodeDir + "/node_modules/ws/package.json"); }

TEST(WebSocketFraming, AcceptKeyIsTheRfcExample) {
  EXPECT_EQ(ws::accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_TRUE(ws::valid_client_key("dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_FALSE(ws::valid_client_key("c2hvcnQ="));
  EXPECT_FALSE(ws::valid_client_key(""));
}

TEST(WebSocketFraming, ServerFramesUseTheShortestLengthForm) {
  EXPECT_EQ(ws::encode_frame(ws::Opcode::text, "Hello"), std::string("\x81\x05Hello", 7));
  auto mid = ws::encode_frame(ws::Opcode::text, std::string(300, 'a'));
  ASSERT_EQ(mid.size(), 304u);
  EXPECT_EQ(static_cast<uint8_t>(mid[1]), 126);
  EXPECT_EQ((static_cast<uint8_t>(mid[2]) << 8) | static_cast<uint8_t>(mid[3]), 300);
  auto big = ws::encode_frame(ws::Opcode::binary, std::string(70000, 'b'));
  ASSERT_EQ(big.size(), 70010u);
  EXPECT_EQ(static_cast<uint8_t>(big[0]), 0x82);
  EXPECT_EQ(static_cast<uint8_t>(big[1]), 127);
  EXPECT_EQ((static_cast<uint8_t>(big[7]) << 16) | (static_cast<uint8_t>(big[8]) << 8) | static_cast<uint8_t>(big[9]), 70000);
  auto close = ws::encode_close(ws::kGoingAway, "bye");
  EXPECT_EQ(close, std::string("\x88\x05\x03\xe9" "bye", 7));
  EXPECT_EQ(ws::close_code(close.substr(2)), ws::kGoingAway);
  EXPECT_EQ(ws::close_code(""), 1005);
}

TEST(WebSocketFraming, ParsesMaskedClientFramesFedInPieces) {
  // RFC 6455 §5.7: a masked "Hello".
  const std::string hello("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
  ws::FrameParser p;
  p.feed(hello.substr(0, 3));
  EXPECT_FALSE(p.next());
  p.feed(hello.substr(3) + client_frame(0x89, "hb"));
  auto f = p.next();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->opcode, ws::Opcode::text);
  EXPECT_EQ(f->payload, "Hello");
  auto ping = p.next();
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->opcode, ws::Opcode::ping);
  EXPECT_EQ(ping->payload, "hb");
  EXPECT_FALSE(p.next());
  EXPECT_EQ(p.error(), 0);
}

TEST(WebSocketFraming, RejectsWhatRfc6455Forbids) {
  auto error_of = [](const std::string& bytes, size_t max = 1024) {
    ws::FrameParser p(max);
    p.feed(bytes);
    EXPECT_FALSE(p.next());
    return p.error();
  };
  EXPECT_EQ(error_of(std::string("\x81\x05Hello", 7)), ws::kProtocolError);             // unmasked
  EXPECT_EQ(error_of(client_frame(0xC1, "x")), ws::kProtocolError);                        // RSV1 without extension
  EXPECT_EQ(error_of(client_frame(0x83, "x")), ws::kProtocolError);                        // reserved opcode
  EXPECT_EQ(error_of(client_frame(0x09, "x")), ws::kProtocolError);                        // fragmented ping
  EXPECT_EQ(error_of(std::string("\x89\xFE\x00\x80", 4)), ws::kProtocolError);            // 128-byte ping
  EXPECT_EQ(error_of(std::string("\x82\xFF\x00\x00\x00\x00\x00\x10\x00\x00", 10)), ws::kMessageTooBig);
}

TEST(WebSocket, RefusesWhatIsNotAnUpgradeAndChecksTheToken) {
  OrchServer orch(Env{{"REDIS_URL", ""}, {"TRUSTED_WEBHOOK_SECRET", kSecret}, {"ORCH_API_TOKEN", "ws-token-1-0123456789"},
                      {"DOCKER_HOST", "unix:///nonexistent.sock"}});
  EXPECT_EQ(orch.get("/ws").status, 401);
  auto plain = orch.get("/ws", {{"Authorization", "Bearer ws-token-1-0123456789"}});
  EXPECT_EQ(plain.status, 426);
  EXPECT_EQ(json::parse(plain.body)["error"], "upgrade_required");
  auto old_version = orch.get("/ws?token=ws-token-1-0123456789", {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}, {"Sec-WebSocket-Version", "8"},
                                                      {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}});
  EXPECT_EQ(old_version.status, 426);
  auto bad_key = orch.get("/ws?token=ws-token-1-0123456789", {{"Upgrade", "websocket"}, {"Connection", "keep-alive, Upgrade"},
                                                  {"Sec-WebSocket-Version", "13"}, {"Sec-WebSocket-Key", "short"}});
  EXPECT_EQ(bad_key.status, 400);
  ORCH_REQUIRE(ws_installed()) << "run `npm install` in tests/node (scripts/test.sh does)";
  WsClient wrong("ws://127.0.0.1:" + std::to_string(orch.port()) + "/ws", 1, "wrong-token");
  EXPECT_EQ(wrong.wait(), 1);
  EXPECT_TRUE(wrong.saw("http 401")) << orch.log();
}

TEST(WebSocket, NodeClientGetsBacklogThenLiveEventsAndClosesCleanly) {
  ORCH_REQUIRE(ws_installed()) << "run `npm install` in tests/node (scripts/test.sh does)";
  RedisServer redis;
  OrchServer orch(Env{{"REDIS_URL", redis.url()}, {"TRUSTED_WEBHOOK_SECRET", kSecret}, {"ORCH_API_TOKEN", "ws-token-2-0123456789"},
                      {"DOCKER_HOST", "unix:///nonexistent.sock"}});
  // An unpublish between them: the type filter must leave it out of the backlog.
  std::vector<std::string> ids = {publish(orch, 1)};
  publish(orch, 10, "unpublish");
  ids.push_back(publish(orch, 2));
  WsClient client("ws://127.0.0.1:" + std::to_string(orch.port()) + "/ws?last_event_id=0-0&type=content.pub*", 3, "ws-token-2-0123456789");
  ASSERT_TRUE(eventually([&] { return client.saw("message"); })) << orch.log();
  ids.push_back(publish(orch, 3));
  ASSERT_EQ(client.wait(), 0);
  std::vector<json> messages;
  for (const auto& l : client.lines())
    if (l.rfind("message ", 0) == 0) messages.push_back(json::parse(l.substr(8)));
  ASSERT_EQ(messages.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(messages[i]["id"], ids[i]);
    EXPECT_EQ(messages[i]["type"], "content.published");
    EXPECT_EQ(messages[i]["specversion"], "1.0");
  }
  EXPECT_TRUE(stream_id_after(messages[2]["streamid"], messages[1]["streamid"]));
  EXPECT_TRUE(client.saw("pong are-you-there"));
  EXPECT_TRUE(client.saw("close 1000 ")) << orch.log();
  // The server freed the viewer once the close handshake finished.
  EXPECT_TRUE(eventually([&] { return orch.get("/metrics").body.find("orch_live_ws_viewers 0") != std::string::npos; }));
}

TEST(WebSocket, FramesEndToEndOnTheFanOutsLoop) {
  OrchServer orch(Env{{"REDIS_URL", ""}, {"TRUSTED_WEBHOOK_SECRET", kSecret}, {"DOCKER_HOST", "unix:///nonexistent.sock"}});
  {
    // Masked ping, a message fragmented around another ping (control frames may interleave), and
    // a close that is echoed with its code.
    RawWs ws(orch.port(), "/ws");
    ASSERT_NE(ws.head().find("101"), std::string::npos) << ws.head();
    ws.send(client_frame(0x89, "are-you-there"));
    auto pong = ws.control_frame();
    EXPECT_EQ(pong.first, 0xA);
    EXPECT_EQ(pong.second, "are-you-there");
    ws.send(client_frame(0x01, "frag"));  // text, FIN clear
    ws.send(client_frame(0x89, "mid"));
    EXPECT_EQ(ws.control_frame(), std::make_pair(0xA, std::string("mid")));
    ws.send(client_frame(0x80, "ment"));  // continuation, FIN set: the feed is one-way, so it is dropped
    ws.send(client_frame(0x88, close_payload(1000)));
    auto close = ws.control_frame();
    EXPECT_EQ(close.first, 0x8);
    EXPECT_EQ(code_of(close.second), 1000);
    EXPECT_TRUE(ws.closed_by_server());
  }
  {
    RawWs ws(orch.port(), "/ws");  // an unmasked frame: protocol error
    ws.send(std::string("\x81\x02hi", 4));
    auto close = ws.control_frame();
    EXPECT_EQ(close.first, 0x8);
    EXPECT_EQ(code_of(close.second), ws::kProtocolError);
  }
  {
    RawWs ws(orch.port(), "/ws");  // a frame over the size limit: 1009
    std::string big("\x82\xFF", 2);
    big += std::string("\x00\x00\x00\x00\x00\x10\x00\x00", 8);
    big += std::string("\x01\x02\x03\x04", 4);
    ws.send(big);
    auto close = ws.control_frame();
    EXPECT_EQ(close.first, 0x8);
    EXPECT_EQ(code_of(close.second), ws::kMessageTooBig);
  }
  {
    RawWs ws(orch.port(), "/ws");  // a close without a code is answered without one
    ws.send(client_frame(0x88, ""));
    auto close = ws.control_frame();
    EXPECT_EQ(close.first, 0x8);
    EXPECT_EQ(close.second, "");
  }
  EXPECT_TRUE(eventually([&] { return orch.get("/metrics").body.find("orch_live_ws_viewers 0") != std::string::npos; }));
  EXPECT_EQ(orch.get("/healthz").status, 200);
}

TEST(WebSocket, ServerShutdownClosesWithGoingAway) {
  ORCH_REQUIRE(ws_installed()) << "run `npm install` in tests/node (scripts/test.sh does)";
  OrchServer orch(Env{{"REDIS_URL", ""}, {"TRUSTED_WEBHOOK_SECRET", kSecret}, {"DOCKER_HOST", "unix:///nonexistent.sock"}});
  WsClient client("ws://127.0.0.1:" + std::to_string(orch.port()) + "/ws", 0);
  ASSERT_TRUE(eventually([&] { return client.saw("open"); }));
  EXPECT_TRUE(eventually([&] { return orch.get("/metrics").body.find("orch_live_ws_viewers 1") != std::string::npos; }));
  EXPECT_EQ(orch.stop(), 0);
  ASSERT_EQ(client.wait(), 0);
  EXPECT_TRUE(client.saw("close 1001 server stopping"));
}

}  // namespace

}  // namespace websocket_test
