#pragma once
// A Docker Engine API client over libcurl: unix socket or tcp:// (+TLS). The API version is
// negotiated from GET /_ping (never pinned): min(engine's Api-Version, the newest this client
// knows). An unreachable engine is an UnreachableError; an engine error answer is a DockerError
// (NotFound for 404), carrying the engine's message.
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/json.hpp"
#include "http/client.hpp"

namespace orch {
class Settings;
}

namespace orch::docker {

struct Endpoint {
  std::string unix_socket;  // set for unix://
  std::string base_url;     // "http://localhost" for a socket, else http(s)://host:port
  std::optional<http::TlsFiles> tls;
  std::string describe() const { return unix_socket.empty() ? base_url : "unix://" + unix_socket; }
};

// DOCKER_HOST (unix:// or tcp://, with DOCKER_TLS_VERIFY / DOCKER_CERT_PATH), else
// DOCKER_SOCKET_PATH. Throws ConfigError for an unsupported scheme.
Endpoint endpoint_from(const Settings& s);
// True when the operator asked for Docker (DOCKER_HOST or DOCKER_SOCKET_PATH set) or the
// default socket exists: only then does an unreachable engine make orch not ready.
bool docker_expected(const Settings& s);

struct DockerError : OperationError {
  DockerError(long status, const std::string& m) : OperationError(m), status(status) {}
  long status;
};
// The engine answered 404 (no such container or image).
struct NotFoundError : orch::NotFoundError {
  explicit NotFoundError(const std::string& m) : orch::NotFoundError(m) {}
};

using Labels = std::map<std::string, std::string>;

// A port of the list's `Ports`: public_port 0 when the port is exposed but not published.
struct PortMapping {
  std::string ip;  // the host address it is published on ("0.0.0.0", "::")
  int private_port = 0;
  int public_port = 0;
  std::string type;  // tcp, udp, sctp
};

struct ContainerSummary {
  std::string id;
  std::string name;  // without the leading '/'
  std::string image;
  std::string image_id;
  std::string state;   // created, running, exited, ...
  std::string status;  // "Up 3 minutes (healthy)"
  Labels labels;
  std::string network_mode;         // HostConfig.NetworkMode: "container:<id>" shares another's namespace
  std::vector<PortMapping> ports;   // as the engine lists them (IPv4 and IPv6 each)
  long long created = 0;            // unix seconds; the engine lists newest first
  unsigned long long revision = 0;  // ContainerCache: changes when the container does; 0 = not kept
  // From `status`: healthy, unhealthy, starting, or "" when the container has no health check.
  std::string health() const;
};
using ContainerList = std::shared_ptr<const std::vector<ContainerSummary>>;

// Where a list of every container comes from: the engine itself, one GET /containers/json per call
// (Client: the one-shot commands), or what orch serve keeps (ContainerCache, docker/cache.hpp).
class ContainerSource {
 public:
  virtual ~ContainerSource() = default;
  // Every container, stopped ones too, newest first. Throws UnreachableError.
  virtual ContainerList containers() = 0;
};

struct HealthState {
  std::string status;  // starting, healthy, unhealthy
  int failing_streak = 0;
  std::string last_output;
  int last_exit_code = 0;
};

struct ContainerInfo {
  std::string id;
  std::string name;
  std::string image;     // as configured (repo:tag)
  std::string image_id;  // sha256:...
  std::string status;    // running, exited, ...
  bool running = false;
  bool restarting = false;
  bool oom_killed = false;
  int exit_code = 0;
  std::string started_at, finished_at;
  std::optional<HealthState> health;  // only with a health check
  int restart_count = 0;
  std::string restart_policy;  // no, always, unless-stopped, on-failure
  int restart_max_retries = 0;
  std::optional<int> stop_timeout;  // Config.StopTimeout
  bool tty = false;
  Labels labels;
  std::string network_mode;
  json raw;  // the whole inspect document (for recreate)

