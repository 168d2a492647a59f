// POST /webhook/builder end to end: the real `orch serve` binary, a real redis-server.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <set>
#include <thread>

#include "core/crypto.hpp"
#include "core/json.hpp"
#include "support/orch_server.hpp"
#include "support/raw_http.hpp"
#include "support/redis_server.hpp"
#include "support/require.hpp"
#include "support/signing.hpp"
#include "webhook/signature.hpp"

using namespace orch;
using namespace orch::test;

namespace {

using Env = std::map<std::string, std::string>;
// A Standard Webhooks secret: it also serves as the shared secret and the x-builder-signature key.
const std::string kKey = "orch-endpoint-test-key-32-bytes!";
const std::string kSecret = "whsec_" + base64_encode(kKey);

std::string sample(const std::string& name) { return read_file(std::string(ORCH_TESTS_DIR) + "/webhook/payloads/" + name); }

std::string signature(const std::string& body, const std::string& secret = kSecret) { return builder_signature(body, secret); }

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
        {"REDIS_URL", redis.url()}, {"TRUSTED_WEBHOOK_SECRET", kSecret}, {"TRUSTED_WEBHOOK_SECRET_PREVIOUS", "old-secret-1-0123456789"}});
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

  auto events = redis.events();
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
  EXPECT_EQ(post(b2, {{"x-builder-signature", signature(b2, "old-secret-1-0123456789")}}).status, 202);
  auto b3 = with_revision(sample("publish.json"), 3).dump();
  auto ts = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  EXPECT_EQ(post(b3, {{"webhook-id", "msg_3"}, {"webhook-timestamp", ts},
                      {"webhook-signature", "v1,bm9wZQ== " + webhook::standard_webhooks_signature(kKey, "msg_3", ts, b3)}})
                .status,
            202);
  EXPECT_EQ(redis.events().size(), 3u);
}

