#include "mcp/server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string_view>

#include "core/text.hpp"
#include "mcp/arguments.hpp"

namespace orch::mcp {

namespace {

constexpr size_t kPageSize = 50;

// orch's icon (serverInfo.icons): a small SVG as a data: URI, so no client has to fetch anything.
constexpr const char* kIcon =
    "data:image/svg+xml;base64,"
    "PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAzMiAzMiI+PGNpcmNsZSBjeD0iMTYiIGN5PSIxNiIgcj0iMTQiIGZp"
    "bGw9IiMyYjZjYjAiLz48cGF0aCBkPSJNOSAxNmg0bDItNSA0IDEwIDItNWgzIiBzdHJva2U9IiNmZmYiIHN0cm9rZS13aWR0aD0iMiIgZmlsbD0ibm9uZSIvPjwv"
    "c3ZnPg==";

// Tool icons (2025-11-25): a magnifier for the tools that only look, a wrench for those that
// change the stack, so a client's tool picker shows at a glance which is which.
constexpr const char* kLookIcon =
    "data:image/svg+xml;base64,"
    "PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAzMiAzMiI+PGNpcmNsZSBjeD0iMTMiIGN5PSIxMyIgcj0iOCIg"
    "c3Ryb2tlPSIjMmI2Y2IwIiBzdHJva2Utd2lkdGg9IjMiIGZpbGw9Im5vbmUiLz48cGF0aCBkPSJNMTkgMTlsOCA4IiBzdHJva2U9IiMyYjZjYjAiIHN0cm9r"
    "ZS13aWR0aD0iNCIgc3Ryb2tlLWxpbmVjYXA9InJvdW5kIi8+PC9zdmc+";
constexpr const char* kActIcon =
    "data:image/svg+xml;base64,"
    "PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAzMiAzMiI+PHBhdGggZD0iTTYgMjZsMTItMTJtLTItNmE2IDYg"
    "MCAxIDAgOCA4IiBzdHJva2U9IiNjMDU2MjEiIHN0cm9rZS13aWR0aD0iNCIgc3Ryb2tlLWxpbmVjYXA9InJvdW5kIiBmaWxsPSJub25lIi8+PC9zdmc+";
json icon(const char* src) { return json::array({{{"src", src}, {"mimeType", "image/svg+xml"}, {"sizes", {"any"}}}}); }

// Tools whose result a resource also shows: their results link to it (resource_link, 2025-06-18 on).
const std::map<std::string, std::pair<std::string, std::string>> kToolResources = {
    {"diagnose", {"orch://status", "Stack status"}}, {"recent_events", {"orch://events/recent", "Recent events"}}};

constexpr const char* kInstructions =
    "orch keeps a Docker content stack (Builder.io CMS, web, Docling, RAG, Redis) healthy. Start with diagnose; "
    "list_containers and container_logs to look closer; restart_container, heal and rollback change things.";

json result_response(const json& id, json result) { return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}}; }

struct InvalidParams : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct UnknownResource : std::runtime_error {
  explicit UnknownResource(std::string uri) : std::runtime_error("unknown resource " + uri), uri(std::move(uri)) {}
  std::string uri;
};

bool known_resource(const std::string& uri) { return uri == "orch://status" || uri == "orch://events/recent"; }

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

json error_response(const json& id, int code, const std::string& message, json data) {
  json error = {{"code", code}, {"message", message}};
  if (!data.is_null()) error["data"] = std::move(data);
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(error)}};
}

std::vector<std::string> split_list(const std::string& setting) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= setting.size()) {
    size_t end = setting.find(',', start);
    if (end == std::string::npos) end = setting.size();
    std::string item = setting.substr(start, end - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(std::move(item));
    start = end + 1;
  }
  return out;
}

int log_severity(const std::string& level) {
  static const std::vector<std::string> kLevels = {"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"};
  auto it = std::find(kLevels.begin(), kLevels.end(), level);
  return it == kLevels.end() ? -1 : static_cast<int>(it - kLevels.begin());
}

