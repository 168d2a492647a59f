// The Hub (one bus subscription, a ring of rendered events) and a viewer's Feed over it, on the
// in-process bus.
#include <gtest/gtest.h>

#include "bus/bus.hpp"
#include "core/json.hpp"
#include "live/feed.hpp"
#include "live/hub.hpp"
#include "live/websocket.hpp"

using namespace orch;
using namespace orch::live;

namespace {

Event publish(Bus& bus, const std::string& type, int n) {
  auto e = make_event(type, "s", json{{"n", n}});
  e.stream_id = bus.publish(e).stream_id;
  return e;
}

std::vector<json> collect(Feed& feed) {
  std::vector<LiveEventPtr> out;
  EXPECT_EQ(feed.collect(out), Hub::Status::ready);
  std::vector<json> data;
  for (const auto& e : out) data.push_back(json::parse(e->sse.substr(e->sse.find("data: ") + 6))["data"]);
  return data;
}

TEST(Hub, SubscribesOnlyWhileSomeoneWatches) {
  auto bus = make_memory_bus();
  Hub hub(*bus);
  publish(*bus, "content.published", 0);  // nobody attached: not kept
  {
    Feed feed(hub, *bus, {});
    publish(*bus, "content.published", 1);
    auto got = collect(feed);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0]["n"], 1);
    EXPECT_TRUE(collect(feed).empty());  // each event once
  }
  // The last viewer left: the hub unsubscribed, a new viewer starts at the head.
  publish(*bus, "content.published", 2);
  Feed later(hub, *bus, {});
  EXPECT_TRUE(collect(later).empty());
}

TEST(Hub, RendersEachEventOnceForBothProtocols) {
  auto bus = make_memory_bus();
  Hub hub(*bus);
  Feed feed(hub, *bus, {});
  auto e = publish(*bus, "heal.restarted", 7);
  std::vector<LiveEventPtr> out;
  feed.collect(out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]->sse, sse_frame(e));
  EXPECT_EQ(out[0]->sse.rfind("id: " + e.stream_id + "\nevent: heal.restarted\ndata: {", 0), 0u);
  const auto& frame = out[0]->ws;
  ASSERT_EQ(static_cast<uint8_t>(frame[0]), 0x81);
  auto j = json::parse(ws_message(e));
  EXPECT_EQ(j["streamid"], e.stream_id);
  EXPECT_EQ(j["id"], e.id);
  EXPECT_NE(frame.find(ws_message(e)), std::string::npos);
}

TEST(Feed, FiltersByTypePrefixAndResumesWithoutDuplicates) {
  auto bus = make_memory_bus();
  Hub hub(*bus);
  auto first = publish(*bus, "content.published", 1);
  publish(*bus, "heal.restarted", 2);
  publish(*bus, "content.deleted", 3);
  Feed feed(hub, *bus, {"content.*", first.stream_id});
  publish(*bus, "content.published", 4);
  auto got = collect(feed);
  ASSERT_EQ(got.size(), 2u);  // the backlog after `first` (3), then live (4); heal.* filtered out
  EXPECT_EQ(got[0]["n"], 3);
  EXPECT_EQ(got[1]["n"], 4);
}

TEST(Feed, AViewerThatFallsOutOfTheRingIsToldSo) {
  auto bus = make_memory_bus();
  Hub hub(*bus, 5);
  Feed slow(hub, *bus, {});
  for (int i = 0; i < 6; ++i) publish(*bus, "content.published", i);
  std::vector<LiveEventPtr> out;
  EXPECT_EQ(slow.collect(out), Hub::Status::overflow);
  Feed fresh(hub, *bus, {});
  publish(*bus, "content.published", 6);
  EXPECT_EQ(collect(fresh).size(), 1u);
}

}  // namespace
