// The control endpoints of a real `orch serve` (no Docker, in-process bus): bad bodies get 400 with
// the field named and change nothing; per-client rate limits.
#include <gtest/gtest.h>

#include "core/json.hpp"
#include "support/orch_server.hpp"

using namespace orch;
using namespace orch::test;

namespace {

using Env = std::map<std::string, std::string>;
const std::vector<std::pair<std::string, std::string>> kJson = {{"Content-Type", "application/json"}};

TEST(ControlEndpoints, FieldsOfTheWrongTypeAre400WithTheFieldNamed) {
  // DOCKER_HOST points nowhere: had any request got past its checks, it would answer 503.
  OrchServer orch(Env{{"REDIS_URL", ""}, {"DOCKER_HOST", "tcp://127.0.0.1:1"}});
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"/heal", R"({"dry_run":"yes"})", "dry_run must be true or false"},
      {"/heal", R"({"reset":""})", "reset must be a container name"},
      {"/heal", R"({"reset":["web"]})", "reset must be a string"},
      {"/diagnose", R"({"services":"web"})", "services must be an array of strings"},
      {"/diagnose", R"({"actions":["health",3]})", "actions must be an array of strings"},
      {"/diagnose", R"({"tail":"100"})", "tail must be an integer"},
      {"/rollback", R"({"service":"web","dry_run":1})", "dry_run must be true or false"},
      {"/rollback", R"({"repo":"/srv/web","steps":"2"})", "steps must be an integer"},
      {"/rollback", R"({"clear":true})", "clear must be a string"},
      {"/sync-test", R"({"model":5})", "model must be a string"},
      {"/sync-test", R"({"timeout":"soon"})", ""},  // parse_duration's own message
      {"/sync-test", R"({"timeout":"99999999999999999999"})", "duration '99999999999999999999' is too long"},
  };
  for (const auto& [path, body, message] : cases) {
    auto res = orch.post(path, body, kJson);
    EXPECT_EQ(res.status, 400) << path << " " << body << ": " << res.body;
    auto j = json::parse(res.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << res.body;
    EXPECT_EQ(j["error"], "bad_request") << res.body;
    if (!message.empty()) {
      EXPECT_EQ(j["message"], message) << path << " " << body;
    }
  }
  EXPECT_EQ(orch.get("/healthz").status, 200);
  EXPECT_EQ(orch.log().find("handler failed"), std::string::npos) << orch.log();
}

TEST(ControlEndpoints, RequestsPerClientAreLimitedByOrchRateLimit) {
  OrchServer orch(Env{{"REDIS_URL", ""}, {"ORCH_RATE_LIMIT", "2"}});
  const std::string body = R"({"services":[],"actions":["health"]})";
  for (int i = 0; i < 2; ++i) EXPECT_NE(orch.post("/diagnose", body, kJson).status, 429) << i;
  auto limited = orch.post("/diagnose", body, kJson);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.header("retry-after"), "30");
  EXPECT_EQ(orch.post("/heal", "{}", kJson).status, 429) << "one budget per client for all control endpoints";
  EXPECT_EQ(orch.get("/health").status, 200);
}

}  // namespace

TEST(ServeStart, ASecondOrchServeOnTheSamePortFailsWithAddressInUse) {
  // httplib's default socket options add SO_REUSEPORT: the second instance used to start and the
  // kernel split the requests between the two.
  OrchServer first(Env{{"REDIS_URL", ""}, {"DOCKER_HOST", "unix:///nonexistent.sock"}});
  TempDir state;
  auto second = run({ORCH_BINARY, "serve"}, {{"PORT", std::to_string(first.port())}, {"BIND", "127.0.0.1"}, {"REDIS_URL", ""},
                                             {"ORCH_CONFIG", ""}, {"ORCH_STATE_DIR", state.path()},
                                             {"DOCKER_HOST", "unix:///nonexistent.sock"}},
                    std::chrono::seconds(20));
  EXPECT_EQ(second.code, 78) << second.output;
  EXPECT_NE(second.output.find("address already in use"), std::string::npos) << second.output;
  for (int i = 0; i < 20; ++i) EXPECT_EQ(first.get("/healthz").status, 200);
}

TEST(ControlEndpoints, JsonNestedTooDeepIs400AndTheDaemonStaysUp) {
  // 150,000 levels in 300 KB (under the 1 MiB body limit): a recursive copy of such a document
  // overflowed a worker's stack and killed orch serve.
  const std::string deep = std::string(150'000, '[') + std::string(150'000, ']');
  const std::string token = "control-token-0123456789";
  OrchServer orch(Env{{"REDIS_URL", ""}, {"DOCKER_HOST", "tcp://127.0.0.1:1"}, {"ORCH_API_TOKEN", token},
                      {"TRUSTED_WEBHOOK_SECRET", "control-webhook-secret-1"}});
  const std::vector<std::pair<std::string, std::string>> auth = {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + token}};
  for (const std::string path : {"/diagnose", "/heal", "/rollback", "/sync-test"}) {
    auto res = orch.post(path, "{\"services\":" + deep + "}", auth);
    EXPECT_EQ(res.status, 400) << path << ": " << res.body.substr(0, 200);
    EXPECT_NE(res.body.find("nests deeper than 256 levels"), std::string::npos) << res.body.substr(0, 200);
  }
  auto webhook = orch.post("/webhook/builder", "{\"newValue\":{\"data\":" + deep + "}}", {{"x-builder-secret", "control-webhook-secret-1"}});
  EXPECT_EQ(webhook.status, 400) << webhook.body.substr(0, 200);
  EXPECT_NE(webhook.body.find("nests deeper"), std::string::npos) << webhook.body.substr(0, 200);
  // 256 levels are still read (and refused for what they are, not for their depth).
  auto fine = orch.post("/diagnose", std::string(255, '[') + std::string(255, ']'), auth);
  EXPECT_EQ(fine.status, 400);
  EXPECT_EQ(fine.body.find("nests deeper"), std::string::npos) << fine.body;
  EXPECT_EQ(orch.get("/healthz").status, 200);
  EXPECT_TRUE(orch.process().running());
}

TEST(ControlEndpoints, TheBearerSchemeIsCaseInsensitive) {
  // RFC 7235: "bearer", "BEARER" and "Bearer" name the same scheme; extra spaces are allowed.
  const std::string token = "bearer-case-token-0123";
  OrchServer orch(Env{{"REDIS_URL", ""}, {"DOCKER_HOST", "tcp://127.0.0.1:1"}, {"ORCH_API_TOKEN", token}});
  for (const std::string scheme : {"Bearer ", "bearer ", "BEARER ", "bEaReR   "})
    EXPECT_NE(orch.post("/heal", R"({"dry_run":true})", {{"Content-Type", "application/json"}, {"Authorization", scheme + token}}).status, 401)
        << scheme;
  for (const std::string& wrong : {"Basic " + token, "Bearer" + token, "Bearer " + token + "x", token, std::string("Bearer ")})
    EXPECT_EQ(orch.post("/heal", R"({"dry_run":true})", {{"Content-Type", "application/json"}, {"Authorization", wrong}}).status, 401)
        << wrong;
}
