#pragma once
// `orch sync-test` / POST /sync-test (SPEC §8): publishes a change carrying a unique marker and
// times each stage until the marker is searchable in the RAG index and shown by the frontend.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bus/bus.hpp"
#include "config/settings.hpp"
#include "core/json.hpp"

namespace orch::pipeline {

struct SyncTestOptions {
  std::string model = "page";
  std::string marker;  // generated when empty
  Millis timeout{120'000};
  std::string orch_url;  // where the webhook is sent
};

struct StageReport {
  std::string name;  // webhook, bus, docling, rag, frontend
  bool ok = false;
  long long ms = 0;
  std::string error;
};

struct SyncTestResult {
  std::string marker;
  std::vector<StageReport> stages;
  // orch itself (orch serve) or Redis could not be reached: the test could not run. A stage's own
  // service refusing or timing out is a failed stage instead (SPEC §8).
  bool unreachable = false;
  int exit_code() const;     // 0 all passed, 2 a stage failed, 3 orch or Redis unreachable
  json to_json() const;
};

// `bus` is where orch publishes (read to see the event and the Docling ingest); `progress` is
// called as each stage ends.
SyncTestResult run_sync_test(const Settings& s, const SyncTestOptions& o, Bus& bus,
                             const std::function<void(const StageReport&)>& progress = {});

// The Builder.io publish payload sync-test sends (exposed for tests).
json synctest_payload(const std::string& model, const std::string& marker);

// Builder's Write API: POST {BUILDER_WRITE_URL}/<model> with `Authorization: Bearer
// BUILDER_PRIVATE_KEY` and {name, published: "published", data}; answers the new entry with its
// "id". Returns that id, or nullopt with `error` ("final:..." — not retried); unreachable throws.
json builder_write_body(const json& entry);
std::optional<std::string> builder_write(const Settings& s, const std::string& model, const json& entry, std::string& error);

}  // namespace orch::pipeline
