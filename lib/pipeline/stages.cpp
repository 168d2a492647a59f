#include "pipeline/stages.hpp"

#include "core/text.hpp"
#include "http/client.hpp"

namespace orch::pipeline {

StageResult from_status(const http::Response& r, const std::string& what) {
  StageResult out;
  out.ok = r.status >= 200 && r.status < 300;
  if (!out.ok) {
    out.error = what + " answered " + std::to_string(r.status) + ": " + r.body.substr(0, 200);
    out.retryable = r.status >= 500 || r.status == 408 || r.status == 429;
    out.retry_after = r.retry_after();
  }
  return out;
}

http::Response json_call(const std::string& method, const std::string& url, const json& body, Millis timeout, Headers headers) {
  http::Request req;
  req.headers = std::move(headers);
  req.method = method;
  req.url = url;
  req.timeout = timeout;
  if (method != "GET") {
    req.body = to_text(body);
    req.headers.emplace_back("Content-Type", "application/json");
  }
  req.headers.emplace_back("Accept", "application/json");
  return http::send(req);
}

std::string source_url(const Settings& s, const std::string& content_url) {
  if (content_url.rfind("http://", 0) == 0 || content_url.rfind("https://", 0) == 0) return content_url;
  std::string base = s.has("CONTENT_SOURCE_URL") ? s.str("CONTENT_SOURCE_URL") : s.str("WEB_API_URL");
  return base + content_url;
}

Headers rag_headers(const Settings& s) {
  if (!s.has("RAG_API_KEY")) return {};
  return {{"Authorization", "Bearer " + s.str("RAG_API_KEY")}};
}

static StageResult rag_call(const Settings& s, const std::string& method_key, const std::string& path_key, const json& doc) {
  if (!s.has("RAG_API_URL")) return {false, false, "RAG_API_URL is not set", ""};
  std::string path = s.str(path_key);
  if (auto p = path.find("{id}"); p != std::string::npos) path.replace(p, 4, http::url_encode(doc.value("id", "")));
  try {
    return from_status(json_call(s.str(method_key), s.str("RAG_API_URL") + path, doc, s.duration("RAG_TIMEOUT"), rag_headers(s)), "rag");
  } catch (const http::TransportError& e) {
    return {false, true, e.what(), "", true};
  }
}

StageResult reindex(const Settings& s, const json& doc) { return rag_call(s, "RAG_REINDEX_METHOD", "RAG_REINDEX_PATH", doc); }
StageResult remove(const Settings& s, const json& doc) { return rag_call(s, "RAG_DELETE_METHOD", "RAG_DELETE_PATH", doc); }

}  // namespace orch::pipeline
