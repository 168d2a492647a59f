#pragma once
// The straightforward reading of a Builder payload from a parsed document: the oracle that the
// streaming reader (content::parse_builder_payload) must agree with, in tests/webhook and in the
// payload fuzz harness. (A non-string "property" in a query condition simply does not match.)
#include <string>

#include "content/payload.hpp"

namespace orch::test {

inline std::string oracle_text_of(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_number_integer()) return std::to_string(j.get<long long>());
  if (j.is_number()) return j.dump();
  return {};
}

// docs/webhook.md: which operation is which content.* event.
inline std::string oracle_type_of(const std::string& operation) {
  if (operation == "publish" || operation == "scheduledStart") return "content.published";
  if (operation == "unpublish" || operation == "archive" || operation == "scheduledEnd") return "content.unpublished";
  if (operation == "delete") return "content.deleted";
  return "content.changed";
}

inline content::ParsedPayload payload_oracle(const json& body, const std::string& fallback_model = "") {
  using content::ContentChange;
  if (!body.is_object()) return {std::nullopt, {"payload must be a JSON object"}};
  const json* entry = nullptr;
  for (const char* key : {"newValue", "previousValue", "oldValue"})
    if (auto it = body.find(key); !entry && it != body.end() && it->is_object()) entry = &*it;
  auto field = [](const json& o, const char* k) { return o.contains(k) ? oracle_text_of(o[k]) : std::string(); };
  ContentChange c;
  c.operation = field(body, "operation");
  if (!entry) {
    c.model = field(body, "modelName");
    if (c.model.empty()) c.model = fallback_model;
    if (c.model.empty()) return {std::nullopt, {"payload has no content entry and no modelName: add ?model=<model> to the webhook URL"}};
    c.unresolved = true;
    c.type = oracle_type_of(c.operation);
    return {c, {}};
  }
  c.id = field(*entry, "id");
  if (c.id.empty()) return {std::nullopt, {"content entry has no id"}};
  c.model = field(body, "modelName");
  if (c.model.empty()) c.model = field(*entry, "modelName");
  if (c.model.empty()) c.model = fallback_model;
  if (c.model.empty()) c.model = field(*entry, "modelId");
  if (c.model.empty()) return {std::nullopt, {"payload has no modelName: add ?model=<model> to the webhook URL"}};
  c.name = field(*entry, "name");
  if (auto d = entry->find("data"); d != entry->end() && d->is_object() && d->contains("url") && (*d)["url"].is_string())
    c.url = (*d)["url"];
  else if (auto q = entry->find("query"); q != entry->end() && q->is_array())
    for (const auto& cond : *q) {
      if (!cond.is_object() || !cond.contains("property") || cond["property"] != "urlPath" || !cond.contains("value")) continue;
      const auto& v = cond["value"];
      if (v.is_string()) c.url = v;
      else if (v.is_array() && !v.empty() && v[0].is_string()) c.url = v[0];
      else continue;
      break;
    }
  c.revision = field(*entry, "lastUpdated");
  if (c.revision.empty()) c.revision = field(*entry, "rev");
  if (c.operation.empty()) c.operation = body.contains("newValue") && body["newValue"].is_object() ? "publish" : "delete";
  c.type = oracle_type_of(c.operation);
  return {c, {}};
}

}  // namespace orch::test