TEST_F(WebhookEndpoint, BuildersCustomHeaderAsABearerTokenWithRotation) {
  // Builder signs nothing: it sends the headers configured on its webhook, its own example being
  // `Authorization: Bearer <token>`. The scheme is case-insensitive (RFC 7235).
  auto b1 = with_revision(sample("publish.json"), 11).dump();
  EXPECT_EQ(post(b1, {{"Authorization", "Bearer " + kSecret}}).status, 202);
  auto b2 = with_revision(sample("publish.json"), 12).dump();
  EXPECT_EQ(post(b2, {{"Authorization", "bearer   old-secret-1-0123456789"}}).status, 202);  // the previous secret
  auto b3 = with_revision(sample("publish.json"), 13).dump();
  auto wrong = post(b3, {{"Authorization", "Bearer not-the-secret-0123456789"}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(json::parse(wrong.body)["error"], "unauthorized");
  // Another scheme (a proxy's Basic) is no webhook credential.
  EXPECT_EQ(post(b3, {{"Authorization", "Basic " + base64_encode("u:" + kSecret)}}).status, 401);
  // The first credential present decides: a wrong shared-secret header is not rescued by a right bearer.
  EXPECT_EQ(post(b3, {{"x-builder-secret", "nope-nope-nope-nope"}, {"Authorization", "Bearer " + kSecret}}).status, 401);
  EXPECT_EQ(redis.events().size(), 2u);
  EXPECT_EQ(orch->log().find(kSecret), std::string::npos);
}

TEST_F(WebhookEndpoint, TheLegacyOldValueShapeAndAModelNamedByTheUrl) {
  // Older Builder docs: {newValue, oldValue} and neither modelName nor operation.
  json legacy_delete = {{"newValue", nullptr}, {"oldValue", {{"id", "legacy-1"}, {"name", "Old"}, {"modelId", "mdl123"}, {"lastUpdated", 5},
                                                           {"data", {{"url", "/old"}}}}}};
  auto body = legacy_delete.dump();
  auto res = orch->post("/webhook/builder?model=blog", body, {{"x-builder-secret", kSecret}});
  ASSERT_EQ(res.status, 202) << res.body;
  json legacy_publish = {{"newValue", {{"id", "legacy-2"}, {"modelId", "mdl123"}, {"lastUpdated", 6}, {"data", {{"url", "/new"}}}}},
                         {"oldValue", nullptr}};
  body = legacy_publish.dump();
  ASSERT_EQ(post(body, {{"x-builder-secret", kSecret}}).status, 202);  // no ?model=: the entry's modelId
  auto events = redis.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["type"], "content.deleted");
  EXPECT_EQ(events[0]["data"]["id"], "legacy-1");
  EXPECT_EQ(events[0]["data"]["model"], "blog");
  EXPECT_EQ(events[0]["data"]["url"], "/old");
  EXPECT_EQ(events[1]["type"], "content.published");
  EXPECT_EQ(events[1]["data"]["model"], "mdl123");
}

TEST(WebhookSecretHeader, TheConfiguredHeaderIsReadAndABadNameStopsTheStart) {
  const std::string secret = "a-good-shared-secret-1";
  OrchServer orch(Env{{"REDIS_URL", ""}, {"TRUSTED_WEBHOOK_SECRET", secret}, {"WEBHOOK_SECRET_HEADER", "X-Hook-Token"}});
  auto body = sample("publish.json");
  EXPECT_EQ(orch.post("/webhook/builder", body, {{"x-hook-token", secret}}).status, 202);
  // The default name is no longer read; the bearer form still is.
  EXPECT_EQ(orch.post("/webhook/builder", with_revision(body, 2).dump(), {{"x-builder-secret", secret}}).status, 401);
  EXPECT_EQ(orch.post("/webhook/builder", with_revision(body, 3).dump(), {{"Authorization", "Bearer " + secret}}).status, 202);
  for (const char* bad : {"x builder", "webhook-signature", "Authorization"}) {
    TempDir state;
    auto r = run({ORCH_BINARY, "serve"}, {{"REDIS_URL", ""}, {"ORCH_CONFIG", ""}, {"ORCH_STATE_DIR", state.path()},
                                          {"PORT", std::to_string(free_port())}, {"TRUSTED_WEBHOOK_SECRET", secret},
                                          {"WEBHOOK_SECRET_HEADER", bad}},
                 std::chrono::seconds(20));
    EXPECT_EQ(r.code, 78) << bad << ": " << r.output;
    EXPECT_NE(r.output.find("WEBHOOK_SECRET_HEADER"), std::string::npos) << r.output;
    auto check = run({ORCH_BINARY, "config", "--check"}, {{"ORCH_CONFIG", ""}, {"WEBHOOK_SECRET_HEADER", bad}});
    EXPECT_EQ(check.code, 78) << bad << ": " << check.output;
  }
}

TEST(WebhookPayloadLess, WithoutBuilderApiKeyTheAnswerNamesIt) {
  const std::string secret = "a-good-shared-secret-1";
  OrchServer orch(Env{{"REDIS_URL", ""}, {"TRUSTED_WEBHOOK_SECRET", secret}});
  for (const std::string body : {"", "{}", R"({"modelName":"page","operation":"publish"})"}) {
    auto res = orch.post("/webhook/builder?model=page", body, {{"x-builder-secret", secret}});
    EXPECT_EQ(res.status, 400) << body;
    EXPECT_NE(res.body.find("BUILDER_API_KEY"), std::string::npos) << res.body;
  }
  // Without a model at all the answer says where to name one.
  auto res = orch.post("/webhook/builder", "{}", {{"x-builder-secret", secret}});
  EXPECT_EQ(res.status, 400);
  EXPECT_NE(res.body.find("?model="), std::string::npos) << res.body;
  // With the key it is accepted as an unresolved change for the pipeline to look up.
  OrchServer keyed(Env{{"REDIS_URL", ""}, {"TRUSTED_WEBHOOK_SECRET", secret}, {"BUILDER_API_KEY", "pub-1"}});
  EXPECT_EQ(keyed.post("/webhook/builder?model=page", "", {{"x-builder-secret", secret}}).status, 202);
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
                           {"webhook-signature", webhook::standard_webhooks_signature(kKey, "m", old_ts, body)}});
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

  EXPECT_TRUE(redis.events().empty());
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
        {"webhook-id", "msg_dup"}, {"webhook-timestamp", ts}, {"webhook-signature", webhook::standard_webhooks_signature(kKey, "msg_dup", ts, b)}};
  };
  EXPECT_EQ(post(b2, sw(b2)).status, 202);
  EXPECT_EQ(post(b2, sw(b2)).status, 200);
  EXPECT_EQ(redis.events().size(), 2u);
  // The dedupe record lives in Redis, so another instance on the same Redis agrees.
  OrchServer second(Env{{"REDIS_URL", redis.url()}, {"TRUSTED_WEBHOOK_SECRET", kSecret}});
  EXPECT_EQ(second.post("/webhook/builder", body, {{"x-builder-signature", signature(body)}}).status, 200);
  EXPECT_EQ(redis.events().size(), 2u);
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
  ASSERT_TRUE(eventually([&] { return redis.events().size() == 20; }, std::chrono::seconds(15)));
  auto events = redis.events();
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


