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
  bool keep = false;     // leave the Builder test entry in place (debugging) instead of deleting it
  // Through Builder's Write API (`--via builder`, needs BUILDER_PRIVATE_KEY) instead of a signed
  // webhook: only when asked, never because a key happens to be set.
  bool via_builder = false;
  // What orch serve said of its pipeline; "" = on (or not known). Set: the test fails at once with
  // it, instead of waiting out the timeout for stages nothing runs.
  std::string pipeline_off;
  // Asked while a stage waits: true stops the test there (the stage fails as "cancelled").
  std::function<bool()> cancelled;
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
  // The entry written through Builder's Write API (BUILDER_PRIVATE_KEY), and what became of it
  // afterwards: deleted (the default, also after a failed stage), kept (--keep), or the error of
  // the delete. Empty without the Write API.
  std::string test_entry, test_entry_state, test_entry_error;
  int exit_code() const;     // 0 all passed, 2 a stage failed, 3 orch or Redis unreachable
  json to_json() const;
};

// `bus` is where orch publishes (read to see the event and the Docling ingest); `progress` is
// called as each stage ends.
SyncTestResult run_sync_test(const Settings& s, const SyncTestOptions& o, Bus& bus,
                             const std::function<void(const StageReport&)>& progress = {});

// The Builder.io publish payload sync-test sends without the Write API (exposed for tests): the
// entry shaped as Builder shapes one of `model` (pipeline/builder.hpp synctest_entry).
json synctest_payload(const Settings& s, const std::string& model, const std::string& marker);

// Whether a RAG query answer finds the entry: its id, its URL or the marker appear in it. A vector
// search need not echo the marker, but returns the documents it found by id or URL.
bool rag_answer_finds(const std::string& body, const std::string& id, const std::string& url, const std::string& marker);

}  // namespace orch::pipeline