// 2025-06-18 removed batches, and no later revision has them.
bool batches_allowed(const std::string& protocol_version) { return protocol_version.empty() || protocol_version <= "2025-03-26"; }

bool is_supported_version(const std::string& version) {
  return std::find(kProtocolVersions.begin(), kProtocolVersions.end(), version) != kProtocolVersions.end();
}

bool is_modern_version(const std::string& version) {
  return std::find(kModernVersions.begin(), kModernVersions.end(), version) != kModernVersions.end();
}

bool declares_version(const json& message, std::string* version) {
  if (!message.is_object()) return false;
  auto params = message.find("params");
  if (params == message.end() || !params->is_object()) return false;
  auto meta = params->find("_meta");
  if (meta == params->end() || !meta->is_object()) return false;
  auto v = meta->find(kMetaProtocolVersion);
  if (v == meta->end()) return false;
  if (version) *version = v->is_string() ? v->get<std::string>() : "";
  return true;
}

json unsupported_version_response(const json& id, const std::string& requested) {
  return error_response(id, kUnsupportedProtocolVersion, "Unsupported protocol version",
                        {{"supported", kProtocolVersions}, {"requested", requested}});
}

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
  send({{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}});
}

void Session::send(const json& message) {
  std::lock_guard lock(send_mu_);
  send_(message);
}

void Session::cancel(const json& request_id) {
  std::lock_guard lock(mu);
  auto key = request_id.dump();
  if (!cancelled_.insert(key).second) return;
  cancelled_order_.push_back(std::move(key));
  if (cancelled_order_.size() > kMaxCancelled) {
    cancelled_.erase(cancelled_order_.front());
    cancelled_order_.pop_front();
  }
}

bool Session::is_cancelled(const json& request_id) {
  std::lock_guard lock(mu);
  return !cancelled_.empty() && cancelled_.count(request_id.dump()) > 0;
}

bool Session::take_cancelled(const json& request_id) {
  std::lock_guard lock(mu);
  if (cancelled_.empty() || cancelled_.erase(request_id.dump()) == 0) return false;
  cancelled_order_.erase(std::find(cancelled_order_.begin(), cancelled_order_.end(), request_id.dump()));
  return true;
}

Server::Server(Context ctx) : ctx_(std::move(ctx)) {
  tools_ = make_tools(ctx_);
}

Server::~Server() { bus_sub_.reset(); }

void Server::attach(Session* s) {
  {
    std::lock_guard lock(sessions_mu_);
    attached_.insert(s);
  }
  update_subscriber(s);  // a session attached with subscriptions already (stdio) follows at once
}

void Server::detach(Session* s) {
  {
    std::lock_guard lock(sessions_mu_);
    attached_.erase(s);
  }
  update_subscriber(s);
}

void Server::update_subscriber(Session* s) {
  std::lock_guard lock(bus_mu_);
  bool wanted;
  {
    std::lock_guard slock(sessions_mu_);
    bool subscribed = false;
    if (attached_.count(s)) {
      std::lock_guard session_lock(s->mu);
      subscribed = !s->subscriptions.empty() || !s->listens.empty();
    }
    if (subscribed) subscribers_.insert(s);
    else subscribers_.erase(s);
    wanted = !subscribers_.empty();
  }
  // With no subscriber the bus need not read back (and parse) every event for us.
  if (wanted && !subscribed_) bus_sub_ = ctx_.bus.subscribe([this](const Event& e) { on_bus_event(e); });
  if (!wanted && subscribed_) bus_sub_.reset();
  subscribed_ = wanted;
}

