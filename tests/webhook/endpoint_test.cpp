// POST /webhook/builder end to end: the real `orch serve` binary, a real redis-server.
#include <gtest/gtest.h>

#include "bus/redis.hpp"
#include "core/json.hpp"
#include "support/orch_server.hpp"
#include "support/redis_server.hpp"
#include "webhook/signature.hpp"

using namespace orch;
using namespace orch::test;

namespace {

using Env = std::map<std::string, std::string>;
const std::string kSecret = "wh-secret-8f3a";

std::string sample(const std::string& name) { return read_file(std::string(ORCH_TESTS_DIR) + "/webhook/payloads/" + name); }

std::string signature(const std::string& body, const std::string& secret = kSecret) {
  return "sha256=" + webhook::to_hex(webhook::hmac_sha256(secret, body));
}

// Every event in orch:events, oldest first.
std::vector<json> stream_events(int port) {
  RedisConnection c(RedisUrl{"127.0.0.1", port}, std::chrono::seconds(2));
  auto reply = c.command({"XRANGE", "orch:events", "-", "+"});
  std::vector<json> out;
  for (const auto& entry : reply.elements) {
    const auto& f = entry.elements[1].elements;
    for (size_t i = 0; i + 1 < f.size(); i += 2)
      if (f[i].str == "event") out.push_back(json::parse(f[i + 1].str));
  }
  return out;
}

json with_revision(const std::string& payload, long long revision) {
  auto j = json::parse(payload);
  j["newValue"]["lastUpdated"] = revision;
  return j;
}

class WebhookEndpoint : public ::testing::Test {
 protected:
  RedisServer redis;
  std::unique_ptr<OrchServer> orch;
  void SetUp() override {
    orch = std::make_unique<OrchServer>(std::map<std::string, std::string>{
        {"REDIS_URL", redis.url()}, {"TRUSTED_WEBHOOK_SECRET", kSecret}, {"TRUSTED_WEBHOOK_SECRET_PREVIOUS", "old-secret-1"}});
  }
  http::Response post(const std::string& body, std::vector<std::pair<std::string, std::string>> headers) {
    return orch->post("/webhook/builder", body, std::move(headers));
  }
};

TEST_F(WebhookEndpoint, SignedPublishIsAcceptedAndLandsInStreamAndChannel) {
  TempDir d;
  Process sub({"redis-cli", "-p", std::to_string(redis.port()), "--no-raw", "SUBSCRIBE", "orch:events"}, {}, d.file("sub.out"));
  ASSERT_TRUE(eventually([&] { return read_file(d.file("sub.out")).find("subscribe") != std::string::npos; }));

  const auto body = sample("publish.json");
  auto res = post(body, {{"x-builder-signature", signature(body)}});
  ASSERT_EQ(res.status, 202) << res.body;
  auto answer = json::parse(res.body);
  EXPECT_EQ(answer["accepted"], true);
  const auto event_id = answer["event_id"].get<std::string>();

  auto events = stream_events(redis.port());
  ASSERT_EQ(events.size(), 1u);
  const auto& e = events[0];
  EXPECT_EQ(e["specversion"], "1.0");
  EXPECT_EQ(e["id"], event_id);
  EXPECT_EQ(e["type"], "content.published");
  EXPECT_EQ(e["data"]["model"], "page");
  EXPECT_EQ(e["data"]["id"], "5f0c1e9d2b3a4c5d");
  EXPECT_EQ(e["data"]["name"], "About us");
  EXPECT_EQ(e["data"]["url"], "/about");
  EXPECT_EQ(e["data"]["revision"], "1732470000000");
  EXPECT_EQ(e["data"]["operation"], "publish");
  EXPECT_TRUE(eventually([&] { return read_file(d.file("sub.out")).find(event_id) != std::string::npos; }))
      << "event not PUBLISHed on orch:events";
}

TEST_F(WebhookEndpoint, EveryAuthenticationFormAndRotation) {
  auto b1 = with_revision(sample("publish.json"), 1).dump();
  EXPECT_EQ(post(b1, {{"x-builder-secret", kSecret}}).status, 202);
  auto b2 = with_revision(sample("publish.json"), 2).dump();
  EXPECT_EQ(post(b2, {{"x-builder-signature", signature(b2, "old-secret-1")}}).status, 202);
  auto b3 = with_revision(sample("publish.json"), 3).dump();
  auto ts = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  EXPECT_EQ(post(b3, {{"webhook-id", "msg_3"}, {"webhook-timestamp", ts},
                      {"webhook-signature", "v1,bm9wZQ== " + webhook::standard_webhooks_signature(kSecret, "msg_3", ts, b3)}})
                .status,
            202);
  EXPECT_EQ(stream_events(redis.port()).size(), 3u);
}

TEST_F(WebhookEndpoint, RejectionsHaveTheRightStatusAndEmitNothing) {
  const auto body = sample("publish.json");
  auto missing = post(body, {});
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(json::parse(missing.body)["error"], "unauthorized");
  EXPECT_EQ(post(body, {{"x-builder-secret", "nope"}}).status, 401);
  EXPECT_EQ(post(body, {{"x-builder-signature", signature(body, "nope")}}).status, 401);
  auto old_ts = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count() - 600);
  auto stale = post(body, {{"webhook-id", "m"}, {"webhook-timestamp", old_ts},
                           {"webhook-signature", webhook::standard_webhooks_signature(kSecret, "m", old_ts, body)}});
  EXPECT_EQ(stale.status, 401);
  EXPECT_EQ(json::parse(stale.body)["error"], "stale_timestamp");

