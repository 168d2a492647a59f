#pragma once
// MCP (Model Context Protocol) server core, independent of the transport: JSON-RPC 2.0 requests
// in, responses and notifications out through a Session. Tools mirror orch's commands; resources
// are orch://status and orch://events/recent (subscribable).
#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bus/bus.hpp"
#include "config/config.hpp"
#include "core/json.hpp"
#include "docker/client.hpp"
#include "metrics/metrics.hpp"
#include "notify/notifier.hpp"
#include "state/store.hpp"

namespace orch::mcp {

// JSON-RPC error codes: the standard ones, MCP's resource-not-found (2024-11-05 to 2025-11-25;
// 2026-07-28 uses -32602), orch's "busy" (the stdio worker pool's queue is full: retry once a call
// has answered), and the two 2026-07-28 defines for version negotiation and HTTP header checks.
inline constexpr int kParseError = -32700, kInvalidRequest = -32600, kMethodNotFound = -32601, kInvalidParams = -32602,
                     kInternalError = -32603, kResourceNotFound = -32002, kServerBusy = -32003, kHeaderMismatch = -32020,
                     kUnsupportedProtocolVersion = -32022;

// Every revision orch speaks, newest first. "Modern" revisions (2026-07-28 on) are stateless: each
// request names its version in params._meta and there is no initialize; "legacy" ones negotiate
// a version per session with initialize.
inline const std::vector<std::string> kProtocolVersions = {"2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};
inline const std::vector<std::string> kModernVersions = {"2026-07-28"};
inline const std::vector<std::string> kLegacyVersions = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};
// The _meta keys of a modern request.
inline constexpr const char* kMetaProtocolVersion = "io.modelcontextprotocol/protocolVersion";
inline constexpr const char* kMetaLogLevel = "io.modelcontextprotocol/logLevel";
inline constexpr const char* kMetaServerInfo = "io.modelcontextprotocol/serverInfo";
inline constexpr const char* kMetaSubscriptionId = "io.modelcontextprotocol/subscriptionId";

bool is_supported_version(const std::string& version);
bool is_modern_version(const std::string& version);
// A modern request: params._meta carries io.modelcontextprotocol/protocolVersion. `version` gets
// its value ("" when that is not a string).
bool declares_version(const json& message, std::string* version = nullptr);
// The UnsupportedProtocolVersionError (-32022) for `requested`, listing what orch supports.
json unsupported_version_response(const json& id, const std::string& requested);

// What tools act on.
struct Context {
  const Config& config;
  Bus& bus;
  docker::Client& docker;
  docker::ContainerSource& containers;  // orch serve: its cache; orch mcp: the engine
  StateStore& state;
  Notifier& notifier;
  Metrics& metrics;
  bool read_only = false;
  // ORCH_MCP_ALLOW: the containers/services destructive tools may touch (matched by
  // docker::matches_names); empty = those in orch's scope (docker::in_orch_scope).
  std::vector<std::string> allow;
  std::string orch_url;            // for sync_test
  std::function<json()> status;    // orch://status
};

// One client connection: how to send it notifications, and what it negotiated/subscribed.
class Session {
 public:
  explicit Session(std::function<void(const json&)> send) : send_(std::move(send)) {}
  void notify(const std::string& method, json params);
  // Any message (a response that comes after its request was answered: a listen's end).
  void send(const json& message);
  // notifications/message when `level` is at or above the level the client set (logging/setLevel).
  void log(const std::string& level, const std::string& logger, json data);
  // notifications/cancelled: the request's response, whatever it is, is not sent. The newest
  // kMaxCancelled ids are remembered, so a client cancelling ids that already ended cannot grow it.
  void cancel(const json& request_id);
  bool is_cancelled(const json& request_id);
  bool take_cancelled(const json& request_id);  // and forgets it
  std::string protocol_version;
  std::atomic<bool> initialized{false};
  std::string log_level = "info";
  std::set<std::string> subscriptions;  // resources/subscribe (legacy revisions)
  // subscriptions/listen (2026-07-28): each open listen's request id and the resources it follows,
  // keyed by the id as dumped JSON. Its notifications carry the id in _meta.
  struct Listen {
    json id;
    std::set<std::string> uris;
  };
  std::map<std::string, Listen> listens;
  std::mutex mu;

  static constexpr size_t kMaxCancelled = 256;
  static constexpr size_t kMaxListens = 16;  // per session (stdio); HTTP has one per stream

