#include "pipeline/pipeline.hpp"

#include <spdlog/spdlog.h>

#include <cmath>

#include "config/orch_url.hpp"
#include "core/text.hpp"
#include "http/control.hpp"
#include "http/fields.hpp"
#include "pipeline/builder.hpp"
#include "pipeline/docling.hpp"
#include "pipeline/stages.hpp"
#include "pipeline/synctest.hpp"
#include "content/payload.hpp"

namespace orch::pipeline {

using namespace std::chrono_literals;

struct StageOutcome {
  StageResult result;
};

// Unwinds a job when orch stops during a retry wait; the job stays unacknowledged.
struct Stopping {};

DoneSet::DoneSet(const std::string& redis_url) {
  if (!redis_url.empty()) client_ = std::make_unique<redis::Client>(redis::parse_url(redis_url));
}

bool DoneSet::contains(const std::string& key) {
  std::lock_guard lock(mu_);
  if (local_.count(key)) return true;
  if (!client_) return false;
  try {
    return client_->command({"EXISTS", "orch:pipeline:done:" + key}).integer == 1;
  } catch (const Error& e) {
    return false;  // unknown: doing the job again is safe, it is idempotent downstream
  }
}

void DoneSet::add(const std::string& key) {
  std::lock_guard lock(mu_);
  local_.insert(key);
  if (local_.size() > 100'000) local_.clear();
  if (!client_) return;
  try {
    client_->command({"SET", "orch:pipeline:done:" + key, "1", "EX", "604800"});
  } catch (const Error& e) {}
}

Module::Module(ServeContext& ctx)
    : ctx_(ctx),
      done_(ctx.config.settings.str("REDIS_URL")),
      jobs_(ctx.metrics.counter("orch_pipeline_jobs_total", "Content pipeline jobs, by result", {"result"})),
      seconds_(ctx.metrics.histogram("orch_pipeline_job_seconds", "Content pipeline job duration", {},
                                     {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120})) {
  // Bad docling settings stop orch serve at start (ConfigError) rather than failing every job.
  if (ctx.config.settings.has("DOCLING_API_URL")) DoclingApi::from(ctx.config.settings);
  http::control(ctx.http, "/sync-test", ctx.config.settings.str("ORCH_API_TOKEN"), [this](const json& body) -> http::Reply {
    SyncTestOptions o;
    o.model = http::field(body, "model", o.model);
    o.marker = http::field(body, "marker", "");
    o.keep = http::field(body, "keep", false);
    const auto via = http::field(body, "via", std::string("webhook"));
    if (via != "webhook" && via != "builder") throw UsageError("via must be webhook or builder");
    o.via_builder = via == "builder";
    if (!ctx_.config.settings.has("DOCLING_API_URL") && !ctx_.config.settings.has("RAG_API_URL"))
      o.pipeline_off = "orch serve's pipeline is off: neither DOCLING_API_URL nor RAG_API_URL is set where it runs";
    if (const auto timeout = http::field(body, "timeout", ""); !timeout.empty()) {
      try {
        o.timeout = parse_duration(timeout);
      } catch (const ConfigError& e) {
        throw UsageError(e.what());  // a bad value in the request, not in orch's configuration
      }
    }
    o.orch_url = orch_url(ctx_.config.settings, ctx_.http.port());
    return run_sync_test(ctx_.config.settings, o, ctx_.bus).to_json();
  });
}

Module::~Module() { stop(); }

bool enabled(const Settings& s) { return s.has("DOCLING_API_URL") || s.has("RAG_API_URL"); }

void Module::start() {
  const auto& s = ctx_.config.settings;
  if (!enabled(s)) {
    spdlog::info("pipeline off: neither DOCLING_API_URL nor RAG_API_URL is set");
    return;
  }
  const int n = static_cast<int>(std::max<long long>(1, s.integer("PIPELINE_WORKERS")));
  for (int i = 0; i < n; ++i) workers_.emplace_back([this, i] { work(i); });
}

void Module::stop() {
  stop_.request_stop();
  for (auto& t : workers_)
    if (t.joinable()) t.join();
  workers_.clear();
}

void Module::work(int index) {
  auto queue = ctx_.bus.work_queue(kPipelineGroup, ctx_.instance_id + "-" + std::to_string(index),
                                   ctx_.config.settings.duration("PIPELINE_CLAIM_IDLE"));
  while (!stop_.stop_requested()) {
    std::optional<WorkItem> item;
    try {
      item = queue->next(500ms);
      if (!item) continue;
      // Every event of the stream reaches the group; only content.* ones are jobs.
      if (item->event.type.rfind("content.", 0) != 0 || handle(item->event)) queue->ack(*item);
    } catch (const Error& e) {
      // Redis gone or refusing between two calls (the acknowledgement too): nothing is lost, the
      // entry stays pending and the group hands it out again after PIPELINE_CLAIM_IDLE.
      if (item) spdlog::error("pipeline: job {} ({}) left for a retry: {}", item->event.subject, item->event.type, e.what());
      else spdlog::warn("pipeline: work queue: {}", e.what());
      stop_.wait_for(500ms);
    }
  }
}

void Module::emit(const std::string& type, const Event& content, json extra) {
  json data = {{"model", content.data.value("model", "")}, {"id", content.data.value("id", "")}};
  for (auto& [k, v] : extra.items()) data[k] = v;
  try {
    ctx_.bus.publish(make_event(type, content.subject, data));
  } catch (const BusError& e) {
    spdlog::error("event {} not stored: {}", type, e.what());
  }
}

// Retries one stage with backoff; false when it failed for good or orch is stopping.
bool Module::run_stage(const Event& e, const std::string& stage, const std::function<StageOutcome()>& attempt_once) {
  const auto& s = ctx_.config.settings;
  const int max_attempts = static_cast<int>(std::max<long long>(1, s.integer("PIPELINE_MAX_ATTEMPTS")));
  const auto backoff = parse_backoff(s.str("PIPELINE_BACKOFF"));
  for (int attempt = 1; attempt <= max_attempts; ++attempt) {
    emit("ingest.started", e, {{"stage", stage}, {"attempt", attempt}});
    auto outcome = attempt_once().result;
    if (outcome.stopped) throw Stopping{};
    if (outcome.ok) {
      emit("ingest.succeeded", e, {{"stage", stage}, {"attempt", attempt}});
      return true;
    }
    const bool last = attempt == max_attempts || !outcome.retryable;
    emit("ingest.failed", e, {{"stage", stage}, {"attempt", attempt}, {"error", outcome.error}, {"final", last},
                                 {"unreachable", outcome.unreachable}});
    spdlog::warn("pipeline {} {} attempt {}: {}", stage, e.subject, attempt, outcome.error);
    if (last) {
      ctx_.bus.dead_letter(e, {{"stage", stage}, {"attempts", attempt}, {"error", outcome.error}});
      return false;
    }
    double delay = std::min<double>(static_cast<double>(backoff.max.count()),
                                    static_cast<double>(backoff.min.count()) * std::pow(2.0, attempt - 1));
    // A service that says when to come back (429/503 Retry-After, up to 5 min) is asked no sooner:
    // an attempt spent inside its window is one more refusal.
    delay = std::max(delay, static_cast<double>(outcome.retry_after.count()));
    if (stop_.wait_for(Millis(static_cast<long long>(delay)))) throw Stopping{};
  }
  return false;
}

// Removals cannot be looked up: the Content API answers published entries only.
static bool is_removal(const std::string& operation) {
  return operation == "unpublish" || operation == "archive" || operation == "delete" || operation == "scheduledEnd";
}

bool Module::resolve(const Event& e) {
  const auto& s = ctx_.config.settings;
  const std::string model = e.data.value("model", ""), operation = e.data.value("operation", "");
  json entry;
  bool ok = false;
  try {
    ok = run_stage(e, "resolve", [&]() -> StageOutcome {
      if (is_removal(operation))
        return {{false, false, "a payload-less " + operation + " cannot be looked up (the Content API lists published entries only): "
                                                              "enable the payload of this webhook in Builder"}};
      return {latest_entry(s, model, entry)};
    });
  } catch (const Stopping&) {
    return false;
  }
  if (!ok) {
    jobs_.labels({"dead_lettered"}).inc();
    return true;
  }
  // The entry is read exactly as the webhook reads one, then published as the change it was.
  const json payload = {{"modelName", model}, {"operation", operation.empty() ? "publish" : operation}, {"newValue", entry}};
  auto parsed = content::parse_builder_payload(to_text(payload));
  if (!parsed.change) {
    emit("ingest.failed", e, {{"stage", "resolve"}, {"attempt", 1}, {"error", parsed.error.message}, {"final", true}, {"unreachable", false}});
    ctx_.bus.dead_letter(e, {{"stage", "resolve"}, {"attempts", 1}, {"error", parsed.error.message}});
    jobs_.labels({"dead_lettered"}).inc();
    return true;
  }
  const auto& change = *parsed.change;
  auto data = change.to_data();
  data["resolved_from"] = e.id;
  // Two payload-less deliveries close together resolve to the same newest entry: one event.
  ctx_.bus.publish_unique(make_event(change.type, change.model + "/" + change.id, data), content::dedupe_key("", change), 24h);
  spdlog::info("pipeline: payload-less {} of {} resolved to {} revision {}", e.type, model, change.id, change.revision);
  jobs_.labels({"resolved"}).inc();
  return true;
}

bool Module::handle(const Event& e) {
  const auto& s = ctx_.config.settings;
  const auto& d = e.data;
  if (d.value("unresolved", false)) return resolve(e);
  const std::string key = d.value("model", "") + ":" + d.value("id", "") + ":" + d.value("revision", "") + ":" + e.type;
  if (!d.value("revision", "").empty() && done_.contains(key)) {
    jobs_.labels({"duplicate"}).inc();
    return true;
  }
  const auto start = std::chrono::steady_clock::now();
  bool ok = false;
  try {
    json doc = {{"id", d.value("id", "")}, {"model", d.value("model", "")}, {"url", d.value("url", "")}};
    if (e.type == "content.unpublished" || e.type == "content.deleted") {
      // Only the configured stages run (docs/pipeline.md): with docling alone a removal has nothing to do.
      ok = !s.has("RAG_API_URL") || run_stage(e, "rag", [&] { return StageOutcome{remove(s, doc)}; });
    } else {
      std::string text;
      // The text indexed is what docling makes of the page the frontend renders at the entry's
      // URL (a page model's blocks become visible text only there), not the entry's data.
      int attempt = 0;
      DoclingHooks hooks{[this] { return stop_.stop_requested(); }, [&](const json& progress) {
                           json extra = progress;
                           extra["stage"] = "docling";
                           extra["attempt"] = attempt;
                           emit("ingest.progress", e, extra);
                         }};
      ok = !s.has("DOCLING_API_URL") ||
           run_stage(e, "docling", [&] {
             ++attempt;
             auto r = convert(s, source_url(s, d.value("url", "")), hooks);
             text = r.text;
             return StageOutcome{r};
           });
      doc["text"] = text;
      if (ok && s.has("RAG_API_URL")) ok = run_stage(e, "rag", [&] { return StageOutcome{reindex(s, doc)}; });
    }
  } catch (const Stopping&) {
    return false;  // stopping mid-job: leave it for another consumer
  }
  seconds_.get().observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  jobs_.labels({ok ? "succeeded" : "dead_lettered"}).inc();
  if (ok && !d.value("revision", "").empty()) done_.add(key);
  return true;
}

}  // namespace orch::pipeline