  const std::string bad_json = "{not json";
  auto r400 = post(bad_json, {{"x-builder-signature", signature(bad_json)}});
  EXPECT_EQ(r400.status, 400);
  EXPECT_EQ(json::parse(r400.body)["error"], "bad_json");
  const std::string no_id = R"({"modelName":"page","newValue":{"name":"x"}})";
  EXPECT_EQ(post(no_id, {{"x-builder-signature", signature(no_id)}}).status, 400);
  EXPECT_EQ(post(body, {{"x-builder-signature", signature(body)}, {"Content-Type", "text/plain"}}).status, 415);

  std::string huge = R"({"modelName":"page","newValue":{"id":"x","data":{"blob":")" + std::string(1100 * 1024, 'a') + "\"}}}";
  auto r413 = post(huge, {{"x-builder-signature", signature(huge)}});
  EXPECT_EQ(r413.status, 413);
  EXPECT_EQ(json::parse(r413.body)["error"], "payload_too_large");

  auto r405 = orch->get("/webhook/builder");
  EXPECT_EQ(r405.status, 405);
  EXPECT_EQ(r405.header("allow"), "POST");

  EXPECT_TRUE(stream_events(redis.port()).empty());
  auto metrics = orch->get("/metrics").body;
  EXPECT_NE(metrics.find("orch_webhooks_received_total{result=\"unauthorized\"} 4"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("orch_webhooks_received_total{result=\"too_large\"} 1"), std::string::npos) << metrics;
}

TEST_F(WebhookEndpoint, DuplicatesAnswer200AndEmitNothing) {
  const auto body = sample("publish.json");
  EXPECT_EQ(post(body, {{"x-builder-signature", signature(body)}}).status, 202);
  auto dup = post(body, {{"x-builder-signature", signature(body)}});
  EXPECT_EQ(dup.status, 200);
  EXPECT_EQ(json::parse(dup.body)["duplicate"], true);
  // Same webhook-id, even with another body, is the same delivery.
  auto ts = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  auto b2 = with_revision(body, 99).dump();
  auto sw = [&](const std::string& b) {
    return std::vector<std::pair<std::string, std::string>>{
        {"webhook-id", "msg_dup"}, {"webhook-timestamp", ts}, {"webhook-signature", webhook::standard_webhooks_signature(kSecret, "msg_dup", ts, b)}};
  };
  EXPECT_EQ(post(b2, sw(b2)).status, 202);
  EXPECT_EQ(post(b2, sw(b2)).status, 200);
  EXPECT_EQ(stream_events(redis.port()).size(), 2u);
  // The dedupe record lives in Redis, so another instance on the same Redis agrees.
  OrchServer second(Env{{"REDIS_URL", redis.url()}, {"TRUSTED_WEBHOOK_SECRET", kSecret}});
  EXPECT_EQ(second.post("/webhook/builder", body, {{"x-builder-signature", signature(body)}}).status, 200);
  EXPECT_EQ(stream_events(redis.port()).size(), 2u);
}

