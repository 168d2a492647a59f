#include "pipeline/builder.hpp"

#include "core/text.hpp"

namespace orch::pipeline {

using namespace std::chrono_literals;

StageResult latest_entry(const Settings& s, const std::string& model, json& entry) {
  if (!s.has("BUILDER_API_KEY")) return {false, false, "BUILDER_API_KEY is not set: a payload-less webhook cannot be looked up", ""};
  const std::string url = s.str("BUILDER_CONTENT_URL") + "/api/v3/content/" + http::url_encode(model) +
                          "?apiKey=" + http::url_encode(s.str("BUILDER_API_KEY")) + "&sort.lastUpdated=-1&limit=1&cachebust=true";
  http::Response r;
  try {
    r = json_call("GET", url, nullptr, 15s);
  } catch (const http::TransportError& e) {
    return {false, true, std::string("builder content api: ") + e.what(), "", true};  // without the query (http/client)
  }
  // The key is in the URL: never repeat the URL in an error.
  auto out = from_status(r, "builder content api");
  if (!out.ok) return out;
  auto j = parse_json(r.body);
  if (!j.is_object() || !j.contains("results") || !j["results"].is_array()) {
    out.ok = false;
    out.error = "builder content api answered without results";
    return out;
  }
  if (j["results"].empty() || !j["results"][0].is_object()) {
    out.ok = false;
    out.retryable = false;
    out.error = "builder content api has no published entry of model " + model;
    return out;
  }
  entry = j["results"][0];
  return out;
}

bool is_page_model(const Settings& s, const std::string& model) {
  std::string list = "," + s.str("BUILDER_PAGE_MODELS") + ",";
  std::erase_if(list, [](char c) { return c == ' ' || c == '\t'; });
  return list.find("," + model + ",") != std::string::npos;
}

json synctest_entry(const Settings& s, const std::string& model, const std::string& marker, const std::string& url) {
  const std::string name = "orch sync-test " + marker, text = "sync marker " + marker;
  json entry = {{"name", name}, {"published", "published"}};
  if (is_page_model(s, model)) {
    entry["query"] = json::array({{{"@type", "@builder.io/core:Query"}, {"property", "urlPath"}, {"operator", "is"}, {"value", url}}});
    entry["data"] = {{"title", name},
                     {"blocks", json::array({{{"@type", "@builder.io/sdk:Element"},
                                              {"component", {{"name", "Text"}, {"options", {{"text", text}}}}}}})}};
  } else {
    entry["data"] = {{"title", name}, {"url", url}, {"text", text}};
  }
  return entry;
}

json builder_write_body(const json& entry) {
  json body = {{"name", entry.value("name", "")}, {"published", "published"}, {"data", entry.value("data", json::object())}};
  if (entry.contains("query")) body["query"] = entry["query"];
  return body;
}

static Headers write_headers(const Settings& s) { return {{"Authorization", "Bearer " + s.str("BUILDER_PRIVATE_KEY")}}; }

std::optional<std::string> builder_write(const Settings& s, const std::string& model, const json& entry, std::string& error) {
  http::Response res;
  try {
    res = json_call("POST", s.str("BUILDER_WRITE_URL") + "/" + http::url_encode(model), builder_write_body(entry), 15s, write_headers(s));
  } catch (const http::TransportError& e) {
    // Builder is a stage's service: refusing or timing out fails the stage (exit 2), not orch.
    error = std::string("final:builder write api: ") + e.what();
    return std::nullopt;
  }
  auto j = parse_json(res.body);
  if (res.status < 200 || res.status >= 300 || !j.is_object() || !j.contains("id") || !j["id"].is_string()) {
    error = "final:builder write api answered " + std::to_string(res.status) + ": " + res.body.substr(0, 200);
    return std::nullopt;
  }
  return j["id"].get<std::string>();
}

bool builder_delete(const Settings& s, const std::string& model, const std::string& id, std::string& error) {
  try {
    auto res = json_call("DELETE", s.str("BUILDER_WRITE_URL") + "/" + http::url_encode(model) + "/" + http::url_encode(id), json::object(),
                         15s, write_headers(s));
    if (res.status >= 200 && res.status < 300) return true;
    error = "builder write api answered the delete with " + std::to_string(res.status) + ": " + res.body.substr(0, 200);
  } catch (const http::TransportError& e) {
    error = std::string("builder write api: ") + e.what();
  }
  return false;
}

}  // namespace orch::pipeline
