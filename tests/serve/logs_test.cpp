// orch serve's logs (README "Logs"): ORCH_LOG_FORMAT=json writes one JSON object per line, to
// stderr and to ORCH_LOG_FILE; no secret reaches either, whatever is logged.
#include <gtest/gtest.h>

#include <sstream>

#include "core/json.hpp"
#include "support/orch_server.hpp"
#include "support/signing.hpp"

using namespace orch;
using namespace orch::test;

namespace {

TEST(Logs, JsonLinesToStderrAndTheFileAndNoSecretInEither) {
  const std::string secret = "log-test-webhook-secret-0123", token = "log-test-api-token-0123456", redis_pw = "log-test-redis-pw";
  TempDir d;
  // Redis is unreachable (nothing listens there): orch logs about it, with a URL holding a password.
  OrchServer orch({{"REDIS_URL", "redis://:" + redis_pw + "@127.0.0.1:" + std::to_string(refused_port()) + "/1"},
                   {"TRUSTED_WEBHOOK_SECRET", secret},
                   {"ORCH_API_TOKEN", token},
                   {"ORCH_LOG_FORMAT", "json"},
                   {"ORCH_LOG_FILE", d.file("orch.log")},
                   {"DOCKER_HOST", "unix:///nonexistent.sock"}});
  const std::string body = R"({"modelName":"page","operation":"publish","newValue":{"id":"log-1","lastUpdated":1}})";
  EXPECT_EQ(orch.post("/webhook/builder", body, builder_signed(body, secret)).status, 202);
  EXPECT_EQ(orch.post("/webhook/builder", body, {{"x-builder-secret", secret + "x"}}).status, 401);
  EXPECT_EQ(orch.post("/heal", "{}", {{"Authorization", "Bearer " + token + "x"}}).status, 401);
  EXPECT_EQ(orch.stop(), 0);

  for (const auto& [name, text] : {std::pair{"stderr", orch.log()}, std::pair{"ORCH_LOG_FILE", read_file(d.file("orch.log"))}}) {
    std::istringstream in(text);
    int lines = 0;
    bool accepted = false;
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      ++lines;
      auto j = json::parse(line, nullptr, false);
      ASSERT_TRUE(j.is_object()) << name << ": not a JSON line: " << line;
      EXPECT_TRUE(j.contains("time") && j.contains("level")) << line;
      accepted = accepted || line.find("event content.published") != std::string::npos;
    }
    EXPECT_GT(lines, 3) << name;
    EXPECT_TRUE(accepted) << name << ":\n" << text;
    for (const auto& s : {secret, token, redis_pw}) EXPECT_EQ(text.find(s), std::string::npos) << name << " holds " << s << ":\n" << text;
  }
}

}  // namespace