void Server::on_bus_event(const Event& e) {
  const bool changes_status = e.type.rfind("service.", 0) == 0 || e.type.rfind("heal.", 0) == 0 || e.type.rfind("container.", 0) == 0;
  std::lock_guard lock(sessions_mu_);
  for (auto* s : subscribers_) {
    // (uri, the listen's id or null for resources/subscribe) of each notification this session gets.
    std::vector<std::pair<const char*, json>> updates;
    {
      std::lock_guard slock(s->mu);
      for (const char* uri : {"orch://events/recent", "orch://status"}) {
        if (!changes_status && std::string_view(uri) == "orch://status") continue;  // every event changes the list, not all the status
        if (s->subscriptions.count(uri)) updates.emplace_back(uri, nullptr);
        for (const auto& [key, l] : s->listens)
          if (l.uris.count(uri)) updates.emplace_back(uri, l.id);
      }
    }
    for (auto& [uri, listen_id] : updates) {
      json p = {{"uri", uri}};
      if (!listen_id.is_null()) p["_meta"] = {{kMetaSubscriptionId, std::move(listen_id)}};
      s->notify("notifications/resources/updated", std::move(p));
    }
  }
}

json Server::handle_text(const std::string& text, Session& session) {
  auto msg = parse_json(text);
  if (msg.is_discarded())
    return error_response(nullptr, kParseError,
                          json_too_deep(text) ? "parse error: nested deeper than " + std::to_string(kMaxJsonDepth) + " levels"
                                              : "parse error: not JSON");
  return handle(msg, session);
}

json Server::handle(const json& message, Session& session, const Sink& request_sink) {
  if (message.is_array()) {
    if (message.empty()) return error_response(nullptr, kInvalidRequest, "empty batch");
    std::string negotiated;
    {
      std::lock_guard lock(session.mu);  // initialize may be setting it on another worker
      negotiated = session.protocol_version;
    }
    if (session.initialized && !batches_allowed(negotiated))
      return error_response(nullptr, kInvalidRequest, "JSON-RPC batches are not part of MCP " + negotiated);
    json out = json::array();
    for (const auto& m : message) {
      auto r = dispatch(m, session, request_sink);
      if (!r.is_null()) out.push_back(r);
    }
    return out.empty() ? json() : out;
  }
  return dispatch(message, session, request_sink);
}

bool is_client_response(const json& message) {
  return message.is_object() && !message.contains("method") && message.contains("id") &&
         (message.contains("result") || message.contains("error"));
}