// --- Signatures made by the reference libraries, and secrets that must stop the start ---

const std::string kNodeDir = std::string(ORCH_TESTS_DIR) + "/node";

bool reference_libraries_installed() {
  return std::filesystem::exists(kNodeDir + "/node_modules/standardwebhooks/package.json") &&
         std::filesystem::exists(kNodeDir + "/node_modules/svix/package.json");
}

// {"standardwebhooks": ..., "svix": ..., "emptyKey": ...} for this delivery, from tests/node/sign_webhook.mjs.
json reference_signatures(const std::string& secret, const std::string& id, const std::string& ts, const std::string& body) {
  TempDir d;
  write_file(d.file("body"), body);
  auto r = run({"node", kNodeDir + "/sign_webhook.mjs", secret, id, ts, d.file("body")}, {}, std::chrono::seconds(30));
  auto j = json::parse(r.output.substr(r.output.find('{')), nullptr, false);
  if (r.code != 0 || j.is_discarded()) throw std::runtime_error("sign_webhook.mjs: " + r.output);
  return j;
}

std::string unix_now() {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

TEST(WebhookReferenceSigners, StandardWebhooksAndSvixSignaturesPassAndAnEmptyKeyDoesNot) {
  ORCH_REQUIRE(reference_libraries_installed()) << "run `npm ci` in tests/node (scripts/test.sh does)";
  // orch gets the secret without base64 padding (as Python's reference library accepts it); the
  // JavaScript libraries sign with the padded form. Both must name the same key.
  const std::string padded = "whsec_" + base64_encode("reference-signers-key-32-bytes!!");
  ASSERT_EQ(padded.back(), '=');
  std::string unpadded = padded;
  while (unpadded.back() == '=') unpadded.pop_back();
  RedisServer redis;
  OrchServer orch(Env{{"REDIS_URL", redis.url()}, {"TRUSTED_WEBHOOK_SECRET", unpadded}});
  const auto ts = unix_now();

  auto b1 = with_revision(sample("publish.json"), 501).dump();
  auto s1 = reference_signatures(padded, "msg_std_1", ts, b1);
  auto r1 = orch.post("/webhook/builder", b1,
                      {{"webhook-id", "msg_std_1"}, {"webhook-timestamp", ts}, {"webhook-signature", s1["standardwebhooks"]}});
  EXPECT_EQ(r1.status, 202) << r1.body;

  // Svix's own header names.
  auto b2 = with_revision(sample("publish.json"), 502).dump();
  auto s2 = reference_signatures(padded, "msg_svix_2", ts, b2);
  auto r2 = orch.post("/webhook/builder", b2, {{"svix-id", "msg_svix_2"}, {"svix-timestamp", ts}, {"svix-signature", s2["svix"]}});
  EXPECT_EQ(r2.status, 202) << r2.body;
  // The same delivery again (same svix-id) is a duplicate.
  EXPECT_EQ(orch.post("/webhook/builder", b2, {{"svix-id", "msg_svix_2"}, {"svix-timestamp", ts}, {"svix-signature", s2["svix"]}}).status,
            200);

  // A signature made with an empty key, and one made with the secret's text as the key, fail.
  auto b3 = with_revision(sample("publish.json"), 503).dump();
  auto s3 = reference_signatures(padded, "msg_forged_3", ts, b3);
  EXPECT_EQ(orch.post("/webhook/builder", b3,
                      {{"webhook-id", "msg_forged_3"}, {"webhook-timestamp", ts}, {"webhook-signature", s3["emptyKey"]}})
                .status,
            401);
  EXPECT_EQ(orch.post("/webhook/builder", b3,
                      {{"webhook-id", "msg_forged_3"}, {"webhook-timestamp", ts},
                       {"webhook-signature", webhook::standard_webhooks_signature(unpadded, "msg_forged_3", ts, b3)}})
                .status,
            401);
  EXPECT_EQ(redis.events().size(), 2u);
}

TEST(WebhookReferenceSigners, APlainSecretRefusesEveryStandardWebhooksSignature) {
  ORCH_REQUIRE(reference_libraries_installed()) << "run `npm ci` in tests/node (scripts/test.sh does)";
  // Not base64: the reference libraries cannot use it either. No key is derived, so no
  // signature (an empty-key one included) passes; the shared-secret header still works.
  const std::string plain = "plain-shared-secret-1";
  OrchServer orch(Env{{"REDIS_URL", ""}, {"TRUSTED_WEBHOOK_SECRET", plain}});
  const auto ts = unix_now();
  auto body = with_revision(sample("publish.json"), 601).dump();
  auto sigs = reference_signatures("whsec_" + base64_encode("some-other-key-of-32-bytes-long!"), "msg_p", ts, body);
  EXPECT_EQ(orch.post("/webhook/builder", body, {{"webhook-id", "msg_p"}, {"webhook-timestamp", ts}, {"webhook-signature", sigs["emptyKey"]}})
                .status,
            401);
  EXPECT_EQ(orch.post("/webhook/builder", body, {{"x-builder-secret", plain}}).status, 202);
  EXPECT_NE(orch.log().find("webhook-signature is refused"), std::string::npos) << orch.log();
}

TEST(WebhookSecrets, AMalformedWhsecOrShortSecretStopsTheStartWithExit78) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"TRUSTED_WEBHOOK_SECRET", "whsec_YWJjZA"},                       // base64 of 4 bytes
      {"TRUSTED_WEBHOOK_SECRET", "whsec_not*base64!"},                  // not base64
      {"TRUSTED_WEBHOOK_SECRET", "s"},                                  // too short to resist guessing
      {"TRUSTED_WEBHOOK_SECRET_PREVIOUS", "whsec_YWJjZA"},
      {"ORCH_API_TOKEN", "tok-123"},
  };
  for (const auto& [name, value] : bad) {
    TempDir state;
    Env env{{"REDIS_URL", ""}, {"ORCH_CONFIG", ""}, {"ORCH_STATE_DIR", state.path()}, {"PORT", std::to_string(free_port())},
            {"TRUSTED_WEBHOOK_SECRET", "a-good-shared-secret-1"}};
    env[name] = value;
    auto serve = run({ORCH_BINARY, "serve"}, env, std::chrono::seconds(20));
    EXPECT_EQ(serve.code, 78) << name << "=" << value << ": " << serve.output;
    EXPECT_NE(serve.output.find(name), std::string::npos) << serve.output;
    if (value.size() > 3) {
      EXPECT_EQ(serve.output.find(value), std::string::npos) << "the secret itself is never printed: " << serve.output;
    }
    auto check = run({ORCH_BINARY, "config", "--check"}, env);
    EXPECT_EQ(check.code, 78) << name << "=" << value << ": " << check.output;
    EXPECT_NE(check.output.find(name), std::string::npos) << "config --check names the setting: " << check.output;
  }
}

