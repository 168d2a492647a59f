#pragma once
// The outbound calls of the content pipeline, shaped after the real services: the RAG service's
// re-index / delete (docling's conversion is in docling.hpp), and the HTTP call they share.
#include <string>
#include <utility>
#include <vector>

#include "config/settings.hpp"
#include "core/json.hpp"
#include "http/client.hpp"

namespace orch::pipeline {

struct StageResult {
  bool ok = false;
  bool retryable = true;  // 4xx answers (other than 408/429) are not worth retrying
  std::string error;
  std::string text;  // docling's converted document
  bool unreachable = false;  // no answer at all (connection refused, timeout)
  bool stopped = false;      // orch is stopping: the job is left pending, neither done nor failed
  Millis retry_after{0};     // the service's Retry-After (429, 503): the next attempt waits at least this
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// METHOD url with a JSON body (none for GET), JSON accepted; throws http::TransportError.
http::Response json_call(const std::string& method, const std::string& url, const json& body, Millis timeout, Headers headers = {});

// A 2xx is ok; anything else is an error naming `what`, retried when 5xx, 408 or 429.
StageResult from_status(const http::Response& r, const std::string& what);

// RAG: METHOD {RAG_API_URL}{RAG_REINDEX_PATH} {id, model, url, text}; delete likewise. With
// RAG_API_KEY every call (sync-test's query too) carries `Authorization: Bearer <key>`.
StageResult reindex(const Settings& s, const json& doc);
StageResult remove(const Settings& s, const json& doc);
Headers rag_headers(const Settings& s);

// Where docling fetches a content entry: CONTENT_SOURCE_URL (else WEB_API_URL) + the entry's url.
std::string source_url(const Settings& s, const std::string& content_url);

}  // namespace orch::pipeline