json Server::dispatch(const json& req, Session& session, const Sink& request_sink) {
  // Every member is type-checked before it is read or copied: nlohmann's typed reads throw on a
  // wrong type, and a copy of a deep value recurses.
  if (!req.is_object()) return error_response(nullptr, kInvalidRequest, "a JSON-RPC message must be an object");
  // orch sends clients no requests (no sampling, roots or elicitation), so a response from the
  // client answers nothing: it is ignored, as JSON-RPC wants for what is not a request.
  if (is_client_response(req)) return json();
  const auto id_at = req.find("id");
  const bool is_notification = id_at == req.end();
  const bool id_ok = !is_notification && (id_at->is_string() || id_at->is_number_integer());
  const json id = id_ok ? *id_at : json();
  const auto version = req.find("jsonrpc");
  if (version == req.end() || !version->is_string() || version->get_ref<const std::string&>() != "2.0")
    return error_response(id, kInvalidRequest, "not a JSON-RPC 2.0 request: \"jsonrpc\" must be \"2.0\"");
  const auto method_at = req.find("method");
  if (method_at == req.end() || !method_at->is_string())
    return error_response(id, kInvalidRequest, "not a JSON-RPC 2.0 request: \"method\" must be a string");
  // MCP: "the ID MUST NOT be null" (JSON-RPC allows null; MCP does not), nor may it be a fraction.
  if (!is_notification && !id_ok) return error_response(nullptr, kInvalidRequest, "\"id\" must be a string or an integer");
  const std::string& method = method_at->get_ref<const std::string&>();
  static const json kNoParams = json::object();
  const auto params_at = req.find("params");
  const json& params = params_at == req.end() ? kNoParams : *params_at;

  if (is_notification) {
    if (method == "notifications/initialized") session.initialized = true;
    else if (method == "notifications/cancelled" && params.is_object() && params.contains("requestId")) {
      const auto& target = params["requestId"];
      if (!target.is_string() && !target.is_number_integer()) return json();
      // A listen is cancelled by forgetting it: it gets no result, and no more notifications.
      bool was_listen = false;
      {
        std::lock_guard lock(session.mu);
        was_listen = session.listens.erase(target.dump()) > 0;
      }
      if (was_listen) update_subscriber(&session);
      else session.cancel(target);
    }
    return json();
  }
  Call call;
  std::string declared;
  if (declares_version(req, &declared)) {
    // Modern (stateless): the request carries its version; one orch does not speak is refused
    // with the versions it does, and the client picks one of them.
    if (!is_modern_version(declared)) return unsupported_version_response(id, declared);
    call.modern = true;
    call.version = declared;
    const auto& meta = params["_meta"];
    if (meta.contains(kMetaLogLevel) && meta[kMetaLogLevel].is_string() && log_severity(meta[kMetaLogLevel]) >= 0)
      call.log_level = meta[kMetaLogLevel].get<std::string>();
  } else {
    std::lock_guard lock(session.mu);
    call.version = session.protocol_version;
  }
  json response = respond(method, params, id, session, request_sink, call);
  // notifications/cancelled: no response at all, whether the call succeeded or failed.
  if (session.take_cancelled(id)) return json();
  if (call.modern && response.is_object()) {
    if (auto result = response.find("result"); result != response.end() && result->is_object()) {
      // 2026-07-28: every result says it is complete and who answered; lists and reads say how
      // long a client may cache them (private: they sit behind orch's token).
      (*result)["resultType"] = "complete";
      (*result)["_meta"][kMetaServerInfo] = server_info(call.version);
      static const std::set<std::string> kCacheable = {"tools/list", "resources/list", "resources/read", "resources/templates/list",
                                                       "prompts/list"};
      if (kCacheable.count(method)) {
        // Tools and the resource list are fixed while orch runs; what a resource holds is not.
        if (!result->contains("ttlMs")) (*result)["ttlMs"] = method == "resources/read" ? 0 : 3600000;
        if (!result->contains("cacheScope")) (*result)["cacheScope"] = "private";
      }
    } else if (auto error = response.find("error"); error != response.end() && error->is_object()) {
      // 2026-07-28 reports an unknown resource as invalid params.
      if (error->value("code", 0) == kResourceNotFound) (*error)["code"] = kInvalidParams;
    }
  }
  return response;
}

json Server::server_info(const std::string& version) const {
  json info = {{"name", "orch"}, {"title", "orch control plane"}, {"version", ORCH_VERSION}};
  // icons came with 2025-11-25; older clients' schemas do not know them.
  if (version >= "2025-11-25") info["icons"] = icon(kIcon);
  return info;
}

json Server::capabilities(bool) const {
  // Both eras may follow resources: resources/subscribe on a legacy session, subscriptions/listen
  // under 2026-07-28. orch's lists of tools and resources never change while it runs.
  return {{"tools", {{"listChanged", false}}}, {"resources", {{"subscribe", true}, {"listChanged", false}}}, {"logging", json::object()}};
}

void Server::log(Session& session, const Sink& request_sink, const Call& call, const std::string& level, json data) {
  if (!call.modern) return session.log(level, "orch.mcp", std::move(data));
  // 2026-07-28: only for requests that asked for a level, and on that request's own stream.
  if (!call.log_level || log_severity(level) < log_severity(*call.log_level)) return;
  json p = {{"level", level}, {"logger", "orch.mcp"}, {"data", std::move(data)}};
  if (request_sink) request_sink({{"jsonrpc", "2.0"}, {"method", "notifications/message"}, {"params", std::move(p)}});
  else session.notify("notifications/message", std::move(p));
}