TEST(WebhookRequestId, OnlyASafeClientIdIsEchoedElseOneIsMade) {
  OrchServer orch(Env{{"REDIS_URL", ""}, {"TRUSTED_WEBHOOK_SECRET", kSecret}});
  const auto body = sample("publish.json");
  auto request = [&](const std::string& id_header) {
    return "POST /webhook/builder HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n" + id_header +
           "x-builder-secret: " + kSecret + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  };
  auto header_of = [](const std::string& response) {
    auto at = response.find("X-Request-Id: ");
    if (at == std::string::npos) return std::string("<none>");
    return response.substr(at + 14, response.find("\r\n", at) - at - 14);
  };
  auto good = raw_http(orch.port(), request("X-Request-Id: req-42.a_b:c\r\n"));
  EXPECT_EQ(status_of(good), 202) << good;
  EXPECT_EQ(header_of(good), "req-42.a_b:c");
  // A NUL in a header is refused outright by the HTTP front end (RFC 9110 §5.5): nothing is echoed.
  auto nul = raw_http(orch.port(), request("X-Request-Id: " + std::string("a\0b", 3) + "\r\n"));
  EXPECT_EQ(status_of(nul), 400) << nul;
  EXPECT_EQ(nul.find(std::string("a\0b", 3)), std::string::npos);
  for (const std::string& bad : {std::string("a\x01b"), std::string("a b\"c"), std::string(200, 'x')}) {
    auto res = raw_http(orch.port(), request("X-Request-Id: " + bad + "\r\n"));
    ASSERT_NE(status_of(res), 0) << "no answer";
    auto echoed = header_of(res);
    EXPECT_EQ(echoed.rfind("wh-", 0), 0u) << "'" << echoed << "' for a request id of " << bad.size() << " bytes";
    EXPECT_EQ(res.find('\0'), std::string::npos);
    EXPECT_EQ(res.find('\x01'), std::string::npos);
  }
  EXPECT_EQ(orch.log().find('\x01'), std::string::npos);
}

