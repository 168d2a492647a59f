#include "content/payload.hpp"

#include <gtest/gtest.h>

#include <random>
#include <tuple>

#include "support/payload_oracle.hpp"
#include "support/process.hpp"

// Its own namespace: the unity build compiles this file with the rest of its folder.
namespace payload_test {

using namespace orch;
using namespace orch::content;

namespace {
json sample(const std::string& name) {
  return json::parse(orch::test::read_file(std::string(ORCH_TESTS_DIR) + "/webhook/payloads/" + name));
}
ParsedPayload parse(const json& body) { return parse_builder_payload(body.dump()); }
}  // namespace

TEST(Payload, BuilderPublish) {
  auto p = parse(sample("publish.json"));
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
  auto u = parse(sample("unpublish.json"));
  ASSERT_TRUE(u.change);
  EXPECT_EQ(u.change->type, "content.unpublished");
  auto d = parse(sample("delete.json"));
  ASSERT_TRUE(d.change);
  EXPECT_EQ(d.change->type, "content.deleted");
  EXPECT_EQ(d.change->id, "9a8b7c6d5e4f");
  EXPECT_EQ(d.change->model, "blog-article");
  EXPECT_EQ(d.change->url, "/blog/old-post");
}

TEST(Payload, EveryOperationMapsToTheDocumentedType) {
  // docs/webhook.md "Payload fields read": operation -> event type; without one, newValue decides.
  const std::vector<std::pair<std::string, std::string>> table = {
      {"publish", "content.published"},   {"scheduledStart", "content.published"}, {"unpublish", "content.unpublished"},
      {"archive", "content.unpublished"}, {"scheduledEnd", "content.unpublished"}, {"delete", "content.deleted"},
      {"save", "content.changed"},
  };
  const json entry = {{"id", "e1"}, {"name", "E"}, {"lastUpdated", 5}};
  for (const auto& [operation, type] : table) {
    auto p = parse({{"modelName", "page"}, {"operation", operation}, {"newValue", entry}, {"previousValue", entry}});
    ASSERT_TRUE(p.change) << operation << ": " << p.error.message;
    EXPECT_EQ(p.change->type, type) << operation;
    EXPECT_EQ(p.change->operation, operation);
  }
  auto with_new = parse({{"modelName", "page"}, {"newValue", entry}});
  ASSERT_TRUE(with_new.change) << with_new.error.message;
  EXPECT_EQ(with_new.change->type, "content.published");
  auto without_new = parse({{"modelName", "page"}, {"newValue", nullptr}, {"previousValue", entry}});
  ASSERT_TRUE(without_new.change) << without_new.error.message;
  EXPECT_EQ(without_new.change->type, "content.deleted");
  EXPECT_EQ(without_new.change->id, "e1");
}

TEST(Payload, UrlFromTargetingQuery) {
  auto p = parse(sample("page_with_query_url.json"));
  ASSERT_TRUE(p.change);
  EXPECT_EQ(p.change->url, "/pricing");
}

TEST(Payload, UnknownOperationIsAChange) {
  auto body = sample("publish.json");
  body["operation"] = "save";
  EXPECT_EQ(parse(body).change->type, "content.changed");
}

TEST(Payload, TheLegacyOldValueShape) {
  auto p = parse_builder_payload(R"({"newValue": null, "oldValue": {"id": "gone", "modelId": "m1", "lastUpdated": 3}})", "blog");
  ASSERT_TRUE(p.change) << p.error.message;
  EXPECT_EQ(p.change->id, "gone");
  EXPECT_EQ(p.change->model, "blog");  // the URL's ?model= before the entry's modelId
  EXPECT_EQ(p.change->type, "content.deleted");
  auto q = parse_builder_payload(R"({"newValue": {"id": "new", "modelId": "m1"}, "oldValue": {"id": "new"}})");
  ASSERT_TRUE(q.change);
  EXPECT_EQ(q.change->model, "m1");
  EXPECT_EQ(q.change->type, "content.published");
}

TEST(Payload, ADeliveryWithoutAnEntryIsAnUnresolvedChange) {
  for (const std::string body : {"", "{}", R"({"operation": "publish"})"}) {
    auto p = parse_builder_payload(body, "page");
    ASSERT_TRUE(p.change) << body << ": " << p.error.message;
    EXPECT_TRUE(p.change->unresolved);
    EXPECT_EQ(p.change->model, "page");
    EXPECT_EQ(p.change->id, "");
    EXPECT_EQ(p.change->to_data()["unresolved"], true);
  }
  EXPECT_EQ(parse_builder_payload("{}", "page").change->type, "content.changed");
  EXPECT_EQ(parse_builder_payload(R"({"operation":"publish","modelName":"blog"})", "page").change->model, "blog");
  EXPECT_FALSE(parse_builder_payload("{}").change);  // no model anywhere
  EXPECT_FALSE(parse(sample("publish.json")).change->to_data().contains("unresolved"));
}

TEST(Payload, RejectsWhatCannotBeUsed) {
  EXPECT_FALSE(parse(json::array()).change);
  EXPECT_FALSE(parse(json{{"modelName", "page"}, {"newValue", {{"name", "x"}}}}).change);
  EXPECT_FALSE(parse(json{{"newValue", {{"id", "x"}}}}).change);
  auto p = parse(json{{"newValue", {{"id", "x"}}}});
  EXPECT_NE(p.error.message.find("modelName"), std::string::npos);
}

TEST(Payload, DedupeKey) {
  auto c = *parse(sample("publish.json")).change;
  EXPECT_EQ(dedupe_key("msg_1", c), "wh:msg_1");
  EXPECT_EQ(dedupe_key("", c), "content:page:5f0c1e9d2b3a4c5d:1732470000000:publish");
  c.revision.clear();
  EXPECT_EQ(dedupe_key("", c), "");
}

TEST(Payload, NotJsonIsToldApartFromAnUnusableObject) {
  auto bad = parse_builder_payload(R"({"modelName": "page", "newValue": {"id": "x"})");  // cut short
  EXPECT_TRUE(bad.not_json);
  EXPECT_FALSE(bad.change);
  EXPECT_TRUE(parse_builder_payload("{\"a\": \"\xff\"}").not_json);  // not UTF-8
  auto array = parse_builder_payload("[1, 2]");
  EXPECT_FALSE(array.not_json);
  EXPECT_FALSE(array.change);
}

TEST(Payload, ALargeEntryIsReadForItsFieldsOnly) {
  // Builder sends the whole entry: thousands of blocks around the few fields read.
  auto body = sample("publish.json");
  for (int i = 0; i < 5000; ++i)
    body["newValue"]["data"]["blocks"].push_back({{"@type", "@builder.io/sdk:Element"}, {"id", "b" + std::to_string(i)},
                                                  {"component", {{"name", "Text"}, {"options", {{"text", "<p>x</p>"}}}}}});
  auto p = parse(body);
  ASSERT_TRUE(p.change) << p.error.message;
  EXPECT_EQ(p.change->id, "5f0c1e9d2b3a4c5d");
  EXPECT_EQ(p.change->url, "/about");
}

TEST(Payload, AKeyGivenTwiceCountsWithItsLastValue) {
  auto p = parse_builder_payload(
      R"({"modelName": "page", "newValue": {"id": "first", "data": {"url": "/a"}}, "newValue": {"id": "second", "data": {"title": "t"}}})");
  ASSERT_TRUE(p.change);
  EXPECT_EQ(p.change->id, "second");
  EXPECT_EQ(p.change->url, "");
  auto q = parse_builder_payload(
      R"({"modelName": "page", "newValue": {"id": "gone"}, "previousValue": {"id": "old"}, "newValue": null})");
  ASSERT_TRUE(q.change);
  EXPECT_EQ(q.change->id, "old");
  EXPECT_EQ(q.change->operation, "delete");
}

TEST(Payload, StreamingReaderAgreesWithTheDocumentReadingOnMutatedPayloads) {
  const std::vector<json> odd_values = {nullptr, true, 0, -7, 42u, 1.5, 1e20, "", "text", "/path",
                                        json::array(), json::object(), json::array({"/first", "/second"}),
                                        json::array({1, "/x"}), json{{"url", "/nested"}}};
  const std::vector<std::vector<std::string>> places = {
      {"operation"}, {"modelName"}, {"newValue"}, {"previousValue"}, {"newValue", "id"}, {"newValue", "name"},
      {"newValue", "modelName"}, {"newValue", "lastUpdated"}, {"newValue", "rev"}, {"newValue", "data"},
      {"newValue", "data", "url"}, {"newValue", "query"}, {"previousValue", "id"}, {"previousValue", "data", "url"},
      {"oldValue"}, {"oldValue", "id"}, {"newValue", "modelId"},
      {"newValue", "query", "0", "property"}, {"newValue", "query", "0", "value"}, {"newValue", "query", "0", "extra"}};
  std::vector<json> seeds;
  for (const char* f : {"publish.json", "unpublish.json", "delete.json", "page_with_query_url.json"}) seeds.push_back(sample(f));
  std::mt19937 rng(20261127);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  for (int round = 0; round < 3000; ++round) {
    json body = seeds[pick(seeds.size())];
    for (int m = 0, n = 1 + static_cast<int>(pick(3)); m < n; ++m) {
      const auto& path = places[pick(places.size())];
      json* at = &body;
      for (size_t i = 0; at && i + 1 < path.size(); ++i) {
        if (at->is_object()) at = &(*at)[path[i]];
        else if (at->is_array() && path[i] == "0" && !at->empty()) at = &(*at)[0];
        else if (at->is_null() && path[i] == "0") at = &(*at)[0];
        else at = nullptr;
      }
      if (!at || !(at->is_object() || at->is_null())) continue;
      if (pick(4) == 0 && at->is_object()) at->erase(path.back());
      else (*at)[path.back()] = odd_values[pick(odd_values.size())];
    }
    const auto want = orch::test::payload_oracle(body);
    const auto got = parse(body);
    ASSERT_EQ(bool(got.change), bool(want.change)) << body.dump() << "\n" << got.error.message << " / " << want.error.message;
    if (!want.change) {
      EXPECT_EQ(got.error.message, want.error.message) << body.dump();
      continue;
    }
    const auto &g = *got.change, &w = *want.change;
    EXPECT_EQ(std::tie(g.type, g.model, g.id, g.name, g.url, g.revision, g.operation, g.unresolved),
              std::tie(w.type, w.model, w.id, w.name, w.url, w.revision, w.operation, w.unresolved))
        << body.dump();
  }
}

}  // namespace payload_test
