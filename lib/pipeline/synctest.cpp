#include "pipeline/synctest.hpp"
#include "core/clock.hpp"

#include <thread>

#include "core/crypto.hpp"
#include "core/text.hpp"
#include "http/client.hpp"
#include "pipeline/builder.hpp"
#include "pipeline/stages.hpp"

namespace orch::pipeline {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

int SyncTestResult::exit_code() const {
  if (unreachable) return 3;
  for (const auto& s : stages)
    if (!s.ok) return 2;
  return 0;
}

json SyncTestResult::to_json() const {
  json stages_json = json::array();
  for (const auto& s : stages) {
    json j = {{"name", s.name}, {"ok", s.ok}, {"ms", s.ms}};
    if (!s.error.empty()) j["error"] = s.error;
    stages_json.push_back(j);
  }
  std::string failed;
  for (const auto& s : stages)
    if (!s.ok) {
      failed = s.name;
      break;
    }
  json out = {{"marker", marker}, {"passed", exit_code() == 0}, {"exit_code", exit_code()}, {"failed_stage", failed.empty() ? json(nullptr) : json(failed)},
              {"stages", stages_json}};
  if (!test_entry.empty()) {
    out["test_entry"] = {{"id", test_entry}, {"state", test_entry_state}};
    if (!test_entry_error.empty()) out["test_entry"]["error"] = test_entry_error;
  }
  return out;
}

bool rag_answer_finds(const std::string& body, const std::string& id, const std::string& url, const std::string& marker) {
  for (const auto* needle : {&id, &url, &marker})
    if (!needle->empty() && body.find(*needle) != std::string::npos) return true;
  return false;
}

json synctest_payload(const Settings& s, const std::string& model, const std::string& marker) {
  long long now_ms = unix_ms();
  json entry = synctest_entry(s, model, marker, "/orch-sync-test/" + marker);
  entry["id"] = "orch-synctest-" + marker;
  entry["lastUpdated"] = now_ms;
  return {{"modelName", model}, {"operation", "publish"}, {"newValue", entry}};
}

namespace {

struct Runner {
  const Settings& s;
  const SyncTestOptions& o;
  Bus& bus;
  SyncTestResult result;
  SteadyClock::time_point deadline;
  const std::function<void(const StageReport&)>& progress;

  // Runs `check` until it returns true or the deadline passes; records the stage.
  bool stage(const std::string& name, const std::function<bool(std::string&)>& check) {
    StageReport r{name};
    const auto t0 = SteadyClock::now();
    std::string error;
    for (;;) {
      try {
        if (check(error)) {
          r.ok = true;
          break;
        }
      } catch (const UnreachableError& e) {
        error = e.what();
        result.unreachable = true;
        break;
      }
      if (!error.empty() && error.rfind("final:", 0) == 0) {
        error = error.substr(6);
        break;
      }
      if (o.cancelled && o.cancelled()) {
        error = "cancelled";
        break;
      }
      if (SteadyClock::now() >= deadline) {
        if (error.empty()) error = "timed out";
        else error = "timed out: " + error;
        break;
      }
      std::this_thread::sleep_for(25ms);  // the resolution of the stage timings
    }
    r.ms = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t0).count();
    r.error = r.ok ? "" : error;
    result.stages.push_back(r);
    if (progress) progress(r);
    return r.ok;
  }
};

std::string http_get(const std::string& url, long& status) {
  http::Request req;
  req.url = url;
  req.timeout = 10s;
  auto res = http::send(req);
  status = res.status;
  return res.body;
}

}  // namespace