TEST(WebhookRequestId, EveryAnswerOfTheTableCarriesTheClientsIdOrAMadeOne) {
  // docs/webhook.md: every answer carries X-Request-Id, also those made before the webhook's own
  // check runs (429 of the auth-failure limit, 413 of the front end, 405 of the router), and the
  // logged line of an answer names it.
  RedisServer redis;
  OrchServer orch(Env{{"REDIS_URL", redis.url()}, {"TRUSTED_WEBHOOK_SECRET", kSecret}, {"ORCH_AUTH_FAILURE_LIMIT", "2"}});
  const auto body = sample("publish.json");
  const std::string huge = R"({"modelName":"page","newValue":{"id":"x","data":{"blob":")" + std::string(1100 * 1024, 'a') + "\"}}}";
  struct Case {
    int status;
    std::function<http::Response(std::vector<std::pair<std::string, std::string>>)> send;
  };
  auto with = [](std::vector<std::pair<std::string, std::string>> a, const std::vector<std::pair<std::string, std::string>>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  auto post = [&](const std::string& b, std::vector<std::pair<std::string, std::string>> h) { return orch.post("/webhook/builder", b, h); };
  int n = 0;
  // In this order: the 401s use up the address's failure budget (2), then everything is 429.
  const std::vector<Case> cases = {
      {202,
       [&](auto h) {
         const auto fresh = with_revision(body, 3000 + ++n).dump();  // a new revision each time: accepted
         return post(fresh, with(h, builder_signed(fresh, kSecret)));
       }},
      {200, [&](auto h) { return post(body, with(h, builder_signed(body, kSecret))); }},
      {400, [&](auto h) { return post("{oops", with(h, builder_signed("{oops", kSecret))); }},
      {415,
       [&](auto h) {
         return post(body, with(with(h, builder_signed(body, kSecret)), {{"Content-Type", "text/plain"}}));
       }},
      {413, [&](auto h) { return post(huge, with(h, builder_signed(huge, kSecret))); }},
      {405, [&](auto h) { return orch.get("/webhook/builder", h); }},
      {401,
       [&](auto h) {
         return post(body, with(h, {{"x-builder-secret", "guess-" + std::to_string(++n)}}));
       }},
      {429, [&](auto h) { return post(body, with(h, builder_signed(body, kSecret))); }},
  };
  ASSERT_EQ(post(body, builder_signed(body, kSecret)).status, 202);  // so that `body` is a duplicate from now on
  std::set<std::string> made;
  for (const auto& c : cases) {
    const std::string mine = "client-" + std::to_string(c.status);
    auto given = c.send({{"X-Request-Id", mine}});
    EXPECT_EQ(given.status, c.status) << given.body;
    EXPECT_EQ(given.header("x-request-id"), mine) << "status " << c.status;
    auto plain = c.send({});
    EXPECT_EQ(plain.status, c.status) << plain.body;
    const auto id = plain.header("x-request-id");
    EXPECT_EQ(id.rfind("wh-", 0), 0u) << "status " << c.status << ": '" << id << "'";
    EXPECT_TRUE(made.insert(id).second) << id << " given twice";
    if (c.status != 405) {  // the router's 405 is not logged; info lines are written every 100 ms
      EXPECT_TRUE(eventually(
          [&] {
            const auto log = orch.log();
            return log.find(mine) != std::string::npos && log.find(id) != std::string::npos;
          },
          std::chrono::seconds(3)))
          << "status " << c.status << " not logged with its id (" << mine << ", " << id << "):\n"
          << orch.log();
    }
  }
  // A Standard Webhooks request whose signature is wrong is refused even with the right shared
  // secret beside it: the first kind present decides (docs/webhook.md). On a fresh budget.
  OrchServer other(Env{{"REDIS_URL", ""}, {"TRUSTED_WEBHOOK_SECRET", kSecret}});
  auto forged = standard_webhooks_signed("not-the-key-of-24-bytes-or-more", "msg_first", body);
  forged.emplace_back("x-builder-secret", kSecret);
  EXPECT_EQ(other.post("/webhook/builder", body, forged).status, 401);
  EXPECT_EQ(other.post("/webhook/builder", body, standard_webhooks_signed(kKey, "msg_first", body)).status, 202);
}

