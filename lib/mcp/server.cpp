#include "mcp/server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/text.hpp"

namespace orch::mcp {

namespace {

constexpr int kParseError = -32700, kInvalidRequest = -32600, kMethodNotFound = -32601, kInvalidParams = -32602,
              kInternalError = -32603;
constexpr size_t kPageSize = 50;

json error_response(const json& id, int code, const std::string& message) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}
json result_response(const json& id, json result) { return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}}; }

struct InvalidParams : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A page of `items` from `cursor` (an offset, opaque to clients).
json page(const json& items, const json& params, const char* key) {
  size_t start = 0;
  if (params.is_object() && params.contains("cursor")) {
    try {
      start = std::stoul(params["cursor"].get<std::string>());
    } catch (const std::exception&) {
      throw InvalidParams("bad cursor");
    }
  }
  json out = json::object();
  out[key] = json::array();
  for (size_t i = start; i < items.size() && i < start + kPageSize; ++i) out[key].push_back(items[i]);
  if (start + kPageSize < items.size()) out["nextCursor"] = std::to_string(start + kPageSize);
  return out;
}

}  // namespace

int log_severity(const std::string& level) {
  static const std::vector<std::string> kLevels = {"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"};
  auto it = std::find(kLevels.begin(), kLevels.end(), level);
  return it == kLevels.end() ? -1 : static_cast<int>(it - kLevels.begin());
}

bool batches_allowed(const std::string& protocol_version) { return protocol_version != "2025-06-18"; }

void Session::log(const std::string& level, const std::string& logger, json data) {
  std::string threshold;
  {
    std::lock_guard lock(mu);
    threshold = log_level;
  }
  if (log_severity(level) < log_severity(threshold)) return;
  notify("notifications/message", {{"level", level}, {"logger", logger}, {"data", std::move(data)}});
}

void Session::notify(const std::string& method, json params) {
  std::lock_guard lock(send_mu_);
  send_({{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}});
}

Server::Server(Context ctx) : ctx_(std::move(ctx)) {
  tools_ = make_tools(ctx_);
}

Server::~Server() { bus_sub_.reset(); }

void Server::attach(Session* s) {
  {
    std::lock_guard lock(sessions_mu_);
    sessions_.insert(s);
  }
  update_bus_subscription();
}

void Server::detach(Session* s) {
  {
    std::lock_guard lock(sessions_mu_);
    sessions_.erase(s);
  }
  update_bus_subscription();
}

// Subscribed to the bus only while a client is connected: with none, the bus need not read back
// (and parse) every event for us.
void Server::update_bus_subscription() {
  std::lock_guard lock(bus_mu_);
  bool wanted;
  {
    std::lock_guard slock(sessions_mu_);
    wanted = !sessions_.empty();
  }
  if (wanted && !subscribed_) bus_sub_ = ctx_.bus.subscribe([this](const Event& e) { on_bus_event(e); });
  if (!wanted && subscribed_) bus_sub_.reset();
  subscribed_ = wanted;
}

void Server::on_bus_event(const Event& e) {
  std::lock_guard lock(sessions_mu_);
  for (auto* s : sessions_) {
    bool events = false, status = false;
    {
      std::lock_guard slock(s->mu);
      events = s->subscriptions.count("orch://events/recent") > 0;
      status = s->subscriptions.count("orch://status") > 0;
    }
    if (events) s->notify("notifications/resources/updated", {{"uri", "orch://events/recent"}});
    bool changes_status = e.type.rfind("service.", 0) == 0 || e.type.rfind("heal.", 0) == 0 || e.type.rfind("container.", 0) == 0;
    if (status && changes_status) s->notify("notifications/resources/updated", {{"uri", "orch://status"}});
  }
}

json Server::handle_text(const std::string& text, Session& session) {
  auto msg = parse_json(text);
  if (msg.is_discarded()) return error_response(nullptr, kParseError, "parse error: not JSON");
  return handle(msg, session);
}

json Server::handle(const json& message, Session& session, const Sink& request_sink) {
  if (message.is_array()) {
    if (message.empty()) return error_response(nullptr, kInvalidRequest, "empty batch");
    if (session.initialized && !batches_allowed(session.protocol_version))
      return error_response(nullptr, kInvalidRequest, "JSON-RPC batches are not part of MCP " + session.protocol_version);
    json out = json::array();
    for (const auto& m : message) {
      auto r = dispatch(m, session, request_sink);
      if (!r.is_null()) out.push_back(r);
    }
    return out.empty() ? json() : out;
  }
  return dispatch(message, session, request_sink);
}

