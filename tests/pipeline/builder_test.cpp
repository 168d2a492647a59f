// Builder's own APIs when Builder is not there or refuses (REAL-APIS.md): the content lookup of a
// payload-less webhook is retried when Builder cannot be reached; sync-test's write fails its
// stage, and a delete that fails says why (the test entry is then reported as left).
#include <gtest/gtest.h>

#include "config/settings.hpp"
#include "pipeline/builder.hpp"
#include "support/http_stub.hpp"
#include "support/process.hpp"

using namespace orch;
using namespace orch::test;

namespace builder_test {

Settings settings_with(const std::map<std::string, std::string>& env) {
  Settings s;
  s.load_env(env);
  return s;
}

TEST(BuilderApis, ALookupBuilderDoesNotAnswerIsRetriedWithoutTheKey) {
  auto s = settings_with({{"BUILDER_CONTENT_URL", refused_url()}, {"BUILDER_API_KEY", "content-key-SECRET"}});
  json entry;
  auto r = pipeline::latest_entry(s, "page", entry);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.retryable);
  EXPECT_TRUE(r.unreachable);
  EXPECT_EQ(r.error.rfind("builder content api: ", 0), 0u) << r.error;
  // The key is in the URL's query: the error names the URL without it (it once carried the key
  // into the job's error, the dead letter and the ingest.failed event).
  EXPECT_EQ(r.error.find("SECRET"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("/api/v3/content/page: "), std::string::npos) << r.error;
  EXPECT_TRUE(entry.is_null());
}

TEST(BuilderApis, ALookupAnsweredWithoutResultsFails) {
  HttpStub builder([](const ReceivedRequest&) { return StubAnswer{200, R"({"message":"maintenance"})"}; });
  auto s = settings_with({{"BUILDER_CONTENT_URL", builder.url()}, {"BUILDER_API_KEY", "content-key"}});
  json entry;
  auto r = pipeline::latest_entry(s, "page", entry);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "builder content api answered without results");
  EXPECT_TRUE(entry.is_null());
}

TEST(BuilderApis, AWriteBuilderDoesNotAnswerFailsTheStageForGood) {
  auto s = settings_with({{"BUILDER_WRITE_URL", refused_url()}, {"BUILDER_PRIVATE_KEY", "write-key"}});
  std::string error;
  EXPECT_FALSE(pipeline::builder_write(s, "page", json{{"name", "x"}, {"data", json::object()}}, error));
  EXPECT_EQ(error.rfind("final:builder write api: ", 0), 0u) << error;
}

TEST(BuilderApis, AFailedDeleteSaysWhy) {
  HttpStub builder([](const ReceivedRequest&) { return StubAnswer{404, R"({"message":"not found"})"}; });
  auto s = settings_with({{"BUILDER_WRITE_URL", builder.url("/api/v1/write")}, {"BUILDER_PRIVATE_KEY", "write-key"}});
  std::string error;
  EXPECT_FALSE(pipeline::builder_delete(s, "page", "entry-1", error));
  EXPECT_EQ(error, R"(builder write api answered the delete with 404: {"message":"not found"})");
  ASSERT_EQ(builder.requests().size(), 1u);
  EXPECT_EQ(builder.requests()[0].method, "DELETE");
  EXPECT_EQ(builder.requests()[0].path, "/api/v1/write/page/entry-1");

  auto gone = settings_with({{"BUILDER_WRITE_URL", refused_url()}, {"BUILDER_PRIVATE_KEY", "write-key"}});
  error.clear();
  EXPECT_FALSE(pipeline::builder_delete(gone, "page", "entry-1", error));
  EXPECT_EQ(error.rfind("builder write api: ", 0), 0u) << error;
}

}  // namespace builder_test