TEST(WebhookRateLimit, XForwardedForIsNotTrusted) {
  // README: orch does not trust X-Forwarded-For; a client cannot get a fresh failure budget by
  // naming another address in it.
  OrchServer orch(Env{{"REDIS_URL", ""}, {"TRUSTED_WEBHOOK_SECRET", kSecret}, {"ORCH_AUTH_FAILURE_LIMIT", "3"}});
  const auto body = sample("publish.json");
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(
        orch.post("/webhook/builder", body, {{"x-builder-secret", "guess"}, {"X-Forwarded-For", "10.0.0." + std::to_string(i)}}).status,
        401);
  for (int i = 3; i < 6; ++i) {
    auto r = orch.post("/webhook/builder", body, {{"x-builder-secret", kSecret}, {"X-Forwarded-For", "10.0.0." + std::to_string(i)}});
    EXPECT_EQ(r.status, 429) << "X-Forwarded-For " << i;
  }
  EXPECT_EQ(orch.post("/webhook/builder", body, {{"x-builder-secret", kSecret}, {"X-Real-IP", "10.9.9.9"}}).status, 429);
}

TEST_F(WebhookEndpoint, TheDedupeRecordLastsTheDay) {
  // docs/webhook.md: SET ... NX EX 86400.
  const auto body = sample("publish.json");
  ASSERT_EQ(post(body, builder_signed(body, kSecret)).status, 202);
  auto keys = redis.cli({"--scan", "--pattern", "orch:dedupe:*"});
  ASSERT_FALSE(keys.empty());
  const auto key = keys.substr(0, keys.find('\n'));
  const long ttl = std::stol(redis.cli({"TTL", key}));
  EXPECT_GT(ttl, 86400 - 60) << key;
  EXPECT_LE(ttl, 86400);
}

