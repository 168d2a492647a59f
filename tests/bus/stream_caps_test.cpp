// orch's streams keep about their documented length (docs/webhook.md): XADD ... MAXLEN ~ 100000
// on orch:events, MAXLEN ~ 10000 on orch:dead. A real orch serve adds to a Redis whose streams were
// filled past each cap beforehand (through orch that would take minutes of CI; directly, pipelined,
// a fraction of a second).
#include <gtest/gtest.h>

#include "core/json.hpp"
#include "redis/connection.hpp"
#include "support/orch_server.hpp"
#include "support/redis_server.hpp"
#include "support/signing.hpp"

using namespace orch;
using namespace orch::test;
using namespace std::chrono_literals;

namespace {

const std::string kCapsSecret = "stream-caps-secret-0123456789";

// Adds `n` entries with ids 0-1 ... 0-n (older than anything orch adds) and the given fields to
// `stream`, 10,000 commands per round trip.
void fill_stream_past_cap(redis::Connection& c, const std::string& stream, long long n, const std::vector<std::string>& fields) {
  for (long long done = 0; done < n;) {
    redis::RespCommands batch;
    for (const long long end = std::min(n, done + 10'000); done < end;) {
      batch.command(3 + fields.size()).arg("XADD").arg(stream).arg("0-" + std::to_string(++done));
      for (const auto& f : fields) batch.arg(f);
    }
    c.pipeline(batch);
  }
}

long long stream_length(redis::Connection& c, const std::string& stream) { return c.command({"XLEN", stream}).integer; }

// The `event` fields of the newest `count` entries of `stream`, newest first, parsed.
std::vector<json> newest_stream_events(redis::Connection& c, const std::string& stream, int count = 1) {
  std::vector<json> out;
  for (const auto& entry : c.command({"XREVRANGE", stream, "+", "-", "COUNT", std::to_string(count)}).elements) {
    const auto& fields = entry.elements.at(1).elements;
    for (size_t i = 0; i + 1 < fields.size(); i += 2)
      if (fields[i].str == "event") out.push_back(json::parse(fields[i + 1].str));
  }
  return out;
}

TEST(StreamCaps, OrchEventsAndOrchDeadAreTrimmedToAboutTheirCaps) {
  RedisServer redis;
  redis::Connection c(redis::parse_url(redis.url()), 10s);
  // `MAXLEN ~` trims whole nodes of the stream's radix tree only: what is left is at least the cap
  // and less than the cap plus one node (stream-node-max-entries, 100 by default).
  const long long node = std::stoll(c.command({"CONFIG", "GET", "stream-node-max-entries"}).elements.at(1).str);
  const long long events_cap = 100'000, dead_cap = 10'000;
  // 1,000 past each cap: more than one node, less than what one approximate trim may remove (100
  // nodes), so a single XADD of orch's brings each stream back.
  const std::string filler = R"({"specversion":"1.0","id":"filler","source":"test","type":"test.filler","data":{}})";
  fill_stream_past_cap(c, "orch:events", events_cap + 1'000, {"event", filler});
  fill_stream_past_cap(c, "orch:dead", dead_cap + 1'000, {"event", filler, "reason", "{}"});
  ASSERT_EQ(stream_length(c, "orch:events"), events_cap + 1'000);
  ASSERT_EQ(stream_length(c, "orch:dead"), dead_cap + 1'000);

  // A RAG service that refuses connections and one attempt: the page's job is dead-lettered at once.
  OrchServer orch({{"REDIS_URL", redis.url()},
                   {"TRUSTED_WEBHOOK_SECRET", kCapsSecret},
                   {"RAG_API_URL", refused_url()},
                   {"PIPELINE_MAX_ATTEMPTS", "1"},
                   {"DOCKER_HOST", "unix:///nonexistent/docker.sock"}});
  const json entry = {{"id", "capped"},
                      {"name", "capped"},
                      {"published", "published"},
                      {"lastUpdated", 1},
                      {"query", json::array({{{"property", "urlPath"}, {"operator", "is"}, {"value", "/capped"}}})}};
  const auto body = json({{"modelName", "page"}, {"operation", "publish"}, {"newValue", entry}}).dump();
  const auto res = orch.post("/webhook/builder", body, builder_signed(body, kCapsSecret));
  ASSERT_EQ(res.status, 202) << res.body;
  const std::string event_id = json::parse(res.body)["event_id"];
  ASSERT_TRUE(eventually([&] { return newest_stream_events(c, "orch:dead").at(0)["id"] == event_id; }, 10s)) << orch.log();

  // orch:dead: trimmed by the dead letter's XADD, the newest entry.
  EXPECT_GE(stream_length(c, "orch:dead"), dead_cap);
  EXPECT_LT(stream_length(c, "orch:dead"), dead_cap + node);
  EXPECT_NE(c.command({"XRANGE", "orch:dead", "-", "+", "COUNT", "1"}).elements.at(0).elements.at(0).str, "0-1") << "the oldest went";

  // orch:events: trimmed by the webhook's event and the pipeline's (ingest.*) after it; the
  // newest entries are orch's, the webhook's event and the page's ingest.failed among them. (Not
  // necessarily the very newest: the monitor may report the refusing RAG service as service.down
  // at any moment.)
  EXPECT_GE(stream_length(c, "orch:events"), events_cap);
  EXPECT_LT(stream_length(c, "orch:events"), events_cap + node);
  EXPECT_NE(c.command({"XRANGE", "orch:events", "-", "+", "COUNT", "1"}).elements.at(0).elements.at(0).str, "0-1");
  const auto newest = newest_stream_events(c, "orch:events", 50);  // orch adds a handful; the rest is filler
  bool webhook_event_kept = false, failure_kept = false;
  for (const auto& e : newest) {
    webhook_event_kept |= e["id"] == event_id;
    failure_kept |= e["type"] == "ingest.failed" && e["data"]["id"] == "capped";
  }
  EXPECT_TRUE(webhook_event_kept);
  EXPECT_TRUE(failure_kept) << json(newest).dump();
}

}  // namespace
