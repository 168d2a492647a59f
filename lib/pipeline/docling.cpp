#include "pipeline/docling.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "core/error.hpp"
#include "core/text.hpp"

namespace orch::pipeline {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

DoclingApi DoclingApi::from(const Settings& s) {
  DoclingApi api;
  api.base = s.str("DOCLING_API_URL");
  while (!api.base.empty() && api.base.back() == '/') api.base.pop_back();
  api.version = s.str("DOCLING_API_VERSION");
  if (api.version != "v1" && api.version != "v1alpha")
    throw ConfigError("DOCLING_API_VERSION must be v1 (docling-serve 1.x) or v1alpha (0.x), not '" + api.version + "'");
  // DOCLING_SOURCE_FORM came before DOCLING_API_VERSION: http_sources meant a 0.x server.
  if (const auto form = s.str("DOCLING_SOURCE_FORM"); !form.empty()) {
    if (form != "sources" && form != "http_sources")
      throw ConfigError("DOCLING_SOURCE_FORM must be sources or http_sources (deprecated: set DOCLING_API_VERSION instead)");
    const std::string implied = form == "http_sources" ? "v1alpha" : "v1";
    if (s.source("DOCLING_API_VERSION") != SettingSource::default_value && api.version != implied)
      throw ConfigError("DOCLING_SOURCE_FORM=" + form + " contradicts DOCLING_API_VERSION=" + api.version +
                        " (DOCLING_SOURCE_FORM is deprecated: leave it unset)");
    api.version = implied;
  }
  const auto mode = s.str("DOCLING_MODE");
  if (mode != "sync" && mode != "async") throw ConfigError("DOCLING_MODE must be sync or async, not '" + mode + "'");
  api.async = mode == "async";
  api.format = s.str("DOCLING_TO_FORMAT");
  if (std::none_of(std::begin(kDoclingFormats), std::end(kDoclingFormats), [&](const char* f) { return api.format == f; }))
    throw ConfigError("DOCLING_TO_FORMAT must be one of md, text, html, json, doctags (the formats docling-serve returns "
                      "as document.<format>_content), not '" + api.format + "'");
  api.options = json::object();
  if (s.has("DOCLING_OPTIONS")) {
    api.options = parse_json(s.str("DOCLING_OPTIONS"));
    if (!api.options.is_object()) throw ConfigError("DOCLING_OPTIONS must be a JSON object, e.g. {\"do_ocr\":false}");
  }
  // The text is read from <format>_content, so the format asked for is always DOCLING_TO_FORMAT.
  api.options["to_formats"] = json::array({api.format});
  api.convert_path = s.has("DOCLING_CONVERT_PATH") ? s.str("DOCLING_CONVERT_PATH") : "/" + api.version + "/convert/source";
  return api;
}

json docling_request(const DoclingApi& api, const std::string& source) {
  if (api.version == "v1alpha") return {{"http_sources", {{{"url", source}}}}, {"options", api.options}};
  // Without a target, a docling-serve with artifact storage answers a presigned URL and no document.
  return {{"sources", {{{"kind", "http"}, {"url", source}}}}, {"options", api.options}, {"target", {{"kind", "inbody"}}}};
}

namespace {

bool task_result_lost(const http::Response& r) {
  return r.status == 404 && r.body.find("Task result not found") != std::string::npos;
}

// A conversion answer (the sync call's, or the async task's result) → the text.
StageResult read_conversion(const DoclingApi& api, const http::Response& r) {
  auto out = from_status(r, "docling");
  if (r.status == 504) {
    out.error = "docling is reachable but its sync wait ran out (504, DOCLING_SERVE_MAX_SYNC_WAIT): " + r.body.substr(0, 160) +
                "; long documents belong on DOCLING_MODE=async";
  } else if (task_result_lost(r)) {
    // A failed task, or with several docling workers a result another worker holds: worth a retry.
    out.retryable = true;
    out.error = "docling lost the task's result (404 Task result not found: the conversion failed, or another worker has it)";
  }
  if (!out.ok) return out;
  auto j = parse_json(r.body);
  out.ok = false;
  if (!j.is_object()) {
    out.error = "docling answered something that is not a JSON object";
    return out;
  }
  if (!j.contains("document") || !j["document"].is_object()) {
    // The presigned_url target's answer: the document went to artifact storage, not to us.
    out.retryable = false;
    out.error = j.contains("num_converted") ? "docling stored the document behind a presigned URL instead of answering it "
                                              "(the server has artifact storage and the request had no inbody target)"
                                            : "docling's answer has no document";
    return out;
  }
  const std::string status = j.value("status", "");
  if (status != "success" && status != "partial_success") {
    out.error = "docling conversion status " + (status.empty() ? std::string("missing") : status);
    if (j.contains("errors") && !j["errors"].empty()) out.error += ": " + to_text(j["errors"]).substr(0, 200);
    return out;
  }
  const auto& content = j["document"].value(api.format + "_content", json(nullptr));
  // Every *_content may be null: no text is a failed conversion, never the text "null".
  if (content.is_null() || (content.is_string() && content.get<std::string>().empty())) {
    out.error = "docling returned no " + api.format + "_content (status " + status + ")";
    return out;
  }
  out.ok = true;
  out.text = as_text(content);
  return out;
}

Headers docling_headers(const Settings& s) {
  Headers h;
  if (s.has("DOCLING_API_KEY")) h.emplace_back("X-Api-Key", s.str("DOCLING_API_KEY"));
  return h;
}

// DOCLING_MODE=async: submit, poll with ?wait= until the task ends, fetch the result.
StageResult convert_async(const Settings& s, const DoclingApi& api, const std::string& source, const DoclingHooks& hooks) {
  const auto headers = docling_headers(s);
  const auto request_timeout = s.duration("DOCLING_TIMEOUT");
  auto submitted = json_call("POST", api.path("/convert/source/async"), docling_request(api, source), request_timeout, headers);
  auto out = from_status(submitted, "docling");
  if (!out.ok) return out;
  const auto task = parse_json(submitted.body);
  if (!task.is_object() || !task.contains("task_id") || !task["task_id"].is_string()) {
    out.ok = false;
    out.error = "docling's async answer has no task_id: " + submitted.body.substr(0, 160);
    return out;
  }
  const std::string id = task["task_id"];
  const auto wait = std::max<Millis>(Millis(0), s.duration("DOCLING_POLL_WAIT"));
  const auto deadline = SteadyClock::now() + s.duration("DOCLING_TASK_TIMEOUT");
  json last_seen;
  for (;;) {
    if (hooks.stopping()) return {false, true, "orch is stopping", "", false, true};
    if (SteadyClock::now() >= deadline) {
      out.ok = false;
      out.error = "docling task " + id + " not done within DOCLING_TASK_TIMEOUT (" + format_duration(s.duration("DOCLING_TASK_TIMEOUT")) + ")";
      return out;
    }
    const std::string wait_s = std::to_string(wait.count() / 1000) + "." + std::to_string(wait.count() % 1000 / 100);
    auto polled = json_call("GET", api.path("/status/poll/" + http::url_encode(id)) + "?wait=" + wait_s, nullptr, wait + request_timeout, headers);
    if (polled.status == 404) {
      // docling restarted, or the task expired: submit again on the next attempt.
      out = from_status(polled, "docling");
      out.retryable = true;
      out.error = "docling no longer knows task " + id + " (404 on its status)";
      return out;
    }
    if (auto bad = from_status(polled, "docling"); !bad.ok) return bad;
    auto status = parse_json(polled.body);
    if (!status.is_object()) status = json::object();
    const std::string state = status.value("task_status", "");
    json progress = {{"task_id", id}, {"task_status", state}, {"task_position", status.value("task_position", json(nullptr))},
                     {"task_meta", status.value("task_meta", json(nullptr))}};
    if (progress != last_seen) {
      hooks.progress(progress);
      last_seen = progress;
    }
    if (state == "success" || state == "partial_success")
      return read_conversion(api, json_call("GET", api.path("/result/" + http::url_encode(id)), nullptr, request_timeout, headers));
    if (state == "failure" || state == "skipped") {
      out.ok = false;
      out.retryable = true;
      out.error = "docling task " + id + " ended with status " + state;
      return out;
    }
    // A server that ignores ?wait= answers at once: do not spin on it.
    if (polled.elapsed < wait / 2) std::this_thread::sleep_for(std::min<Millis>(wait, 1000ms));
  }
}

}  // namespace

StageResult convert(const Settings& s, const std::string& source, const DoclingHooks& hooks) {
  if (!s.has("DOCLING_API_URL")) return {false, false, "DOCLING_API_URL is not set", ""};
  const auto api = DoclingApi::from(s);
  try {
    if (api.async) return convert_async(s, api, source, hooks);
    return read_conversion(
        api, json_call("POST", api.base + api.convert_path, docling_request(api, source), s.duration("DOCLING_TIMEOUT"), docling_headers(s)));
  } catch (const http::TransportError& e) {
    return {false, true, e.what(), "", true};
  }
}

}  // namespace orch::pipeline
