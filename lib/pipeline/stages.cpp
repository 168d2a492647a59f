#include "pipeline/stages.hpp"

#include "core/error.hpp"
#include "core/text.hpp"
#include "http/client.hpp"

namespace orch::pipeline {

static StageResult from_status(const http::Response& r, const std::string& what) {
  StageResult out;
  out.ok = r.status >= 200 && r.status < 300;
  if (!out.ok) {
    out.error = what + " answered " + std::to_string(r.status) + ": " + r.body.substr(0, 200);
    out.retryable = r.status >= 500 || r.status == 408 || r.status == 429;
  }
  return out;
}

static http::Response call(const std::string& method, const std::string& url, const json& body, Millis timeout,
                           std::vector<std::pair<std::string, std::string>> extra_headers = {}) {
  http::Request req;
  req.headers = std::move(extra_headers);
  req.method = method;
  req.url = url;
  req.body = to_text(body);
  req.timeout = timeout;
  req.headers.emplace_back("Content-Type", "application/json");
  req.headers.emplace_back("Accept", "application/json");
  return http::send(req);
}

std::string source_url(const Settings& s, const std::string& content_url) {
  if (content_url.rfind("http://", 0) == 0 || content_url.rfind("https://", 0) == 0) return content_url;
  std::string base = s.has("CONTENT_SOURCE_URL") ? s.str("CONTENT_SOURCE_URL") : s.str("WEB_API_URL");
  return base + content_url;
}

json docling_options(const Settings& s) {
  json options = json::object();
  if (s.has("DOCLING_OPTIONS")) {
    options = parse_json(s.str("DOCLING_OPTIONS"));
    if (!options.is_object()) throw ConfigError("DOCLING_OPTIONS must be a JSON object, e.g. {\"do_ocr\":false}");
  }
  options["to_formats"] = json::array({s.str("DOCLING_TO_FORMAT")});
  return options;
}

json docling_request(const Settings& s, const std::string& source) {
  const auto form = s.str("DOCLING_SOURCE_FORM");
  if (form == "http_sources") return {{"http_sources", {{{"url", source}}}}, {"options", docling_options(s)}};
  if (form != "sources") throw ConfigError("DOCLING_SOURCE_FORM must be sources (docling-serve 1.x) or http_sources (0.x)");
  return {{"sources", {{{"kind", "http"}, {"url", source}}}}, {"options", docling_options(s)}};
}

StageResult convert(const Settings& s, const std::string& source) {
  if (!s.has("DOCLING_API_URL")) return {false, false, "DOCLING_API_URL is not set", ""};
  const auto fmt = s.str("DOCLING_TO_FORMAT");
  json body = docling_request(s, source);
  std::vector<std::pair<std::string, std::string>> headers;
  if (s.has("DOCLING_API_KEY")) headers.emplace_back("X-Api-Key", s.str("DOCLING_API_KEY"));
  http::Response r;
  try {
    r = call("POST", s.str("DOCLING_API_URL") + s.str("DOCLING_CONVERT_PATH"), body, s.duration("DOCLING_TIMEOUT"), headers);
  } catch (const http::TransportError& e) {
    return {false, true, e.what(), "", true};
  }
  auto out = from_status(r, "docling");
  if (!out.ok) return out;
  auto j = parse_json(r.body);
  const std::string status = j.is_object() ? j.value("status", "success") : "";
  if (j.is_discarded() || !j.contains("document") || (status != "success" && status != "partial_success")) {
    out.ok = false;
    out.error = "docling conversion " + (status.empty() ? std::string("returned no document") : "status " + status);
    return out;
  }
  const auto& doc = j["document"];
  const std::string key = fmt + "_content";
  out.text = doc.contains(key) ? as_text(doc[key]) : "";
  return out;
}

static StageResult rag_call(const Settings& s, const std::string& method_key, const std::string& path_key, const json& doc) {
  if (!s.has("RAG_API_URL")) return {false, false, "RAG_API_URL is not set", ""};
  std::string path = s.str(path_key);
  if (auto p = path.find("{id}"); p != std::string::npos) path.replace(p, 4, http::url_encode(doc.value("id", "")));
  try {
    return from_status(call(s.str(method_key), s.str("RAG_API_URL") + path, doc, s.duration("RAG_TIMEOUT")), "rag");
  } catch (const http::TransportError& e) {
    return {false, true, e.what(), "", true};
  }
}

StageResult reindex(const Settings& s, const json& doc) { return rag_call(s, "RAG_REINDEX_METHOD", "RAG_REINDEX_PATH", doc); }
StageResult remove(const Settings& s, const json& doc) { return rag_call(s, "RAG_DELETE_METHOD", "RAG_DELETE_PATH", doc); }

}  // namespace orch::pipeline