TEST_F(WebhookEndpoint, RedisDownEventsWaitInOutboxAndArriveInOrder) {
  redis.stop();
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    auto body = with_revision(sample("publish.json"), 1000 + i).dump();
    auto res = post(body, {{"x-builder-signature", signature(body)}});
    ASSERT_EQ(res.status, 202) << res.body;
    ids.push_back(json::parse(res.body)["event_id"]);
  }
  auto health = json::parse(orch->get("/health").body);
  EXPECT_EQ(health["components"]["redis"]["connected"], false);
  EXPECT_EQ(health["components"]["redis"]["outbox_depth"], 20);
  EXPECT_EQ(orch->get("/readyz").status, 503);
  // A redelivery while Redis is down is still recognised.
  auto again = with_revision(sample("publish.json"), 1000).dump();
  EXPECT_EQ(post(again, {{"x-builder-signature", signature(again)}}).status, 200);

  redis.start();
  ASSERT_TRUE(eventually([&] { return stream_events(redis.port()).size() == 20; }, std::chrono::seconds(15)));
  auto events = stream_events(redis.port());
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(events[i]["id"], ids[i]) << "order differs at " << i;
  EXPECT_TRUE(eventually([&] { return json::parse(orch->get("/health").body)["components"]["redis"]["outbox_depth"] == 0; }));
  EXPECT_EQ(orch->get("/readyz").status, 200);
}

TEST_F(WebhookEndpoint, SecretsNeverReachTheLogAndShutdownIsClean) {
  const auto body = sample("publish.json");
  EXPECT_EQ(post(body, {{"x-builder-secret", kSecret}}).status, 202);
  EXPECT_EQ(post(body, {{"x-builder-secret", "nope"}}).status, 401);
  EXPECT_EQ(orch->stop(), 0);
  auto log = orch->log();
  EXPECT_NE(log.find("content.published"), std::string::npos) << log;
  EXPECT_EQ(log.find(kSecret), std::string::npos) << log;
}

TEST(WebhookWithoutRedis, InProcessBusAndUnconfiguredSecret) {
  OrchServer unconfigured(Env{{"REDIS_URL", ""}});
  auto res = unconfigured.post("/webhook/builder", sample("publish.json"), {{"x-builder-secret", "x"}});
  EXPECT_EQ(res.status, 503);
  EXPECT_EQ(json::parse(res.body)["error"], "not_configured");

  OrchServer orch(Env{{"REDIS_URL", ""}, {"TRUSTED_WEBHOOK_SECRET", kSecret}});
  const auto body = sample("publish.json");
  EXPECT_EQ(orch.post("/webhook/builder", body, {{"x-builder-secret", kSecret}}).status, 202);
  EXPECT_EQ(orch.post("/webhook/builder", body, {{"x-builder-secret", kSecret}}).status, 200);
  auto health = json::parse(orch.get("/health").body);
  EXPECT_EQ(health["status"], "ok");
  EXPECT_EQ(health["components"]["redis"]["kind"], "memory");
  EXPECT_EQ(orch.get("/readyz").status, 200);
  auto metrics = orch.get("/metrics").body;
  EXPECT_NE(metrics.find("orch_events_published_total{type=\"content.published\"} 1"), std::string::npos) << metrics;
}

TEST(WebhookWithoutRedis, RepeatedBadCredentialsGet429AndNoEventWhileProbesStillAnswer) {
  OrchServer orch(Env{{"REDIS_URL", ""}, {"TRUSTED_WEBHOOK_SECRET", kSecret}, {"ORCH_AUTH_FAILURE_LIMIT", "3"}});
  const auto body = sample("publish.json");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(orch.post("/webhook/builder", body, {{"x-builder-secret", "guess-" + std::to_string(i)}}).status, 401);
  // The right secret from the same address is refused too: guessing stops being cheap.
  auto refused = orch.post("/webhook/builder", body, {{"x-builder-secret", kSecret}});
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(json::parse(refused.body)["error"], "rate_limited");
  EXPECT_GE(std::stoi(refused.header("retry-after")), 1);
  EXPECT_EQ(orch.get("/events").status, 429) << "every endpoint that checks credentials is closed to this address";
  EXPECT_EQ(orch.get("/healthz").status, 200);
  EXPECT_EQ(orch.get("/readyz").status, 200);
  auto metrics = orch.get("/metrics").body;
  EXPECT_NE(metrics.find("orch_http_rate_limited_total{limit=\"auth_failures\"} 2"), std::string::npos) << metrics;
  EXPECT_EQ(metrics.find("orch_events_published_total{type=\"content.published\"}"), std::string::npos) << "no event for a refused webhook";
}

}  // namespace