json Server::dispatch(const json& req, Session& session, const Sink& request_sink) {
  if (!req.is_object() || req.value("jsonrpc", "") != "2.0" || !req.contains("method") || !req["method"].is_string()) {
    json id = req.is_object() && req.contains("id") ? req["id"] : json();
    return error_response(id, kInvalidRequest, "not a JSON-RPC 2.0 request");
  }
  const std::string method = req["method"];
  const bool is_notification = !req.contains("id");
  const json id = is_notification ? json() : req["id"];
  if (!is_notification && !(id.is_string() || id.is_number_integer())) return error_response(nullptr, kInvalidRequest, "id must be a string or integer");
  const json params = req.value("params", json::object());

  if (is_notification) {
    if (method == "notifications/initialized") session.initialized = true;
    else if (method == "notifications/cancelled" && params.contains("requestId")) {
      std::lock_guard lock(session.mu);
      session.cancelled.insert(params["requestId"].dump());
    }
    return json();
  }
  try {
    if (method == "initialize") {
      std::string asked = params.value("protocolVersion", "");
      bool known = std::find(kProtocolVersions.begin(), kProtocolVersions.end(), asked) != kProtocolVersions.end();
      session.protocol_version = known ? asked : kProtocolVersions.front();
      return result_response(id, {{"protocolVersion", session.protocol_version},
                                  {"capabilities",
                                   {{"tools", {{"listChanged", false}}},
                                    {"resources", {{"subscribe", true}, {"listChanged", false}}},
                                    {"logging", json::object()}}},
                                  {"serverInfo", {{"name", "orch"}, {"title", "orch control plane"}, {"version", ORCH_VERSION}}},
                                  {"instructions",
                                   "orch keeps a Docker content stack (Builder.io CMS, web, Docling, RAG, Redis) healthy. Start with "
                                   "diagnose; list_containers and container_logs to look closer; restart_container, heal and rollback "
                                   "change things."}});
    }
    if (method == "ping") return result_response(id, json::object());
    if (method == "tools/list") {
      json list = json::array();
      for (const auto& t : tools_) {
        json annotations = {{"title", t.title}, {"readOnlyHint", t.read_only}, {"destructiveHint", t.destructive},
                            {"idempotentHint", t.idempotent}, {"openWorldHint", t.open_world}};
        json tool = {{"name", t.name}, {"title", t.title}, {"description", t.description}, {"inputSchema", t.input_schema},
                     {"annotations", annotations}};
        if (session.protocol_version != "2024-11-05") tool["outputSchema"] = t.output_schema;
        list.push_back(tool);
      }
      return result_response(id, page(list, params, "tools"));
    }
    if (method == "tools/call") return call_tool(params, id, session, request_sink);
    if (method == "resources/list") {
      json list = json::array({{{"uri", "orch://status"}, {"name", "status"}, {"title", "Stack status"},
                                {"description", "Health of orch, Redis, Docker and every service"}, {"mimeType", "application/json"}},
                               {{"uri", "orch://events/recent"}, {"name", "recent-events"}, {"title", "Recent events"},
                                {"description", "The newest 50 events on the bus"}, {"mimeType", "application/json"}}});
      return result_response(id, page(list, params, "resources"));
    }
    if (method == "resources/templates/list") return result_response(id, {{"resourceTemplates", json::array()}});
    if (method == "resources/read") {
      if (!params.contains("uri") || !params["uri"].is_string()) throw InvalidParams("uri is required");
      return result_response(id, read_resource(params["uri"]));
    }
    if (method == "resources/subscribe" || method == "resources/unsubscribe") {
      if (!params.contains("uri") || !params["uri"].is_string()) throw InvalidParams("uri is required");
      std::string uri = params["uri"];
      if (uri != "orch://status" && uri != "orch://events/recent") throw InvalidParams("unknown resource " + uri);
      std::lock_guard lock(session.mu);
      if (method == "resources/subscribe") session.subscriptions.insert(uri);
      else session.subscriptions.erase(uri);
      return result_response(id, json::object());
    }
    if (method == "logging/setLevel") {
      if (!params.contains("level") || !params["level"].is_string() || log_severity(params["level"]) < 0)
        throw InvalidParams("level must be one of debug, info, notice, warning, error, critical, alert, emergency");
      std::lock_guard lock(session.mu);
      session.log_level = params["level"];
      return result_response(id, json::object());
    }
    if (method == "prompts/list") return result_response(id, {{"prompts", json::array()}});
    return error_response(id, kMethodNotFound, "method not found: " + method);
  } catch (const InvalidParams& e) {
    return error_response(id, kInvalidParams, e.what());
  } catch (const json::exception& e) {
    return error_response(id, kInvalidParams, std::string("invalid params: ") + e.what());
  } catch (const std::exception& e) {
    spdlog::error("mcp {}: {}", method, e.what());
    return error_response(id, kInternalError, e.what());
  }
}

