#include "serve/daemon.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <limits>

#include "app/health.hpp"
#include "config/orch_url.hpp"
#include "history/recorder.hpp"
#include "pipeline/pipeline.hpp"
#include "serve/modules.hpp"

namespace orch {

struct Daemon::Parts {
  Metrics metrics;
  std::unique_ptr<Bus> bus;
  std::unique_ptr<http::Server> http;
  StatusBoard status;
  std::unique_ptr<docker::Client> docker;
  std::unique_ptr<docker::ContainerCache> containers;
  std::unique_ptr<StateStore> state;
  std::unique_ptr<Notifier> notifier;
  std::unique_ptr<notify::Alerter> alerts;
  std::unique_ptr<history::Store> history;
  std::unique_ptr<history::Recorder> recorder;
  std::unique_ptr<ServeContext> ctx;
  std::vector<std::unique_ptr<Module>> modules;
  size_t started = 0;
  bool shut_down = false;
};

Daemon::Daemon(const Config& config) : config_(config), parts_(std::make_unique<Parts>()) {}

Daemon::~Daemon() { shutdown(); }

http::Server& Daemon::assemble() {
  auto& p = *parts_;
  if (p.http) return *p.http;
  const auto& s = config_.settings;
  std::string instance = s.has("ORCH_INSTANCE_ID") ? s.str("ORCH_INSTANCE_ID") : hostname() + "-" + std::to_string(getpid());
  // The pipeline's group before the first event (a webhook in orch's first moment is a job too).
  p.bus = make_bus(config_, &p.metrics, pipeline::enabled(s) ? std::vector<std::string>{kPipelineGroup} : std::vector<std::string>{});
  p.http = std::make_unique<http::Server>(
      http::ServerOptions{.bind = s.str("BIND"),
                          .port = static_cast<int>(s.integer("PORT")),
                          .threads = static_cast<size_t>(s.integer("ORCH_HTTP_THREADS")),
                          .body_limit = static_cast<size_t>(s.integer("ORCH_BODY_LIMIT")),
                          .auth_failures_per_minute = s.integer("ORCH_AUTH_FAILURE_LIMIT"),
                          .requests_per_minute = s.integer("ORCH_RATE_LIMIT"),
                          .control_threads = static_cast<size_t>(std::max<long long>(1, s.integer("ORCH_CONTROL_CONCURRENCY"))),
                          .max_connections = static_cast<size_t>(std::max<long long>(1, s.integer("ORCH_HTTP_MAX_CONNECTIONS"))),
                          // 0: no cap per address (behind a reverse proxy every client has the proxy's address).
                          .max_connections_per_address = s.integer("ORCH_HTTP_MAX_CONNECTIONS_PER_ADDRESS") <= 0
                                                             ? std::numeric_limits<size_t>::max()
                                                             : static_cast<size_t>(s.integer("ORCH_HTTP_MAX_CONNECTIONS_PER_ADDRESS")),
                          .head_timeout = std::chrono::ceil<std::chrono::seconds>(s.duration("ORCH_HTTP_HEAD_TIMEOUT"))});
  auto& limited = p.metrics.counter("orch_http_rate_limited_total", "Requests answered 429, by limit", {"limit"});
  p.http->on_rate_limited([&limited](const char* limit) { limited.labels({limit}).inc(); });
  auto& refused = p.metrics.counter("orch_http_refused_total",
                                    "Requests and connections the HTTP front end refused itself, by status and error", {"status", "error"});
  p.http->on_refused([&refused](int status, std::string_view code) { refused.labels({std::to_string(status), std::string(code)}).inc(); });
  p.docker = std::make_unique<docker::Client>(docker::endpoint_from(s));
  p.containers = std::make_unique<docker::ContainerCache>(*p.docker, s.duration("ORCH_RECONCILE_INTERVAL"));
  p.state = make_state_store(s);
  p.notifier = std::make_unique<Notifier>(config_.alerting.providers, notifier_options(s), &p.metrics);
  // Heal failures, quarantines and rollbacks reach the alerter over the bus (leader only, silences
  // applied); the healer's own direct sends are for the one-shot `orch heal`.
  p.notifier->set_direct(false);
  p.alerts = std::make_unique<notify::Alerter>(config_, *p.bus, *p.state, *p.notifier, SystemClock::instance());
  p.alerts->watch(*p.containers);
  p.history = history::make_store(s);
  p.ctx.reset(new ServeContext{config_, *p.bus, p.metrics, *p.http, p.status, SystemClock::instance(), stop_, instance, *p.docker,
                               *p.containers, docker::docker_expected(s), *p.state, *p.notifier, *p.history, *p.alerts});
  p.modules = make_modules(*p.ctx);
  // After the modules: the metrics it samples are declared by them.
  p.recorder = std::make_unique<history::Recorder>(*p.history, *p.bus, p.metrics);
  return *p.http;
}

int Daemon::start() {
  mark_started();
  auto& p = *parts_;
  const auto& s = config_.settings;
  assemble();
  for (auto& m : p.modules) {
    m->start();
    ++p.started;
    spdlog::debug("module {} started", m->name());
  }
  p.recorder->start();
  p.alerts->start();
  // After the modules: they listen to it from their constructors or start().
  p.containers->start();
  p.http->start();
  spdlog::info("orch serve listening on {}:{} (instance {}, bus {})", s.str("BIND"), p.http->port(), p.ctx->instance_id,
               p.bus->health().kind);
  // The first thing a person wants: where the page is and how to get in (never the token itself).
  if (s.has("ORCH_API_TOKEN"))
    spdlog::info("status page: {}/ (it asks for ORCH_API_TOKEN; scripts send Authorization: Bearer)", orch_url(s, p.http->port()));
  else spdlog::info("status page: {}/ (no ORCH_API_TOKEN: open to loopback clients only)", orch_url(s, p.http->port()));
  return p.http->port();
}

void Daemon::run_until_stopped() {
  while (!stop_.wait_for(std::chrono::hours(1))) {
  }
  shutdown();
}

void Daemon::shutdown() {
  auto& p = *parts_;
  if (p.shut_down) return;
  p.shut_down = true;
  stop_.request_stop();
  spdlog::info("shutting down: finishing in-flight requests");
  for (size_t i = p.started; i-- > 0;) p.modules[i]->draining();
  if (p.http) p.http->stop();
  if (p.containers) p.containers->stop();
  for (size_t i = p.started; i-- > 0;) {
    p.modules[i]->stop();
    spdlog::debug("module {} stopped", p.modules[i]->name());
  }
  if (p.recorder) p.recorder->stop();  // after the modules: their last counts are kept
  if (p.alerts) p.alerts->stop();
  if (p.notifier) p.notifier->drain(std::chrono::seconds(2));  // a last resolved message may still go
  if (p.bus) p.bus->close();
  spdlog::info("stopped");
}

}  // namespace orch
