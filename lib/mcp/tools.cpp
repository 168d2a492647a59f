// The MCP tools: thin adapters over the same library code as the commands.
#include <algorithm>

#include "diagnose/report.hpp"
#include "docker/identity.hpp"
#include "heal/healer.hpp"
#include "heal/service_healer.hpp"
#include "core/text.hpp"
#include "mcp/server.hpp"
#include "pipeline/synctest.hpp"
#include "rollback/image.hpp"

namespace orch::mcp {

namespace {

json object_schema(json properties, json required = json::array()) {
  return {{"type", "object"}, {"properties", std::move(properties)}, {"required", std::move(required)}, {"additionalProperties", false}};
}
// Output schemas describe the main fields; reports carry more, so extra properties are allowed.
json output_schema(json properties) { return {{"type", "object"}, {"properties", std::move(properties)}}; }
json str(const std::string& d) { return {{"type", "string"}, {"description", d}}; }
json nonempty(const std::string& d) { return {{"type", "string"}, {"minLength", 1}, {"description", d}}; }
json boolean(const std::string& d, bool dflt) { return {{"type", "boolean"}, {"default", dflt}, {"description", d}}; }
json integer(const std::string& d) { return {{"type", "integer"}, {"description", d}}; }
json range(const std::string& d, int lo, int hi, int dflt) {
  return {{"type", "integer"}, {"minimum", lo}, {"maximum", hi}, {"default", dflt}, {"description", d}};
}
json strings(const std::string& d, json items = {{"type", "string"}, {"minLength", 1}}) {
  return {{"type", "array"}, {"items", std::move(items)}, {"description", d}};
}
// What parse_duration reads, in the form an agent should write: a number and one unit.
json duration(const std::string& d, const std::string& dflt) {
  return {{"type", "string"}, {"pattern", "^[0-9]+(\\.[0-9]+)?(ms|s|m|h)$"}, {"examples", {"60s", "2m"}}, {"default", dflt},
          {"description", d}};
}

// Why a destructive tool may not act on this container; empty when it may (docs/mcp.md, "Which
// containers"). ORCH_MCP_ALLOW both narrows (only what it names) and widens (what it names may be
// outside orch's scope); monitor-only containers are never changed.
std::string refusal(const Context& ctx, const std::string& name, const docker::Labels& labels) {
  if (docker::monitor_only(labels)) return "'" + name + "' is labelled orch.monitor-only=true: orch reports on it and never changes it";
  if (!ctx.allow.empty()) {
    if (docker::matches_names(ctx.allow, ctx.config, name, labels)) return "";
    return "'" + name + "' (service '" + docker::service_of(ctx.config, name, labels) + "') is not in ORCH_MCP_ALLOW (" +
           join(ctx.allow, ",") + "); this server may not change it";
  }
  if (docker::in_orch_scope(ctx.config, name, labels) || heal::parse_scope(ctx.config.settings.str("ORCH_HEAL_SCOPE")) == heal::Scope::all)
    return "";
  return "'" + name + "' is outside orch's scope (not labelled orch.heal=true or autoheal=true, not a configured service's " +
         "container); this server may not change it unless ORCH_MCP_ALLOW names it";
}

void check_may_change(const Context& ctx, const docker::ContainerInfo& c) {
  if (auto why = refusal(ctx, c.name, c.labels); !why.empty()) throw OperationError(why);
}

}  // namespace

std::vector<Tool> make_tools(Context& ctx) {
  std::vector<Tool> tools;

  tools.push_back({"diagnose", "Diagnose the stack",
                   "Probe every service (health conditions, response time), inspect their containers (state, health, restarts, "
                   "OOM, error lines from logs, CPU/memory with metrics) and Redis. Same report as `orch diagnose -o json`.",
                   object_schema({{"services", strings("only these configured services (default all)")},
                                  {"actions", strings("what to look at (default [\"health\"])",
                                                      {{"type", "string"}, {"enum", {"health", "logs", "metrics"}}})}}),
                   output_schema({{"status", str("ok|warning|critical|unknown")}, {"exit_code", integer("0..3")},
                                  {"services", {{"type", "array"}}}, {"containers", {{"type", "array"}}}}),
                   true, false, true, false,
                   [&ctx](const json& args, const auto& progress) {
                     diagnose::Options o;
                     o.services = args.value("services", std::vector<std::string>{});
                     o.actions = args.value("actions", std::vector<std::string>{"health"});
                     o.state = &ctx.state;
                     for (size_t i = 0; i < o.services.size(); ++i) {
                       if (ctx.config.service(o.services[i])) continue;
                       std::vector<std::string> known;
                       for (const auto& spec : ctx.config.services) known.push_back(spec.name);
                       throw UsageError("argument `services` item " + std::to_string(i) + ": no configured service is called \"" +
                                        o.services[i] + "\"; configured: " + (known.empty() ? "none" : join(known, ",")));
                     }
                     o.timeout = ctx.config.settings.duration("DIAGNOSE_TIMEOUT");
                     progress(0, 1, "probing services and containers");
                     auto r = diagnose::run(ctx.config, ctx.docker, ctx.containers, o).to_json();
                     progress(1, 1, "done");
                     return r;
                   }});

  tools.push_back({"list_containers", "List containers",
                   "Containers on the Docker host with state, health, service, and whether this server may change them "
                   "(`may_change`; `why_not` says why not).",
                   object_schema({{"all", boolean("include stopped containers", true)}}),
                   output_schema({{"containers", {{"type", "array"}}}}), true, false, true, false,
                   [&ctx](const json& args, const auto&) {
                     json list = json::array();
                     const bool all = args.value("all", true);
                     const auto listed = ctx.containers.containers();  // held while read: the cache may replace its list
                     for (const auto& c : *listed) {
                       // As the engine's all=0: what runs (paused and restarting ones too).
                       if (!all && c.state != "running" && c.state != "paused" && c.state != "restarting") continue;
                       const auto why = refusal(ctx, c.name, c.labels);
                       json entry = {{"id", c.id.substr(0, 12)}, {"name", c.name}, {"image", c.image}, {"state", c.state},
                                     {"status", c.status}, {"service", docker::service_of(ctx.config, c.name, c.labels)},
                                     {"may_change", why.empty()}};
                       if (!why.empty()) entry["why_not"] = why;
                       list.push_back(std::move(entry));
                     }
                     return json{{"containers", list}};
                   }});

  tools.push_back({"container_logs", "Container logs", "The last lines of a container's stdout and stderr.",
                   object_schema({{"container", nonempty("container name or id")}, {"tail", range("lines", 1, 1000, 100)}},
                                 {"container"}),
                   output_schema({{"container", str("")}, {"lines", {{"type", "array"}}}}), true, false, true, false,
                   [&ctx](const json& args, const auto&) {
                     const std::string name = args["container"];
                     const int tail = args.value("tail", 100);
                     auto info = ctx.docker.inspect(name);
                     json lines = json::array();
                     for (const auto& l : ctx.docker.logs(info.id, tail, info.tty)) lines.push_back({{"stream", l.stream}, {"text", l.text}});
                     return json{{"container", info.name}, {"lines", lines}};
                   }});

  tools.push_back({"restart_container", "Restart a container",
                   "Restart one container (its stop timeout is honoured). Only containers in orch's scope (labelled "
                   "orch.heal=true or autoheal=true, or a configured service's), or those ORCH_MCP_ALLOW names; never "
                   "monitor-only ones. Refused in read-only mode.",
                   object_schema({{"container", nonempty("container name or id")}}, {"container"}),
                   output_schema({{"container", str("")}, {"restarted", boolean("", true)}}), false, true, false, false,
                   [&ctx](const json& args, const auto& progress) {
                     auto info = ctx.docker.inspect(args["container"].get<std::string>());
                     check_may_change(ctx, info);
                     progress(0, 1, "restarting " + info.name);
                     ctx.docker.restart(info.id, info.stop_timeout);
                     progress(1, 1, "restarted");
                     return json{{"container", info.name}, {"restarted", true}};
                   }});

  tools.push_back({"heal", "Heal now",
                   "One pass of the heal policy over the containers in scope (like `orch heal`); with ORCH_MCP_ALLOW only over "
                   "the containers it names.",
                   object_schema({{"dry_run", boolean("only report what would be restarted (allowed in read-only mode)", false)}}),
                   output_schema({{"actions", {{"type", "array"}}}, {"exit_code", integer("")}}), false, true, false, false,
                   [&ctx](const json& args, const auto& progress) {
                     heal::Healer healer(ctx.config, ctx.docker, ctx.containers, ctx.bus, ctx.metrics, ctx.state, ctx.notifier,
                                         SystemClock::instance(), heal::parse_scope(ctx.config.settings.str("ORCH_HEAL_SCOPE")));
                     // The healer keeps to its own scope (ORCH_HEAL_SCOPE); the allow list narrows it further. It asks
                     // before each failing container: the progress report there is also where a cancelled call stops,
                     // before the next restart (the total is not known in advance).
                     int seen = 0;
                     const bool dry_run = args.value("dry_run", false);
                     auto report = healer.run_pass(dry_run, [&](const docker::ContainerInfo& c) {
                       progress(++seen, -1, "considering " + c.name);
                       return refusal(ctx, c.name, c.labels).empty();
                     });
                     // Then the swarm services whose tasks keep failing (none outside a swarm manager).
                     heal::ServiceHealer(ctx.config, ctx.docker, ctx.bus, ctx.notifier, ctx.state, SystemClock::instance())
                         .run_pass(dry_run, report, [&](const docker::SwarmService& s) {
                           progress(++seen, -1, "considering swarm service " + s.name);
                           docker::Labels labels = s.labels;  // the service's, and its containers'
                           labels.insert(s.container_labels.begin(), s.container_labels.end());
                           return refusal(ctx, s.name, labels).empty();
                         });
                     return report.to_json();
                   }});

  tools.push_back({"rollback", "Roll a service back",
                   "Replace a service's container with one from its last-known-good image (or `to`), same configuration; the old "
                   "one is restored if the new one is not healthy. The same containers as restart_container may be rolled back.",
                   object_schema({{"service", nonempty("service name")}, {"to", nonempty("image reference or id (default: last known good)")},
                                  {"dry_run", boolean("only report what would be done (allowed in read-only mode)", false)}},
                                 {"service"}),
                   output_schema({{"service", str("")}, {"ok", boolean("", true)}, {"from", str("")}, {"to", str("")}}), false, true,
                   false, false,
                   [&ctx](const json& args, const auto& progress) {
                     rollback::ServiceOptions o;
                     o.service = args["service"];
                     o.to = args.value("to", "");
                     o.dry_run = args.value("dry_run", false);
                     o.health_timeout = ctx.config.settings.duration("ROLLBACK_HEALTH_TIMEOUT");
                     auto c = rollback::find_service_container(ctx.docker, ctx.containers, ctx.config, o.service);
                     check_may_change(ctx, c);
                     rollback::Releases releases(ctx.state);
                     // The library's refusals speak the CLI's flags; these two are the ones an agent can act on.
                     if (o.to.empty() && !c.label("orch.rollback.from").empty())
                       throw UsageError(c.name + " was made by a rollback; orch does not roll back a rollback: pass `to` (an image) "
                                                 "to choose one");
                     if (o.to.empty() && !releases.get(o.service).contains("lkg"))
                       throw UsageError("no last-known-good image is recorded for '" + o.service +
                                        "'; pass `to` (an image reference or id) to choose one");
                     // Steps are reported without throwing: a cancel must not leave the container moved aside, so
                     // the library asks `cancelled` and undoes its replacement itself. The total is not known.
                     int step = 0;
                     progress(++step, -1, "rolling back " + o.service);
                     o.on_step = [&](const std::string& what) {
                       try {
                         progress(++step, -1, what);
                       } catch (const Cancelled&) {  // seen by `cancelled` at the library's next check
                       }
                     };
                     o.cancelled = [&progress] { return progress.cancelled(); };
                     auto r = rollback::rollback_service(ctx.docker, ctx.containers, releases, ctx.config, &ctx.bus, o);
                     if (progress.cancelled()) throw Cancelled();
                     if (!r.ok) throw OperationError("rollback failed, the previous container was restored: " + r.error);
                     return r.to_json();
                   }});

  tools.push_back({"sync_test", "End-to-end sync test",
                   "Publish a test change and time each stage: webhook, bus, Docling, RAG index, frontend. It changes no "
                   "container; with ORCH_MCP_ALLOW set it runs only if the list names sync_test.",
                   object_schema(
                       {{"model",
                         {{"type", "string"},
                          {"pattern", "^[A-Za-z0-9_-]+$"},
                          {"examples", {"page"}},
                          {"default", "page"},
                          {"description", "Builder model"}}},
                        {"timeout", duration("deadline for all stages, 1s to 1h", "120s")},
                        {"keep", boolean("leave the Builder test entry in place (for debugging) instead of deleting it", false)}}),
                   output_schema({{"passed", boolean("", true)}, {"stages", {{"type", "array"}}}, {"marker", str("")}}), false, false,
                   false, true, [&ctx](const json& args, const auto& progress) {
                     // It touches no container, so container names cannot allow it: a restricting list names it.
                     if (!ctx.allow.empty() && std::find(ctx.allow.begin(), ctx.allow.end(), "sync_test") == ctx.allow.end())
                       throw OperationError("sync_test publishes test content through the CMS, pipeline and RAG index; ORCH_MCP_ALLOW (" +
                                            join(ctx.allow, ",") + ") does not name sync_test, so this server may not run it");
                     pipeline::SyncTestOptions o;
                     o.model = args.value("model", "page");
                     o.keep = args.value("keep", false);
                     const std::string timeout = args.value("timeout", "120s");
                     o.timeout = parse_duration(timeout);
                     if (o.timeout < std::chrono::seconds(1) || o.timeout > std::chrono::hours(1))
                       throw UsageError("argument `timeout` must be between 1s and 1h; got \"" + timeout + "\"");
                     o.orch_url = ctx.orch_url;
                     o.cancelled = [&progress] { return progress.cancelled(); };  // stops a stage's wait
                     int done = 0;
                     // Not thrown through the sync test: it cleans up (the Builder test entry) on its way out.
                     auto r = pipeline::run_sync_test(ctx.config.settings, o, ctx.bus, [&](const pipeline::StageReport& s) {
                       if (!progress.cancelled()) progress(++done, 5, s.name + (s.ok ? " ok" : " failed"));
                     });
                     if (progress.cancelled()) throw Cancelled();
                     return r.to_json();
                   }});

  tools.push_back({"recent_events", "Recent events", "The newest events on orch's bus (CloudEvents), oldest first.",
                   object_schema({{"count", range("how many", 1, 500, 20)},
                                  {"type", str("only types starting with this, e.g. heal.")}}),
                   output_schema({{"events", {{"type", "array"}}}}), true, false, true, false,
                   [&ctx](const json& args, const auto&) {
                     const int count = args.value("count", 20);
                     const std::string prefix = args.value("type", "");
                     json events = json::array();
                     for (const auto& e : ctx.bus.recent(prefix.empty() ? count : 500)) {
                       if (!prefix.empty() && e.type.rfind(prefix, 0) != 0) continue;
                       events.push_back(e.to_json());
                     }
                     if (static_cast<int>(events.size()) > count) events.erase(events.begin(), events.end() - count);
                     return json{{"events", events}};
                   }});
  return tools;
}

}  // namespace orch::mcp