json Server::read_resource(const std::string& uri) {
  json doc;
  if (uri == "orch://status") doc = ctx_.status ? ctx_.status() : json::object();
  else if (uri == "orch://events/recent") {
    doc = json::array();
    try {
      for (const auto& e : ctx_.bus.recent(50)) doc.push_back(e.to_json());
    } catch (const UnreachableError& e) {
      doc = {{"error", e.what()}};
    }
  } else {
    throw InvalidParams("unknown resource " + uri);
  }
  return {{"contents", json::array({{{"uri", uri}, {"mimeType", "application/json"}, {"text", to_text(doc, 2)}}})}};
}

json Server::call_tool(const json& params, const json& id, Session& session, const Sink& request_sink) {
  if (!params.is_object() || !params.contains("name") || !params["name"].is_string()) throw InvalidParams("name is required");
  const std::string name = params["name"];
  auto it = std::find_if(tools_.begin(), tools_.end(), [&](const Tool& t) { return t.name == name; });
  if (it == tools_.end()) throw InvalidParams("unknown tool " + name);
  const json args = params.value("arguments", json::object());
  if (!args.is_object()) throw InvalidParams("arguments must be an object");
  // Required arguments and their types are checked against the tool's input schema.
  for (const auto& req : it->input_schema.value("required", json::array()))
    if (!args.contains(req.get<std::string>())) throw InvalidParams("missing argument " + req.get<std::string>());
  for (const auto& [k, v] : args.items()) {
    if (!it->input_schema["properties"].contains(k)) throw InvalidParams("unknown argument " + k);
    const std::string type = it->input_schema["properties"][k].value("type", "");
    bool ok = (type == "string" && v.is_string()) || (type == "boolean" && v.is_boolean()) ||
              (type == "integer" && v.is_number_integer()) || (type == "array" && v.is_array()) || type.empty();
    if (!ok) throw InvalidParams("argument " + k + " must be " + type);
  }
  auto tool_error = [&](const std::string& message) {
    return result_response(id, {{"content", json::array({{{"type", "text"}, {"text", message}}})}, {"isError", true}});
  };
  if (!it->read_only && ctx_.read_only) {
    session.log("warning", "orch.mcp", {{"tool", name}, {"refused", "read-only"}});
    return tool_error(name + " changes the stack and this MCP server is read-only (--read-only / ORCH_MCP_READ_ONLY)");
  }
  json progress_token;
  if (params.contains("_meta") && params["_meta"].contains("progressToken")) progress_token = params["_meta"]["progressToken"];
  auto progress = [&](double done, double total, const std::string& message) {
    if (progress_token.is_null()) return;
    json p = {{"progressToken", progress_token}, {"progress", done}, {"total", total}, {"message", message}};
    if (request_sink) request_sink({{"jsonrpc", "2.0"}, {"method", "notifications/progress"}, {"params", std::move(p)}});
    else session.notify("notifications/progress", std::move(p));
  };
  json structured;
  session.log("info", "orch.mcp", {{"tool", name}, {"event", "started"}});
  try {
    structured = it->run(args, progress);
  } catch (const Error& e) {
    session.log("error", "orch.mcp", {{"tool", name}, {"error", e.what()}});
    return tool_error(e.what());
  }
  {
    std::lock_guard lock(session.mu);
    if (session.cancelled.erase(id.dump())) return json();  // cancelled: no response
  }
  json result = {{"content", json::array({{{"type", "text"}, {"text", to_text(structured, 2)}}})}, {"isError", false}};
  if (session.protocol_version != "2024-11-05") result["structuredContent"] = structured;
  return result_response(id, result);
}

}  // namespace orch::mcp
