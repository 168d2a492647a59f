#include "webhook/payload.hpp"

#include <gtest/gtest.h>

#include "support/process.hpp"

using namespace orch;
using namespace orch::webhook;

namespace {
json sample(const std::string& name) {
  return json::parse(orch::test::read_file(std::string(ORCH_TESTS_DIR) + "/webhook/payloads/" + name));
}
}  // namespace

TEST(Payload, BuilderPublish) {
  auto p = parse_builder_payload(sample("publish.json"));
  ASSERT_TRUE(p.change) << p.error.message;
  EXPECT_EQ(p.change->type, "content.published");
  EXPECT_EQ(p.change->model, "page");
  EXPECT_EQ(p.change->id, "5f0c1e9d2b3a4c5d");
  EXPECT_EQ(p.change->name, "About us");
  EXPECT_EQ(p.change->url, "/about");
  EXPECT_EQ(p.change->revision, "1732470000000");
  EXPECT_EQ(p.change->operation, "publish");
  auto d = p.change->to_data();
  for (const char* k : {"model", "id", "name", "url", "revision", "operation"}) EXPECT_TRUE(d.contains(k)) << k;
}

TEST(Payload, BuilderUnpublishAndDelete) {
  auto u = parse_builder_payload(sample("unpublish.json"));
  ASSERT_TRUE(u.change);
  EXPECT_EQ(u.change->type, "content.unpublished");
  auto d = parse_builder_payload(sample("delete.json"));
  ASSERT_TRUE(d.change);
  EXPECT_EQ(d.change->type, "content.deleted");
  EXPECT_EQ(d.change->id, "9a8b7c6d5e4f");
  EXPECT_EQ(d.change->model, "blog-article");
  EXPECT_EQ(d.change->url, "/blog/old-post");
}

TEST(Payload, UrlFromTargetingQuery) {
  auto p = parse_builder_payload(sample("page_with_query_url.json"));
  ASSERT_TRUE(p.change);
  EXPECT_EQ(p.change->url, "/pricing");
}

TEST(Payload, UnknownOperationIsAChange) {
  auto body = sample("publish.json");
  body["operation"] = "save";
  EXPECT_EQ(parse_builder_payload(body).change->type, "content.changed");
}

TEST(Payload, RejectsWhatCannotBeUsed) {
  EXPECT_FALSE(parse_builder_payload(json::array()).change);
  EXPECT_FALSE(parse_builder_payload(json{{"modelName", "page"}}).change);
  EXPECT_FALSE(parse_builder_payload(json{{"modelName", "page"}, {"newValue", {{"name", "x"}}}}).change);
  EXPECT_FALSE(parse_builder_payload(json{{"newValue", {{"id", "x"}}}}).change);
  auto p = parse_builder_payload(json{{"newValue", {{"id", "x"}}}});
  EXPECT_NE(p.error.message.find("modelName"), std::string::npos);
}

TEST(Payload, DedupeKey) {
  auto c = *parse_builder_payload(sample("publish.json")).change;
  EXPECT_EQ(dedupe_key("msg_1", c), "wh:msg_1");
  EXPECT_EQ(dedupe_key("", c), "content:page:5f0c1e9d2b3a4c5d:1732470000000:publish");
  c.revision.clear();
  EXPECT_EQ(dedupe_key("", c), "");
}
