#pragma once
// The content pipeline in `orch serve` (SPEC §8): every content.* event on the bus becomes a job
// taken from a consumer group (shared by every instance; a job left unacknowledged by a crashed
// instance is taken over), converted by Docling and re-indexed by the RAG service (or deleted from
// it), with retries and backoff, a dead letter after the last attempt, and once per (id, revision).
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "redis/client.hpp"
#include "core/stop_token.hpp"
#include "app/module.hpp"
#include "config/settings.hpp"

namespace orch::pipeline {

// Remembers finished jobs: Redis SET orch:pipeline:done:<key> EX 7d when configured, else memory.
class DoneSet {
 public:
  explicit DoneSet(const std::string& redis_url);
  bool contains(const std::string& key);
  void add(const std::string& key);

 private:
  std::mutex mu_;
  std::unique_ptr<redis::Client> client_;  // under mu_; null without Redis
  std::set<std::string> local_;
};

// The pipeline runs when DOCLING_API_URL or RAG_API_URL is set (its consumer group is then made
// before orch stores its first event: serve/daemon.cpp).
bool enabled(const Settings& s);

class Module final : public orch::Module {
 public:
  explicit Module(ServeContext& ctx);
  ~Module() override;
  const char* name() const override { return "pipeline"; }
  void start() override;
  void stop() override;

 private:
  void work(int index);
  // Runs one job; returns when it succeeded, failed for good (dead letter) or orch is stopping
  // (false: leave it unacknowledged for another consumer).
  bool handle(const Event& e);
  // A payload-less webhook's event (data.unresolved): looks the change up in Builder's Content
  // API and publishes it as the content.* event it was; the job of that event does the rest.
  bool resolve(const Event& e);
  bool run_stage(const Event& e, const std::string& stage, const std::function<struct StageOutcome()>& attempt);
  void emit(const std::string& type, const Event& content, json extra);

  ServeContext& ctx_;
  DoneSet done_;
  Family<Counter>& jobs_;
  Family<Histogram>& seconds_;
  StopSignal stop_;
  std::vector<std::thread> workers_;
};

}  // namespace orch::pipeline
