// The fan-out (live/fanout.hpp) over socketpairs, in process: what docs/live.md promises a viewer
// that sits quiet (SSE `: keep-alive`, a WebSocket ping), a viewer that stops reading (dropped past
// its buffer) and one that falls out of the ring (a WebSocket closed with 1008). The intervals are
// shortened through FanoutOptions, whose defaults are the documented ones.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "bus/bus.hpp"
#include "live/fanout.hpp"
#include "live/websocket.hpp"
#include "support/process.hpp"
#include "support/raw_ws.hpp"

using namespace orch;
using namespace orch::live;
using namespace orch::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct Rig {
  explicit Rig(FanoutOptions o, size_t ring = 20'000) : hub(*bus, ring), fanout(hub, sse_viewers, ws_viewers, with_nice_0(o)) {}
  static FanoutOptions with_nice_0(FanoutOptions o) {
    o.nice = 0;  // a test on a loaded machine should not wait for the CPU
    return o;
  }
  // A viewer on one end of a socketpair; the test reads the other end, returned.
  int viewer(Fanout::Kind kind, int send_buffer = 0) {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    if (send_buffer) ::setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &send_buffer, sizeof send_buffer);
    fanout.add(sv[0], kind, std::make_unique<Feed>(hub, *bus, FeedOptions{}));
    return sv[1];
  }
  void publish(int n, size_t size = 10) {
    for (int i = 0; i < n; ++i) bus->publish(make_event("content.published", "s", json{{"n", i}, {"pad", std::string(size, 'x')}}));
  }
  std::unique_ptr<Bus> bus = make_memory_bus();
  Metrics metrics;
  Gauge& sse_viewers = metrics.gauge("orch_live_viewers", "").get();
  Gauge& ws_viewers = metrics.gauge("orch_live_ws_viewers", "").get();
  Hub hub;
  Fanout fanout;
};