  std::string label(const std::string& key, const std::string& fallback = "") const;
  std::string compose_service() const { return label("com.docker.compose.service"); }
  std::string compose_project() const { return label("com.docker.compose.project"); }
};

struct Stats {
  double cpu_percent = 0;
  unsigned long long memory_usage = 0;  // bytes, cache excluded as `docker stats` does
  unsigned long long memory_limit = 0;
  double memory_percent = 0;
};
// The `docker stats` arithmetic over one stats document (with precpu_stats).
Stats compute_stats(const json& doc);

struct LogLine {
  std::string stream;  // stdout | stderr
  std::string text;    // without the trailing newline
};
// Splits a logs body: the 8-byte-header multiplexed format, or raw text for TTY containers.
std::vector<LogLine> demux_logs(std::string_view body, bool tty);

struct EventMessage {
  std::string type;    // container, image, network, ...
  std::string action;  // start, die, health_status: unhealthy, oom, kill, stop, ...
  std::string id;
  Labels attributes;   // name, image, exitCode, signal and the container's labels
  long long time_nano = 0;
  std::string attribute(const std::string& key) const;
};

struct EventFilter {
  std::map<std::string, std::vector<std::string>> filters = {{"type", {"container"}}};
  std::optional<long long> since;  // unix seconds
};

// The engine's timestamps (RFC 3339 with nanoseconds, UTC) as nanoseconds since the epoch;
// nullopt for an empty or zero time ("0001-01-01T00:00:00Z": never started or never finished),
// and for one outside 1970 to 2200, so that arithmetic on it cannot overflow.
std::optional<long long> engine_time_ns(const std::string& rfc3339);

// The engine's answers read into orch's types: GET /events lines, GET /containers/json and
// GET /containers/{id}/json. They never throw: a member that is missing or not of the type the
// Engine API documents reads as empty (or zero), so an odd engine, or a proxy in front of it,
// cannot take a reader down (tests/fuzz/docker_fuzz.cpp).
EventMessage event_from_json(const json& j);
std::vector<ContainerSummary> containers_from_json(const json& j);
ContainerInfo info_from_json(json j);

class Client final : public ContainerSource {
 public:
  explicit Client(Endpoint ep);

  const Endpoint& endpoint() const { return ep_; }
  // Pings and negotiates; returns the version in use. Throws UnreachableError.
  std::string api_version();
  json version();

  std::vector<ContainerSummary> list(bool all = true, const std::map<std::string, std::vector<std::string>>& filters = {});
  ContainerList containers() override { return std::make_shared<const std::vector<ContainerSummary>>(list(true)); }
  ContainerInfo inspect(const std::string& id_or_name);
  void start(const std::string& id);
  // `timeout_s` = seconds the engine waits before SIGKILL (the container's own by default); the
  // HTTP timeout is that plus a margin, so the engine always answers first.
  void stop(const std::string& id, std::optional<int> timeout_s = std::nullopt);
  void restart(const std::string& id, std::optional<int> timeout_s = std::nullopt);
  void kill(const std::string& id, const std::string& signal = "KILL");
  void remove(const std::string& id, bool force = false);
  void rename(const std::string& id, const std::string& new_name);
  // POST /containers/create?name=...; returns the new id.
  std::string create(const std::string& name, const json& body);
  // POST /networks/{network}/connect: joins a created container to one more network with
  // `endpoint` (its EndpointSettings: Aliases, ...). Before API 1.44 a create takes one network.
  void connect(const std::string& network, const std::string& container, const json& endpoint);
  // Blocks until the container stops (condition not-running); returns its exit code.
  int wait(const std::string& id, std::chrono::milliseconds timeout);

  json image_inspect(const std::string& ref);
  void image_tag(const std::string& image, const std::string& repo, const std::string& tag);

  std::vector<LogLine> logs(const std::string& id, int tail = 100, bool tty = false);
  // GET /containers/{id}/logs?follow=1: the last `tail` lines, then each new one as it is written,
  // until `cancelled()` (polled about once a second) or the engine ends the stream (the container
  // stopped). Throws UnreachableError, NotFoundError.
  void follow_logs(const std::string& id, int tail, bool tty, const std::function<void(const LogLine&)>& on_line,
                   const std::function<bool()>& cancelled);
  Stats stats(const std::string& id);

  // Follows GET /events until `cancelled()` is true (polled about once a second) or the stream
  // ends (engine restarted). Throws UnreachableError when the engine cannot be reached.
  void events(const EventFilter& filter, const std::function<void(const EventMessage&)>& on_event,
              const std::function<bool()>& cancelled);
  // The events the engine still holds from `since_ns` up to now (GET /events with since and until:
  // answered from the engine's bounded in-memory log, oldest first; nothing is streamed).
  std::vector<EventMessage> past_events(long long since_ns, const std::map<std::string, std::vector<std::string>>& filters = {});

  // Raw access for what the typed calls do not cover (docker/swarm.hpp reads services, tasks and
  // nodes with it); `checked` turns an answer into its JSON or the engine's error, as every typed
  // call does.
  static json checked(const http::Response& r, const std::string& what);
  http::Response request(const std::string& method, const std::string& path, const std::string& body = "",
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

 private:
  http::Request make(const std::string& method, const std::string& path, std::chrono::milliseconds timeout);
  std::string prefix();

  Endpoint ep_;
  std::mutex mu_;
  std::string version_;
};

// The newest API version this client knows; older engines are spoken to at their own version.
inline constexpr const char* kMaxApiVersion = "1.47";

// Compares dotted API versions ("1.41" < "1.47").
int compare_api_versions(const std::string& a, const std::string& b);

}  // namespace orch::docker