TEST(WebhookOutbox, RedisDownAndTheOutboxFullIs503AndNothingIsStoredOfTheRefused) {
  // docs/webhook.md: 503 `unavailable` when Redis is down and the outbox is full.
  RedisServer redis;
  OrchServer orch(Env{{"REDIS_URL", redis.url()}, {"TRUSTED_WEBHOOK_SECRET", kSecret}, {"ORCH_OUTBOX_MAX", "2"}});
  ASSERT_TRUE(eventually([&] { return orch.get("/readyz").status == 200; }));
  redis.stop();
  std::vector<std::string> ids;
  for (int i = 0; i < 2; ++i) {
    auto body = with_revision(sample("publish.json"), 2000 + i).dump();
    auto res = orch.post("/webhook/builder", body, builder_signed(body, kSecret));
    ASSERT_EQ(res.status, 202) << res.body;
    ids.push_back(json::parse(res.body)["event_id"]);
  }
  auto third = with_revision(sample("publish.json"), 2002).dump();
  auto refused = orch.post("/webhook/builder", third, builder_signed(third, kSecret));
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(json::parse(refused.body)["error"], "unavailable");
  EXPECT_FALSE(refused.header("x-request-id").empty());
  redis.start();
  ASSERT_TRUE(eventually([&] { return redis.events().size() == 2; }, std::chrono::seconds(15))) << orch.log();
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // two more flush rounds: nothing else arrives
  auto events = redis.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["id"], ids[0]);
  EXPECT_EQ(events[1]["id"], ids[1]);
  // The refused delivery was not remembered as seen: sent again once Redis is back, it is accepted.
  auto again = orch.post("/webhook/builder", third, builder_signed(third, kSecret));
  EXPECT_EQ(again.status, 202) << again.body;
}

TEST(WebhookOutbox, RedisDownAndAStateDirWithNoRoomLeftIs503UntilThereIsRoomAgain) {
  // docs/webhook.md: 503 `unavailable` when Redis is down and the outbox cannot be written. The
  // outbox is opened when orch starts (an ORCH_STATE_DIR it cannot create it in stops the start:
  // AStateDirOrchCannotWrite... below), and a running orch holds it open: what it meets then is a
  // write that fails, here a full disk. (A write cut short on a full disk: tests/bus, Outbox.*.)
  ORCH_REQUIRE(geteuid() == 0) << "mounting a tmpfs needs root";
  RedisServer redis;
  TempDir state;
  // orch in a mount namespace of its own whose ORCH_STATE_DIR is a 64 KiB tmpfs: nobody else sees
  // the mount, and it goes when orch exits. The test reaches it through /proc/<pid>/root.
  OrchServer orch(Env{{"REDIS_URL", redis.url()}, {"TRUSTED_WEBHOOK_SECRET", kSecret}, {"ORCH_STATE_DIR", state.path()}}, {},
                  OrchServer::Launcher({"unshare", "--mount", "--propagation", "private", "sh", "-c",
                                        R"(mount -t tmpfs -o size=64k orch-state "$ORCH_STATE_DIR" && exec "$@")", "sh"}));
  ASSERT_TRUE(eventually([&] { return orch.get("/readyz").status == 200; })) << orch.log();
  const std::string seen_by_orch = "/proc/" + std::to_string(orch.process().pid()) + "/root" + state.path();
  ASSERT_TRUE(std::filesystem::exists(seen_by_orch + "/outbox.ndjson")) << orch.log();
  // The disk fills up: a filler takes every byte left.
  const std::string filler = seen_by_orch + "/filler";
  {
    const int fd = ::open(filler.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    const std::string block(4096, 'f');
    while (::write(fd, block.data(), block.size()) > 0) {}
    EXPECT_EQ(errno, ENOSPC);
    ::close(fd);
  }
  redis.stop();

  const auto body = with_revision(sample("publish.json"), 3000).dump();
  auto refused = orch.post("/webhook/builder", body, builder_signed(body, kSecret));
  EXPECT_EQ(refused.status, 503) << refused.body;
  const auto error = json::parse(refused.body);
  EXPECT_EQ(error["error"], "unavailable");
  EXPECT_NE(error["message"].get<std::string>().find("No space left on device"), std::string::npos) << refused.body;
  EXPECT_FALSE(refused.header("x-request-id").empty());
  EXPECT_EQ(orch.get("/healthz").status, 200);
  EXPECT_TRUE(orch.process().running());

  // Room again: the same delivery sent again is accepted (the refused one was not remembered),
  // and once Redis is back it is the one event stored.
  std::filesystem::remove(filler);
  auto accepted = orch.post("/webhook/builder", body, builder_signed(body, kSecret));
  ASSERT_EQ(accepted.status, 202) << accepted.body;
  const std::string event_id = json::parse(accepted.body)["event_id"];
  redis.start();
  ASSERT_TRUE(eventually([&] { return !redis.events().empty(); }, std::chrono::seconds(15))) << orch.log();
  const auto events = redis.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["id"], event_id);
  EXPECT_TRUE(eventually([&] { return read_file(seen_by_orch + "/outbox.ndjson").empty(); })) << "flushed";
}

