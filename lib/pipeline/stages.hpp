#pragma once
// The two outbound calls of the content pipeline, shaped after the real services:
// docling-serve's POST /v1/convert/source, and the RAG service's re-index / delete.
#include <string>

#include "config/settings.hpp"
#include "core/json.hpp"

namespace orch::pipeline {

struct StageResult {
  bool ok = false;
  bool retryable = true;  // 4xx answers (other than 408/429) are not worth retrying
  std::string error;
  std::string text;  // docling's converted document
  bool unreachable = false;  // no answer at all (connection refused, timeout)
};

// docling-serve: {"sources":[{"kind":"http","url":...}],"options":{"to_formats":[fmt]}} →
// {"document":{"md_content"|"text_content"|"html_content"|"json_content":...},"status":"success"|...}.
// With DOCLING_API_KEY the call carries `X-Api-Key` (docling-serve's DOCLING_SERVE_API_KEY).
StageResult convert(const Settings& s, const std::string& source_url);

// The request body: DOCLING_SOURCE_FORM `sources` (1.x) or `http_sources` ({"http_sources":[{"url"}]},
// 0.x); options are DOCLING_OPTIONS (a JSON object) plus to_formats. Bad settings: ConfigError.
json docling_request(const Settings& s, const std::string& source_url);

// RAG: METHOD {RAG_API_URL}{RAG_REINDEX_PATH} {id, model, url, text}; delete likewise.
StageResult reindex(const Settings& s, const json& doc);
StageResult remove(const Settings& s, const json& doc);

// Where docling fetches a content entry: CONTENT_SOURCE_URL (else WEB_API_URL) + the entry's url.
std::string source_url(const Settings& s, const std::string& content_url);

}  // namespace orch::pipeline
