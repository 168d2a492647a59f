// The MCP tools: thin adapters over the same library code as the commands.
#include <algorithm>

#include "diagnose/report.hpp"
#include "heal/healer.hpp"
#include "mcp/server.hpp"
#include "pipeline/sync_test.hpp"
#include "rollback/image.hpp"

namespace orch::mcp {

namespace {

json object_schema(json properties, json required = json::array()) {
  return {{"type", "object"}, {"properties", std::move(properties)}, {"required", std::move(required)}, {"additionalProperties", false}};
}
// Output schemas describe the main fields; reports carry more, so extra properties are allowed.
json output_schema(json properties) { return {{"type", "object"}, {"properties", std::move(properties)}}; }
json str(const std::string& d) { return {{"type", "string"}, {"description", d}}; }
json boolean(const std::string& d) { return {{"type", "boolean"}, {"description", d}}; }
json integer(const std::string& d) { return {{"type", "integer"}, {"description", d}}; }
json strings(const std::string& d) { return {{"type", "array"}, {"items", {{"type", "string"}}}, {"description", d}}; }

void check_allowed(const Context& ctx, const std::string& target) {
  if (ctx.allow.empty()) return;
  if (std::find(ctx.allow.begin(), ctx.allow.end(), target) == ctx.allow.end())
    throw OperationError("'" + target + "' is not in ORCH_MCP_ALLOW; this server may not change it");
}

}  // namespace

std::vector<Tool> make_tools(Context& ctx) {
  std::vector<Tool> tools;

  tools.push_back({"diagnose", "Diagnose the stack",
                   "Probe every service (health conditions, response time), inspect their containers (state, health, restarts, "
                   "OOM, error lines from logs, CPU/memory with metrics) and Redis. Same report as `orch diagnose -o json`.",
                   object_schema({{"services", strings("only these services (default all)")},
                                  {"actions", strings("any of health, logs, metrics (default health)")}}),
                   output_schema({{"status", str("ok|warning|critical|unknown")}, {"exit_code", integer("0..3")},
                                  {"services", {{"type", "array"}}}, {"containers", {{"type", "array"}}}}),
                   true, false, true, false,
                   [&ctx](const json& args, const auto& progress) {
                     diagnose::Options o;
                     o.services = args.value("services", std::vector<std::string>{});
                     o.actions = args.value("actions", std::vector<std::string>{"health"});
                     for (const auto& a : o.actions)
                       if (a != "health" && a != "logs" && a != "metrics")
                         throw UsageError("diagnose here takes health, logs, metrics; use restart_container to restart");
                     o.timeout = ctx.config.settings.duration("DIAGNOSE_TIMEOUT");
                     progress(0, 1, "probing services and containers");
                     auto r = diagnose::run(ctx.config, ctx.docker, o).to_json();
                     progress(1, 1, "done");
                     return r;
                   }});

  tools.push_back({"list_containers", "List containers", "Containers on the Docker host with state, health and service.",
                   object_schema({{"all", boolean("include stopped containers (default true)")}}),
                   output_schema({{"containers", {{"type", "array"}}}}), true, false, true, false,
                   [&ctx](const json& args, const auto&) {
                     json list = json::array();
                     for (const auto& c : ctx.docker.list(args.value("all", true))) {
                       auto service = c.labels.count("com.docker.compose.service") ? c.labels.at("com.docker.compose.service") : c.name;
                       list.push_back({{"id", c.id.substr(0, 12)}, {"name", c.name}, {"image", c.image}, {"state", c.state},
                                       {"status", c.status}, {"service", service}});
                     }
                     return json{{"containers", list}};
                   }});

  tools.push_back({"container_logs", "Container logs", "The last lines of a container's stdout and stderr.",
                   object_schema({{"container", str("container name or id")}, {"tail", integer("lines (default 100, at most 1000)")}},
                                 {"container"}),
                   output_schema({{"container", str("")}, {"lines", {{"type", "array"}}}}), true, false, true, false,
                   [&ctx](const json& args, const auto&) {
                     const std::string name = args["container"];
                     int tail = std::clamp(args.value("tail", 100), 1, 1000);
                     auto info = ctx.docker.inspect(name);
                     json lines = json::array();
                     for (const auto& l : ctx.docker.logs(info.id, tail, info.tty)) lines.push_back({{"stream", l.stream}, {"text", l.text}});
                     return json{{"container", info.name}, {"lines", lines}};
                   }});

  tools.push_back({"restart_container", "Restart a container",
                   "Restart one container (its stop timeout is honoured). Refused in read-only mode and outside ORCH_MCP_ALLOW.",
                   object_schema({{"container", str("container name or id")}}, {"container"}),
                   output_schema({{"container", str("")}, {"restarted", boolean("")}}), false, true, false, false,
                   [&ctx](const json& args, const auto& progress) {
                     auto info = ctx.docker.inspect(args["container"].get<std::string>());
                     check_allowed(ctx, info.name);
                     progress(0, 1, "restarting " + info.name);
                     ctx.docker.restart(info.id, info.stop_timeout);
                     progress(1, 1, "restarted");
                     return json{{"container", info.name}, {"restarted", true}};
                   }});

  tools.push_back({"heal", "Heal now", "One pass of the heal policy over the containers in scope (like `orch heal`).",
                   object_schema({{"dry_run", boolean("only report what would be restarted")}}),
                   output_schema({{"actions", {{"type", "array"}}}, {"exit_code", integer("")}}), false, true, false, false,
                   [&ctx](const json& args, const auto&) {
                     heal::Healer healer(ctx.config, ctx.docker, ctx.bus, ctx.metrics, ctx.state, ctx.notifier, SystemClock::instance(),
                                         heal::parse_scope(ctx.config.settings.str("ORCH_HEAL_SCOPE")));
                     return healer.run_pass(args.value("dry_run", false)).to_json();
                   }});

  tools.push_back({"rollback", "Roll a service back",
                   "Replace a service's container with one from its last-known-good image (or `to`), same configuration; the old "
                   "one is restored if the new one is not healthy.",
                   object_schema({{"service", str("service name")}, {"to", str("image (default: last known good)")},
                                  {"dry_run", boolean("only report")}},
                                 {"service"}),
                   output_schema({{"service", str("")}, {"ok", boolean("")}, {"from", str("")}, {"to", str("")}}), false, true, false,
                   false,
                   [&ctx](const json& args, const auto& progress) {
                     rollback::ServiceOptions o;
                     o.service = args["service"];
                     check_allowed(ctx, o.service);
                     o.to = args.value("to", "");
                     o.dry_run = args.value("dry_run", false);
                     o.health_timeout = ctx.config.settings.duration("ROLLBACK_HEALTH_TIMEOUT");
                     rollback::Releases releases(ctx.state);
                     progress(0, 1, "rolling back " + o.service);
                     auto r = rollback::rollback_service(ctx.docker, releases, ctx.config, &ctx.bus, o);
                     if (!r.ok) throw OperationError("rollback failed, the previous container was restored: " + r.error);
                     return r.to_json();
                   }});

  tools.push_back({"sync_test", "End-to-end sync test",
                   "Publish a test change and time each stage: webhook, bus, Docling, RAG index, frontend.",
                   object_schema({{"model", str("Builder model (default page)")}, {"timeout", str("deadline, e.g. 60s (default 120s)")}}),
                   output_schema({{"passed", boolean("")}, {"stages", {{"type", "array"}}}, {"marker", str("")}}), false, false, false,
                   true,
                   [&ctx](const json& args, const auto& progress) {
                     pipeline::SyncTestOptions o;
                     o.model = args.value("model", "page");
                     o.timeout = parse_duration(args.value("timeout", "120s"));
                     o.orch_url = ctx.orch_url;
                     int done = 0;
                     auto r = pipeline::run_sync_test(ctx.config.settings, o, ctx.bus, [&](const pipeline::StageReport& s) {
                       progress(++done, 5, s.name + (s.ok ? " ok" : " failed"));
                     });
                     return r.to_json();
                   }});

  tools.push_back({"recent_events", "Recent events", "The newest events on orch's bus (CloudEvents), oldest first.",
                   object_schema({{"count", integer("how many (default 20, at most 500)")},
                                  {"type", str("only types starting with this, e.g. heal.")}}),
                   output_schema({{"events", {{"type", "array"}}}}), true, false, true, false,
                   [&ctx](const json& args, const auto&) {
                     int count = std::clamp(args.value("count", 20), 1, 500);
                     const std::string prefix = args.value("type", "");
                     json events = json::array();
                     for (const auto& e : ctx.bus.recent(prefix.empty() ? count : 500)) {
                       if (!prefix.empty() && e.type.rfind(prefix, 0) != 0) continue;
                       events.push_back(e.to_json());
                     }
                     while (static_cast<int>(events.size()) > count) events.erase(events.begin());
                     return json{{"events", events}};
                   }});
  return tools;
}

}  // namespace orch::mcp