json Server::respond(const std::string& method, const json& params, const json& id, Session& session, const Sink& request_sink,
                     const Call& call) {
  try {
    if (!params.is_object()) throw InvalidParams("\"params\" must be an object");
    if (method == "initialize") {
      if (params.contains("protocolVersion") && !params["protocolVersion"].is_string())
        throw InvalidParams("\"protocolVersion\" must be a string");
      // The legacy handshake: the client's version when orch speaks it, else orch's newest legacy
      // one (the client then decides whether it can go on).
      std::string asked = params.value("protocolVersion", "");
      bool known = std::find(kLegacyVersions.begin(), kLegacyVersions.end(), asked) != kLegacyVersions.end();
      {
        std::lock_guard lock(session.mu);
        session.protocol_version = known ? asked : kLegacyVersions.front();
      }
      return result_response(id, {{"protocolVersion", known ? asked : kLegacyVersions.front()},
                                  {"capabilities", capabilities(false)},
                                  {"serverInfo", server_info(known ? asked : kLegacyVersions.front())},
                                  {"instructions", kInstructions}});
    }
    if (method == "server/discover") {
      // 2026-07-28: what orch speaks (both eras: a legacy client may still initialize).
      return result_response(id, {{"supportedVersions", kProtocolVersions},
                                  {"capabilities", capabilities(true)},
                                  {"instructions", kInstructions},
                                  {"_meta", {{kMetaServerInfo, server_info(kModernVersions.front())}}},
                                  {"ttlMs", 3600000},
                                  {"cacheScope", "private"}});
    }
    if (call.modern && (method == "logging/setLevel" || method == "resources/subscribe" || method == "resources/unsubscribe"))
      return error_response(id, kMethodNotFound,
                            method + " is not part of MCP " + call.version +
                                (method == "logging/setLevel" ? ": send io.modelcontextprotocol/logLevel in each request's _meta"
                                                              : ": open a subscriptions/listen stream instead"));
    if (method == "subscriptions/listen") {
      if (!call.modern)
        return error_response(id, kMethodNotFound,
                              "subscriptions/listen is part of MCP 2026-07-28; this session negotiated " +
                                  (call.version.empty() ? std::string("no version") : call.version) + ": use resources/subscribe");
      return listen(params, id, session, call);
    }
    if (method == "ping") return result_response(id, json::object());
    if (method == "tools/list") {
      json list = json::array();
      for (const auto& t : tools_) {
        json annotations = {{"title", t.title}, {"readOnlyHint", t.read_only}, {"destructiveHint", t.destructive},
                            {"idempotentHint", t.idempotent}, {"openWorldHint", t.open_world}};
        json tool = {{"name", t.name}, {"title", t.title}, {"description", t.description}, {"inputSchema", t.input_schema},
                     {"annotations", annotations}};
        if (call.version != "2024-11-05") tool["outputSchema"] = t.output_schema;
        if (call.version >= "2025-11-25") tool["icons"] = icon(t.read_only ? kLookIcon : kActIcon);
        list.push_back(tool);
      }
      return result_response(id, page(list, params, "tools"));
    }
    if (method == "tools/call") return call_tool(params, id, session, request_sink, call);
    if (method == "resources/list") {
      json list = json::array({{{"uri", "orch://status"}, {"name", "status"}, {"title", "Stack status"},
                                {"description", "Health of orch, Redis, Docker and every service"}, {"mimeType", "application/json"}},
                               {{"uri", "orch://events/recent"}, {"name", "recent-events"}, {"title", "Recent events"},
                                {"description", "The newest 50 events on the bus"}, {"mimeType", "application/json"}}});
      return result_response(id, page(list, params, "resources"));
    }
    if (method == "resources/templates/list") return result_response(id, {{"resourceTemplates", json::array()}});
    if (method == "resources/read") {
      if (!params.contains("uri") || !params["uri"].is_string()) throw InvalidParams("\"uri\" (a string) is required");
      return result_response(id, read_resource(params["uri"]));
    }
    if (method == "resources/subscribe" || method == "resources/unsubscribe") {
      if (!params.contains("uri") || !params["uri"].is_string()) throw InvalidParams("\"uri\" (a string) is required");
      const std::string& uri = params["uri"].get_ref<const std::string&>();
      if (!known_resource(uri)) throw UnknownResource(uri);
      {
        std::lock_guard lock(session.mu);
        if (method == "resources/subscribe") session.subscriptions.insert(uri);
        else session.subscriptions.erase(uri);
      }
      update_subscriber(&session);
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
  } catch (const UnknownResource& e) {
    return error_response(id, kResourceNotFound, std::string(e.what()) + "; resources/list names them", {{"uri", e.uri}});
  } catch (const json::exception& e) {
    spdlog::warn("mcp {}: {}", method, e.what());
    return error_response(id, kInvalidParams, "invalid params for " + method);
  } catch (const std::exception& e) {
    spdlog::error("mcp {}: {}", method, e.what());
    return error_response(id, kInternalError, e.what());
  }
}

json Server::listen(const json& params, const json& id, Session& session, const Call& call) {
  auto filter = params.find("notifications");
  if (filter == params.end() || !filter->is_object()) throw InvalidParams("\"notifications\" (the filter: an object) is required");
  json honored = json::object();
  std::set<std::string> uris;
  for (const auto& [key, value] : filter->items()) {
    if (key == "resourceSubscriptions") {
      if (!value.is_array()) throw InvalidParams("\"resourceSubscriptions\" must be an array of resource URIs");
      for (const auto& uri : value) {
        if (!uri.is_string()) throw InvalidParams("\"resourceSubscriptions\" must be an array of resource URIs");
        if (known_resource(uri)) uris.insert(uri.get<std::string>());  // others are not honoured (not in the ack)
      }
    } else if (key == "toolsListChanged" || key == "promptsListChanged" || key == "resourcesListChanged") {
      if (!value.is_boolean()) throw InvalidParams("\"" + key + "\" must be a boolean");
      // orch's lists never change while it runs: nothing to honour (the capabilities say so too).
    }
  }
  if (!uris.empty()) honored["resourceSubscriptions"] = uris;
  {
    std::lock_guard lock(session.mu);
    if (session.listens.count(id.dump())) throw InvalidParams("a subscriptions/listen with id " + id.dump() + " is already open");
    if (session.listens.size() >= Session::kMaxListens)
      return error_response(
          id, kServerBusy,
          std::to_string(Session::kMaxListens) + " subscriptions/listen streams are open on this connection; close one first",
          {{"retryable", true}});
  }
  // The acknowledgement goes first, and only then does the bus reach this listen: no update can
  // come before it.
  session.notify("notifications/subscriptions/acknowledged",
                 {{"notifications", honored}, {"_meta", {{kMetaSubscriptionId, id}, {kMetaServerInfo, server_info(call.version)}}}});
  {
    std::lock_guard lock(session.mu);
    session.listens[id.dump()] = {id, std::move(uris)};
  }
  update_subscriber(&session);
  return json();  // answered when the listen ends
}

void Server::end_listens(Session& s) {
  std::map<std::string, Session::Listen> ended;
  {
    std::lock_guard lock(s.mu);
    ended.swap(s.listens);
  }
  if (ended.empty()) return;
  update_subscriber(&s);
  for (const auto& [key, l] : ended)
    s.send(result_response(l.id, {{"resultType", "complete"},
                                  {"_meta", {{kMetaSubscriptionId, l.id}, {kMetaServerInfo, server_info(kModernVersions.front())}}}}));
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
    throw UnknownResource(uri);
  }
  return {{"contents", json::array({{{"uri", uri}, {"mimeType", "application/json"}, {"text", to_text(doc)}}})}};
}