// What arrives on `fd` within `wait` (stops early once `until` is in it); "" and closed = EOF seen.
std::string read_for(int fd, std::chrono::milliseconds wait, const std::string& until = "", bool* closed = nullptr) {
  std::string got;
  const auto end = Clock::now() + wait;
  while (Clock::now() < end && (until.empty() || got.find(until) == std::string::npos)) {
    pollfd p{fd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
    if (::poll(&p, 1, static_cast<int>(std::max<long long>(left, 0))) <= 0) break;
    char buf[65536];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      if (closed) *closed = true;
      break;
    }
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

TEST(Fanout, TheDocumentedIntervalsAreTheDefaults) {
  const FanoutOptions o;
  EXPECT_EQ(o.sse_keepalive, 15s);      // docs/live.md: ": keep-alive" after 15 s of silence
  EXPECT_EQ(o.ws_ping, 30s);            // "the server pings after 30 s of silence"
  EXPECT_EQ(o.max_buffered, 4u << 20);  // "more than 4 MiB unsent"
  EXPECT_EQ(o.pace, 50ms);              // "at most one write every 50 ms"
}

TEST(Fanout, AQuietSseViewerGetsAKeepAliveAfterTheSilenceOnly) {
  FanoutOptions o;
  o.sse_keepalive = 300ms;
  o.tick = 20ms;
  Rig rig(o);
  const int fd = rig.viewer(Fanout::Kind::sse);
  const auto t0 = Clock::now();
  EXPECT_EQ(read_for(fd, 150ms), "");  // not before the silence
  EXPECT_EQ(read_for(fd, 1s, ": keep-alive\n\n"), ": keep-alive\n\n");
  EXPECT_GE(Clock::now() - t0, 300ms);
  // An event resets the silence: its frame, and no keep-alive right behind it.
  rig.publish(1);
  const auto frame = read_for(fd, 1s, "\n\n");
  EXPECT_EQ(frame.rfind("id: 1-0\nevent: content.published\ndata: {", 0), 0u) << frame;
  EXPECT_EQ(read_for(fd, 150ms), "");
  EXPECT_EQ(read_for(fd, 1s, ": keep-alive\n\n"), ": keep-alive\n\n");
  EXPECT_EQ(rig.sse_viewers.value(), 1);
  ::close(fd);
  EXPECT_TRUE(eventually([&] { return rig.sse_viewers.value() == 0; }, 2s));  // gone once it left
}

TEST(Fanout, AQuietWebSocketIsPingedAndItsPingsAndCloseAreAnswered) {
  FanoutOptions o;
  o.ws_ping = 300ms;
  o.tick = 20ms;
  Rig rig(o);
  RawWs ws(rig.viewer(Fanout::Kind::websocket));
  const auto t0 = Clock::now();
  EXPECT_EQ(ws.frame(), std::make_pair(0x9, std::string()));
  EXPECT_GE(Clock::now() - t0, 300ms);
  // From here on a ping may come whenever 300 ms pass quietly: skip those.
  auto next = [&] {
    auto f = ws.frame();
    while (f.first == 0x9) f = ws.frame();
    return f;
  };
  ws.send(client_frame(0x89, "still-there"));
  EXPECT_EQ(next(), std::make_pair(0xA, std::string("still-there")));
  ws.send(client_frame(0x8A, "unasked"));  // an unasked pong is ignored
  rig.publish(1);
  auto text = next();
  EXPECT_EQ(text.first, 0x1);
  EXPECT_EQ(json::parse(text.second)["streamid"], "1-0");
  ws.send(client_frame(0x88, close_payload(ws::kNormalClosure)));
  auto close = next();
  EXPECT_EQ(close.first, 0x8);
  EXPECT_EQ(code_of(close.second), ws::kNormalClosure);
  EXPECT_TRUE(ws.closed_by_server());
  EXPECT_TRUE(eventually([&] { return rig.ws_viewers.value() == 0; }, 2s));
}

TEST(Fanout, AViewerThatStopsReadingIsDroppedPastItsBufferOthersGetEverything) {
  FanoutOptions o;
  o.max_buffered = 64 << 10;
  o.pace = 10ms;
  Rig rig(o);
  const int stuck = rig.viewer(Fanout::Kind::sse, 4096);
  const int reader = rig.viewer(Fanout::Kind::sse);
  std::string seen;
  std::thread reading([&] { seen = read_for(reader, 5s, "id: 200-0\n"); });
  for (int round = 0; round < 20; ++round) {  // 20 x 10 events of 2 KiB: 400 KiB, far past 64 KiB
    rig.publish(10, 2048);
    std::this_thread::sleep_for(10ms);  // at the pace a reading viewer keeps up with
  }
  reading.join();
  // The viewer that kept reading got every event; the stuck one was dropped.
  EXPECT_NE(seen.find("id: 1-0\n"), std::string::npos);
  EXPECT_NE(seen.find("id: 200-0\n"), std::string::npos);
  EXPECT_TRUE(eventually([&] { return rig.sse_viewers.value() == 1; }, 2s)) << "the stuck viewer was not dropped";
  bool closed = false;
  const auto got = read_for(stuck, 2s, "", &closed);
  EXPECT_TRUE(closed);  // the connection ended: EventSource reconnects with Last-Event-ID
  EXPECT_LT(got.size(), 200u << 10);
  ::close(stuck);
  ::close(reader);
}

TEST(Fanout, AWebSocketThatFallsOutOfTheRingIsClosedWith1008AndAnSseViewerEnds) {
  FanoutOptions o;
  o.pace = 300ms;  // events pile up between two collections
  o.close_wait = 200ms;
  o.tick = 20ms;
  Rig rig(o, 4);
  RawWs ws(rig.viewer(Fanout::Kind::websocket));
  const int sse = rig.viewer(Fanout::Kind::sse);
  ASSERT_TRUE(eventually([&] { return rig.ws_viewers.value() == 1 && rig.sse_viewers.value() == 1; }));
  rig.publish(1);
  rig.publish(10);  // more than the ring holds before the next collection
  auto close = ws.control_frame();
  ASSERT_EQ(close.first, 0x8);
  EXPECT_EQ(code_of(close.second), ws::kPolicyViolation);
  EXPECT_EQ(close.second.substr(2), "viewer fell too far behind");
  // No answer to the close: the connection still ends once close_wait has passed.
  EXPECT_TRUE(ws.closed_by_server());
  bool closed = false;
  read_for(sse, 2s, "", &closed);
  EXPECT_TRUE(closed);
  EXPECT_TRUE(eventually([&] { return rig.ws_viewers.value() == 0 && rig.sse_viewers.value() == 0; }, 2s));
  ::close(sse);
}

}  // namespace
