#pragma once
// MCP (Model Context Protocol) server core, independent of the transport: JSON-RPC 2.0 requests
// in, responses and notifications out through a Session. Tools mirror orch's commands; resources
// are orch://status and orch://events/recent (subscribable).
#include <atomic>
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

inline const std::vector<std::string> kProtocolVersions = {"2025-06-18", "2025-03-26", "2024-11-05"};

// What tools act on.
struct Context {
  const Config& config;
  Bus& bus;
  docker::Client& docker;
  StateStore& state;
  Notifier& notifier;
  Metrics& metrics;
  bool read_only = false;
  std::vector<std::string> allow;  // containers/services destructive tools may touch; empty = all
  std::string orch_url;            // for sync_test
  std::function<json()> status;    // orch://status
};

// One client connection: how to send it notifications, and what it negotiated/subscribed.
class Session {
 public:
  explicit Session(std::function<void(const json&)> send) : send_(std::move(send)) {}
  void notify(const std::string& method, json params);
  // notifications/message when `level` is at or above the level the client set (logging/setLevel).
  void log(const std::string& level, const std::string& logger, json data);
  std::string protocol_version;
  bool initialized = false;
  std::string log_level = "info";
  std::set<std::string> subscriptions;
  std::set<std::string> cancelled;  // request ids (dumped)
  std::mutex mu;

 private:
  std::function<void(const json&)> send_;
  std::mutex send_mu_;
};

struct Tool {
  std::string name, title, description;
  json input_schema, output_schema;
  bool read_only = false, destructive = false, idempotent = false, open_world = false;
  // Returns structured content; throws orch::Error for a tool failure (reported with isError).
  std::function<json(const json& args, const std::function<void(double, double, const std::string&)>& progress)> run;
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
  // Sessions that want resource updates.
  void attach(Session* s);
  void detach(Session* s);
  const std::vector<Tool>& tools() const { return tools_; }

 private:
  json dispatch(const json& request, Session& session, const Sink& request_sink);
  json call_tool(const json& params, const json& id, Session& session, const Sink& request_sink);
  json read_resource(const std::string& uri);
  void on_bus_event(const Event& e);
  void update_bus_subscription();

  Context ctx_;
  std::vector<Tool> tools_;
  std::mutex sessions_mu_;
  std::set<Session*> sessions_;
  std::mutex bus_mu_;  // guards the two below; taken before sessions_mu_
  bool subscribed_ = false;
  Subscription bus_sub_;
};

std::vector<Tool> make_tools(Context& ctx);

// RFC 5424 severities as MCP names them, lowest first; -1 for an unknown name.
int log_severity(const std::string& level);
// JSON-RPC batches exist in 2025-03-26 (and plain JSON-RPC under 2024-11-05); 2025-06-18 removed them.
bool batches_allowed(const std::string& protocol_version);

}  // namespace orch::mcp
