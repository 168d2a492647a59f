#pragma once
// The docling stage of the pipeline (SPEC §8) against docling-serve as it is (REAL-APIS.md): 1.x
// under /v1 with `sources` and `target: inbody`, or 0.x under /v1alpha with `http_sources`
// (DOCLING_API_VERSION); the synchronous call, or for long documents the async task with polling
// (DOCLING_MODE=async). Its answers are read as docling gives them: every `*_content` may be null,
// a sync wait that ran out is a 504, a failed task reads back as 404 "Task result not found".
#include <functional>
#include <string>

#include "config/settings.hpp"
#include "core/json.hpp"
#include "pipeline/stages.hpp"

namespace orch::pipeline {

// The formats whose text docling returns in `document.<fmt>_content`.
inline constexpr const char* kDoclingFormats[] = {"md", "text", "html", "json", "doctags"};

// The docling settings read together, checked once: ConfigError (exit 78) for an unknown
// DOCLING_API_VERSION, DOCLING_MODE, DOCLING_TO_FORMAT, a DOCLING_OPTIONS that is not a JSON object,
// or a deprecated DOCLING_SOURCE_FORM that contradicts DOCLING_API_VERSION.
struct DoclingApi {
  std::string base;          // DOCLING_API_URL
  std::string version;       // v1 | v1alpha
  bool async = false;        // DOCLING_MODE=async
  std::string format;        // DOCLING_TO_FORMAT
  json options;              // DOCLING_OPTIONS + to_formats
  std::string convert_path;  // /v1/convert/source, or the deprecated DOCLING_CONVERT_PATH
  static DoclingApi from(const Settings& s);
  std::string path(const std::string& rest) const { return base + "/" + version + rest; }
};

// The request body for one source URL.
json docling_request(const DoclingApi& api, const std::string& source_url);

// What the pipeline lends a conversion: whether orch is stopping (the async wait gives up and the
// job stays pending), and where task progress goes (ingest.progress).
struct DoclingHooks {
  std::function<bool()> stopping = [] { return false; };
  std::function<void(const json&)> progress = [](const json&) {};
};

StageResult convert(const Settings& s, const std::string& source_url, const DoclingHooks& hooks = {});

}  // namespace orch::pipeline
