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