 private:
  std::function<void(const json&)> send_;
  std::mutex send_mu_;
  std::deque<std::string> cancelled_order_;  // under mu; ids as dumped JSON, oldest first
  std::set<std::string> cancelled_;
};

// Thrown out of a tool's progress report when its call was cancelled (notifications/cancelled,
// or on HTTP the client closing the call's SSE stream).
struct Cancelled : std::runtime_error {
  Cancelled() : std::runtime_error("cancelled") {}
};

// What a running tool reports through, and asks whether its call was cancelled.
struct Progress {
  std::function<void(double, double, const std::string&)> report;
  std::function<bool()> is_cancelled;
  void operator()(double done, double total, const std::string& message) const { report(done, total, message); }
  bool cancelled() const { return is_cancelled && is_cancelled(); }
};

struct Tool {
  std::string name, title, description;
  json input_schema, output_schema;
  bool read_only = false, destructive = false, idempotent = false, open_world = false;
  // Returns structured content; throws for a tool failure (reported with isError). `args` fits
  // input_schema (checked before), so a tool may read them without type checks. `progress(done,
  // total, message)` (total < 0: unknown) throws Cancelled once the call is cancelled, so a tool
  // stops at its next report: long tools report between steps, and one that waits polls
  // progress.cancelled().
  std::function<json(const json& args, const Progress& progress)> run;
};

class Server {
 public:
  explicit Server(Context ctx);
  ~Server();
  // Handles one JSON-RPC message or batch; returns the response (null for notifications).
  // `request_sink`, when given, receives the progress notifications of this message's tool call
  // instead of the session (Streamable HTTP answers such a POST with an SSE stream).
  using Sink = std::function<void(const json&)>;
  json handle(const json& message, Session& session, const Sink& request_sink = {});
  // Parses a line/body first: malformed JSON gives the -32700 response.
  json handle_text(const std::string& text, Session& session);
  // A live session (attach) may subscribe to resources; after detach it never hears from the
  // server again and may be destroyed.
  void attach(Session* s);
  void detach(Session* s);
  // Ends the session's subscriptions/listen requests gracefully: each gets its (empty) result,
  // the 2026-07-28 sign that the server closed it (orch stopping, stdin closed).
  void end_listens(Session& s);
  const std::vector<Tool>& tools() const { return tools_; }

 private:
  // One request as it is served: the session's negotiated version (legacy), or the version the
  // request itself declares (modern, stateless: its log level comes with it, and without one it
  // gets no notifications/message).
  struct Call {
    std::string version;
    bool modern = false;
    std::optional<std::string> log_level;  // modern only
  };
  json dispatch(const json& request, Session& session, const Sink& request_sink);
  json respond(const std::string& method, const json& params, const json& id, Session& session, const Sink& request_sink, const Call& call);
  json call_tool(const json& params, const json& id, Session& session, const Sink& request_sink, const Call& call);
  json read_resource(const std::string& uri);
  // subscriptions/listen: acknowledges with the part of the filter orch honours, then follows the
  // bus for the session; the request is answered only when the listen ends (end_listens).
  json listen(const json& params, const json& id, Session& session, const Call& call);
  // notifications/message for a call: the session's level (legacy) or the request's (modern).
  void log(Session& session, const Sink& request_sink, const Call& call, const std::string& level, json data);
  json server_info(const std::string& version) const;
  json capabilities(bool modern) const;
  void on_bus_event(const Event& e);
  // After a session's subscriptions changed (or it was detached): the bus is followed only while
  // some session has a subscription, and an event visits only those sessions. 20,000 idle
  // sessions visited on every event made webhook ingestion on the in-process bus 14-23x slower.
  void update_subscriber(Session* s);

  Context ctx_;
  std::vector<Tool> tools_;
  std::mutex bus_mu_;       // taken before sessions_mu_; guards the two below
  bool subscribed_ = false;
  Subscription bus_sub_;
  std::mutex sessions_mu_;  // taken before a Session's mu; guards the two sets
  std::set<Session*> attached_;
  std::set<Session*> subscribers_;  // attached sessions with at least one subscription or listen
};

std::vector<Tool> make_tools(Context& ctx);

// A comma-separated setting (ORCH_MCP_ALLOW, ORCH_MCP_HOSTS, ORCH_MCP_ORIGINS) as its items,
// blanks around them trimmed, empty ones dropped.
std::vector<std::string> split_list(const std::string& setting);

// RFC 5424 severities as MCP names them, lowest first; -1 for an unknown name.
int log_severity(const std::string& level);
json error_response(const json& id, int code, const std::string& message, json data = nullptr);

// A JSON-RPC response (id with result or error, no method): what a client sends back to a server
// request. orch sends none, so such messages are ignored.
bool is_client_response(const json& message);

// JSON-RPC batches exist in 2025-03-26 (and plain JSON-RPC under 2024-11-05); 2025-06-18 removed them.
bool batches_allowed(const std::string& protocol_version);

}  // namespace orch::mcp