json Server::call_tool(const json& params, const json& id, Session& session, const Sink& request_sink, const Call& call) {
  if (!params.contains("name") || !params["name"].is_string()) throw InvalidParams("\"name\" (a string) is required");
  const std::string& name = params["name"].get_ref<const std::string&>();
  auto found = std::find_if(tools_.begin(), tools_.end(), [&](const Tool& t) { return t.name == name; });
  // An unknown tool is a protocol error (the spec's own example), not a tool result.
  if (found == tools_.end()) throw InvalidParams("unknown tool " + name + "; tools/list names them");
  const Tool* tool = &*found;
  if (session.is_cancelled(id)) return json();  // cancelled while it waited for a worker: not run
  auto tool_error = [&](const std::string& message) {
    return result_response(id, {{"content", json::array({{{"type", "text"}, {"text", message}}})}, {"isError", true}});
  };
  static const json kNoArguments = json::object();
  const json& args = params.contains("arguments") ? params["arguments"] : kNoArguments;
  if (auto why = argument_error(name, tool->input_schema, args)) {
    log(session, request_sink, call, "warning", {{"tool", name}, {"refused", *why}});
    return tool_error(*why);
  }
  // A dry run changes nothing, so read-only mode lets it through.
  const bool can_dry_run = tool->input_schema["properties"].contains("dry_run");
  if (!tool->read_only && ctx_.read_only && !(can_dry_run && args.value("dry_run", false))) {
    log(session, request_sink, call, "warning", {{"tool", name}, {"refused", "read-only"}});
    std::string why = name + " changes the stack and this MCP server is read-only (--read-only / ORCH_MCP_READ_ONLY)";
    if (can_dry_run) why += "; call it with dry_run: true to see what it would do";
    return tool_error(why);
  }
  json progress_token;
  if (params.contains("_meta") && params["_meta"].is_object() && params["_meta"].contains("progressToken"))
    progress_token = params["_meta"]["progressToken"];
  auto report = [&](double done, double total, const std::string& message) {
    if (session.is_cancelled(id)) throw Cancelled();
    if (progress_token.is_null()) return;
    json p = {{"progressToken", progress_token}, {"progress", done}, {"message", message}};
    if (total >= 0) p["total"] = total;
    if (request_sink) request_sink({{"jsonrpc", "2.0"}, {"method", "notifications/progress"}, {"params", std::move(p)}});
    else session.notify("notifications/progress", std::move(p));
    if (session.is_cancelled(id)) throw Cancelled();  // the stream it went to has closed
  };
  json structured;
  log(session, request_sink, call, "info", {{"tool", name}, {"event", "started"}});
  try {
    structured = tool->run(args, Progress{report, [&] { return session.is_cancelled(id); }});
  } catch (const Cancelled&) {
    spdlog::info("mcp tool {}: cancelled by the client, stopped", name);
    return json();  // a cancelled call gets no response
  } catch (const Error& e) {
    log(session, request_sink, call, "error", {{"tool", name}, {"error", e.what()}});
    return tool_error(e.what());
  } catch (const std::exception& e) {
    spdlog::error("mcp tool {}: {}", name, e.what());
    log(session, request_sink, call, "error", {{"tool", name}, {"error", e.what()}});
    return tool_error(name + " failed inside orch: " + e.what());
  }
  json result = {{"content", json::array({{{"type", "text"}, {"text", to_text(structured)}}})}, {"isError", false}};
  if (auto link = kToolResources.find(name); link != kToolResources.end() && call.version >= "2025-06-18")
    result["content"].push_back({{"type", "resource_link"},
                                 {"uri", link->second.first},
                                 {"name", link->second.first.substr(7)},
                                 {"title", link->second.second},
                                 {"mimeType", "application/json"}});
  if (call.version != "2024-11-05") result["structuredContent"] = structured;
  return result_response(id, result);
}

}  // namespace orch::mcp
