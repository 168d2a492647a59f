#include "webhook/payload.hpp"

namespace orch::webhook {

json ContentChange::to_data() const {
  return {{"model", model}, {"id", id}, {"name", name}, {"url", url}, {"revision", revision}, {"operation", operation}};
}

static std::string text_of(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_number_integer()) return std::to_string(j.get<long long>());
  if (j.is_number()) return j.dump();
  return {};
}

static std::string url_of(const json& entry) {
  if (auto d = entry.find("data"); d != entry.end() && d->is_object()) {
    if (auto u = d->find("url"); u != d->end() && u->is_string()) return u->get<std::string>();
  }
  // Page models target a URL through the query [{property: "urlPath", value: "/about"}].
  if (auto q = entry.find("query"); q != entry.end() && q->is_array()) {
    for (const auto& cond : *q) {
      if (cond.is_object() && cond.value("property", "") == "urlPath") {
        const auto& v = cond.contains("value") ? cond["value"] : json();
        if (v.is_string()) return v.get<std::string>();
        if (v.is_array() && !v.empty() && v[0].is_string()) return v[0].get<std::string>();
      }
    }
  }
  return {};
}

static std::string type_for(const std::string& operation) {
  if (operation == "publish" || operation == "scheduledStart") return "content.published";
  if (operation == "unpublish" || operation == "archive" || operation == "scheduledEnd") return "content.unpublished";
  if (operation == "delete") return "content.deleted";
  return "content.changed";
}

ParsedPayload parse_builder_payload(const json& body) {
  if (!body.is_object()) return {std::nullopt, {"payload must be a JSON object"}};
  ContentChange c;
  c.operation = body.contains("operation") ? text_of(body["operation"]) : "";
  const json* entry = nullptr;
  for (const char* key : {"newValue", "previousValue"}) {
    auto it = body.find(key);
    if (it != body.end() && it->is_object()) {
      entry = &*it;
      break;
    }
  }
  if (!entry) return {std::nullopt, {"payload has neither newValue nor previousValue"}};
  c.id = entry->contains("id") ? text_of((*entry)["id"]) : "";
  if (c.id.empty()) return {std::nullopt, {"content entry has no id"}};
  c.model = body.contains("modelName") ? text_of(body["modelName"]) : "";
  if (c.model.empty() && entry->contains("modelName")) c.model = text_of((*entry)["modelName"]);
  if (c.model.empty()) return {std::nullopt, {"payload has no modelName"}};
  c.name = entry->contains("name") ? text_of((*entry)["name"]) : "";
  c.url = url_of(*entry);
  c.revision = entry->contains("lastUpdated") ? text_of((*entry)["lastUpdated"]) : "";
  if (c.revision.empty() && entry->contains("rev")) c.revision = text_of((*entry)["rev"]);
  // A delete carries only previousValue; with no operation field, a missing newValue means delete.
  if (c.operation.empty()) c.operation = body.contains("newValue") && body["newValue"].is_object() ? "publish" : "delete";
  c.type = type_for(c.operation);
  return {c, {}};
}

std::string dedupe_key(const std::string& webhook_id, const ContentChange& c) {
  if (!webhook_id.empty()) return "wh:" + webhook_id;
  if (c.revision.empty()) return {};  // nothing identifies a redelivery: accept every one
  return "content:" + c.model + ":" + c.id + ":" + c.revision + ":" + c.operation;
}

}  // namespace orch::webhook