SyncTestResult run_sync_test(const Settings& s, const SyncTestOptions& o, Bus& bus,
                             const std::function<void(const StageReport&)>& progress) {
  Runner run{s, o, bus, {}, SteadyClock::now() + o.timeout, progress};
  run.result.marker = o.marker.empty() ? "orchsync" + new_uuid().substr(0, 8) : o.marker;
  const auto& marker = run.result.marker;
  const auto payload = synctest_payload(s, o.model, marker);
  const std::string url = "/orch-sync-test/" + marker;

  // Where the bus is now, so that only what follows is read.
  std::string cursor;
  try {
    auto last = bus.recent(1);
    if (!last.empty()) cursor = last.back().stream_id;
  } catch (const UnreachableError&) {
  }
  std::string event_id;
  std::string content_id = payload["newValue"]["id"];
  bool ok, written = false;
  if (!o.pipeline_off.empty()) {
    run.stage("pipeline", [&](std::string& error) {
      error = "final:" + o.pipeline_off;
      return false;
    });
    return run.result;
  }
  if (o.via_builder && !s.has("BUILDER_PRIVATE_KEY"))
    throw ConfigError("sync-test --via builder writes through Builder's Write API, which needs BUILDER_PRIVATE_KEY");
  if (o.via_builder) {
    // A real entry through Builder's Write API; Builder then sends orch its webhook, so the bus
    // stage looks for the entry's id rather than an event id orch handed back.
    ok = run.stage("webhook", [&](std::string& error) {
      auto id = builder_write(s, o.model, payload["newValue"], error);
      if (!id) return false;
      content_id = *id;
      written = true;
      return true;
    });
  } else {
    ok = run.stage("webhook", [&](std::string& error) {
      const auto body = to_text(payload);
      http::Request req;
      req.method = "POST";
      req.url = o.orch_url + "/webhook/builder";
      req.body = body;
      req.timeout = 10s;
      req.headers = {{"Content-Type", "application/json"},
                     {"x-builder-signature", "sha256=" + to_hex(hmac_sha256(s.str("TRUSTED_WEBHOOK_SECRET"), body))}};
      http::Response res;
      try {
        res = http::send(req);
      } catch (const http::TransportError& e) {
        throw UnreachableError(std::string("orch: ") + e.what());
      }
      if (res.status != 202) {
        error = "final:orch answered " + std::to_string(res.status) + ": " + res.body;
        return false;
      }
      event_id = parse_json(res.body).value("event_id", "");
      return true;
    });
  }
  std::vector<Event> seen;
  auto read_bus = [&] {
    for (auto& e : bus.read_after(cursor, 1000)) {
      cursor = e.stream_id;
      seen.push_back(std::move(e));
    }
  };
  ok = ok && run.stage("bus", [&](std::string&) {
    read_bus();
    for (const auto& e : seen)
      if (event_id.empty() ? e.type.rfind("content.", 0) == 0 && e.data.value("id", "") == content_id : e.id == event_id) return true;
    return false;
  });
  ok = ok && run.stage("docling", [&](std::string& error) {
    read_bus();
    for (const auto& e : seen) {
      if (e.data.value("id", "") != content_id || e.data.value("stage", "") != "docling") continue;
      if (e.type == "ingest.succeeded") return true;
      if (e.type == "ingest.failed") {
        error = e.data.value("error", "");
        if (!e.data.value("final", false)) continue;
        // Also when orch could not reach docling at all: the stage failed (exit 2).
        error = "final:" + std::string(e.data.value("unreachable", false) ? "docling unreachable (as seen by orch): " : "") + error;
      }
    }
    return false;
  });
  ok = ok && run.stage("rag", [&](std::string& error) {
    std::string path = s.str("RAG_QUERY_PATH");
    if (auto p = path.find("{q}"); p != std::string::npos) path.replace(p, 3, http::url_encode(marker));
    http::Response res;
    try {
      res = json_call("GET", s.str("RAG_API_URL") + path, nullptr, 10s, rag_headers(s));
    } catch (const http::TransportError& e) {
      error = std::string("final:rag: ") + e.what();
      return false;
    }
    if (res.status != 200) error = "rag query answered " + std::to_string(res.status);
    return res.status == 200 && rag_answer_finds(res.body, content_id, url, marker);
  });
  ok = ok && run.stage("frontend", [&](std::string& error) {
    long status = 0;
    std::string body;
    try {
      body = http_get(s.str("WEB_API_URL") + url, status);
    } catch (const http::TransportError& e) {
      error = std::string("final:frontend: ") + e.what();
      return false;
    }
    if (status != 200) error = "frontend answered " + std::to_string(status);
    return status == 200 && body.find(marker) != std::string::npos;
  });
  // The Write API's test entry is deleted whatever happened (Builder then sends the delete
  // webhook, so the RAG index forgets it too), unless it is kept to look at.
  if (written) {
    run.result.test_entry = content_id;
    std::string error;
    if (o.keep) run.result.test_entry_state = "kept";
    else if (builder_delete(s, o.model, content_id, error)) run.result.test_entry_state = "deleted";
    else {
      run.result.test_entry_state = "left";
      run.result.test_entry_error = error;
    }
  }
  auto r = run.result;
  try {
    bus.publish(make_event(r.exit_code() == 0 ? "synctest.passed" : "synctest.failed", o.model + "/" + content_id,
                           {{"stages", r.to_json()["stages"]}, {"marker", marker}}));
  } catch (const Error&) {
  }
  return r;
}

}  // namespace orch::pipeline