TEST(WebhookOutbox, AStateDirOrchCannotWriteStopsItsStartNamingTheOutbox) {
  // docs/webhook.md: the outbox is created when orch serve starts; where it cannot be, orch does not
  // start: exit 73 naming the file. The suite runs as root, which no file mode stops: a read-only
  // mount of the state dir, in a mount namespace of orch's own, is what it cannot write.
  ORCH_REQUIRE(geteuid() == 0) << "mounting needs root";
  RedisServer redis;
  TempDir state;
  const Env env{{"REDIS_URL", redis.url()},
                {"TRUSTED_WEBHOOK_SECRET", kSecret},
                {"ORCH_STATE_DIR", state.path()},
                {"PORT", std::to_string(free_port())},
                {"BIND", "127.0.0.1"},
                {"ORCH_CONFIG", ""}};
  const auto r = run({"unshare", "--mount", "--propagation", "private", "sh", "-c",
                      R"(mount --bind "$ORCH_STATE_DIR" "$ORCH_STATE_DIR" && mount -o remount,bind,ro "$ORCH_STATE_DIR" && exec "$@")",
                      "sh", ORCH_BINARY, "serve"},
                     env, std::chrono::seconds(20));
  EXPECT_EQ(r.code, 73) << r.output;
  EXPECT_NE(r.output.find("outbox '" + state.path() + "/outbox.ndjson': Read-only file system"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(state.path() + "/outbox.ndjson"));
}

TEST(WebhookRedisUrl, APasswordAndADatabaseNumberAreUsed) {
  // README: REDIS_URL may carry a password and a database number (AUTH, SELECT).
  RedisServer redis;
  ASSERT_EQ(redis.cli({"CONFIG", "SET", "requirepass", "redis-pw-1"}), "OK\n");
  auto cli = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {"redis-cli", "--no-auth-warning", "-p", std::to_string(redis.port()), "-a", "redis-pw-1"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv).output;
  };
  const std::string at = "127.0.0.1:" + std::to_string(redis.port());
  {
    OrchServer orch(Env{{"REDIS_URL", "redis://:redis-pw-1@" + at + "/2"}, {"TRUSTED_WEBHOOK_SECRET", kSecret}});
    ASSERT_TRUE(eventually([&] { return orch.get("/readyz").status == 200; })) << orch.log();
    const auto body = sample("publish.json");
    ASSERT_EQ(orch.post("/webhook/builder", body, builder_signed(body, kSecret)).status, 202);
    EXPECT_EQ(cli({"-n", "2", "XLEN", "orch:events"}), "1\n");
    EXPECT_EQ(cli({"-n", "0", "XLEN", "orch:events"}), "0\n");
    EXPECT_EQ(orch.log().find("redis-pw-1"), std::string::npos) << "the password is never logged";
  }
  // A wrong password: Redis is unreachable to orch (not ready, events wait in the outbox), orch runs on.
  OrchServer wrong(Env{{"REDIS_URL", "redis://:not-the-pw@" + at + "/2"}, {"TRUSTED_WEBHOOK_SECRET", kSecret}});
  ASSERT_TRUE(eventually([&] { return wrong.get("/healthz").status == 200; })) << wrong.log();
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  EXPECT_EQ(wrong.get("/readyz").status, 503);
  EXPECT_EQ(json::parse(wrong.get("/health").body)["components"]["redis"]["connected"], false);
  const auto body = with_revision(sample("publish.json"), 77).dump();
  EXPECT_EQ(wrong.post("/webhook/builder", body, builder_signed(body, kSecret)).status, 202);
  EXPECT_TRUE(wrong.process().running());
  EXPECT_EQ(cli({"-n", "2", "XLEN", "orch:events"}), "1\n");
}

}  // namespace
