#include "docker/client.hpp"
#include "core/clock.hpp"

#include <algorithm>
#include <cctype>
#include <limits>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <sstream>

#include "config/settings.hpp"
#include "core/text.hpp"
#include "docker/engine_json.hpp"

namespace orch::docker {

Endpoint endpoint_from(const Settings& s) {
  Endpoint ep;
  std::string host = s.str("DOCKER_HOST");
  if (host.empty()) host = "unix://" + s.str("DOCKER_SOCKET_PATH");
  if (host.rfind("unix://", 0) == 0) {
    ep.unix_socket = host.substr(7);
    ep.base_url = "http://localhost";
    return ep;
  }
  if (host.rfind("tcp://", 0) == 0) {
    const bool tls = s.boolean("DOCKER_TLS_VERIFY");
    ep.base_url = (tls ? "https://" : "http://") + host.substr(6);
    if (tls) {
      std::string dir = s.has("DOCKER_CERT_PATH") ? s.str("DOCKER_CERT_PATH") : std::string(std::getenv("HOME") ? std::getenv("HOME") : "") + "/.docker";
      ep.tls = http::TlsFiles{dir + "/ca.pem", dir + "/cert.pem", dir + "/key.pem", true};
    }
    return ep;
  }
  throw ConfigError("DOCKER_HOST: '" + host + "' is not unix:// or tcp://");
}

bool docker_expected(const Settings& s) {
  if (s.source("DOCKER_HOST") != SettingSource::default_value && s.has("DOCKER_HOST")) return true;
  if (s.source("DOCKER_SOCKET_PATH") != SettingSource::default_value) return true;
  return std::filesystem::exists(s.str("DOCKER_SOCKET_PATH"));
}

int compare_api_versions(const std::string& a, const std::string& b) {
  auto parse = [](const std::string& v) {
    int major = 0, minor = 0;
    std::sscanf(v.c_str(), "%d.%d", &major, &minor);
    return std::make_pair(major, minor);
  };
  auto pa = parse(a), pb = parse(b);
  return pa < pb ? -1 : pa > pb ? 1 : 0;
}

std::string ContainerInfo::label(const std::string& key, const std::string& fallback) const {
  auto it = labels.find(key);
  return it == labels.end() ? fallback : it->second;
}

std::string EventMessage::attribute(const std::string& key) const {
  auto it = attributes.find(key);
  return it == attributes.end() ? std::string() : it->second;
}

Client::Client(Endpoint ep) : ep_(std::move(ep)) {}

http::Request Client::make(const std::string& method, const std::string& path, std::chrono::milliseconds timeout) {
  http::Request r;
  r.method = method;
  r.url = ep_.base_url + path;
  r.unix_socket = ep_.unix_socket;
  r.tls = ep_.tls;
  r.timeout = timeout;
  r.connect_timeout = std::chrono::seconds(3);
  return r;
}

std::string Client::api_version() {
  std::lock_guard lock(mu_);
  if (!version_.empty()) return version_;
  auto res = http::send(make("GET", "/_ping", std::chrono::seconds(5)));
  if (res.status != 200) throw UnreachableError("docker engine at " + ep_.describe() + " answered /_ping with " + std::to_string(res.status));
  std::string server = res.header("api-version");
  if (server.empty()) server = "1.24";  // engines older than 17.x did not send it
  version_ = compare_api_versions(server, kMaxApiVersion) < 0 ? server : kMaxApiVersion;
  return version_;
}

std::string Client::prefix() { return "/v" + api_version(); }

json Client::checked(const http::Response& r, const std::string& what) {
  if (r.status >= 200 && r.status < 300) {
    if (r.body.empty()) return json();
    auto j = parse_json(r.body);
    return j.is_discarded() ? json(r.body) : j;
  }
  std::string message = r.body;
  auto j = parse_json(r.body);
  if (!j.is_discarded() && j.is_object() && j.contains("message")) message = j["message"].get<std::string>();
  if (r.status == 404) throw NotFoundError(what + ": " + message);
  throw DockerError(r.status, what + ": " + message + " (HTTP " + std::to_string(r.status) + ")");
}

http::Response Client::request(const std::string& method, const std::string& path, const std::string& body,
                               std::chrono::milliseconds timeout) {
  auto req = make(method, prefix() + path, timeout);
  req.body = body;
  if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  try {
    return http::send(req);
  } catch (const http::TransportError& e) {
    // A later call renegotiates: the engine may have been upgraded while we were away.
    std::lock_guard lock(mu_);
    version_.clear();
    throw UnreachableError("docker engine at " + ep_.describe() + ": " + e.what());
  }
}

json Client::version() { return checked(request("GET", "/version"), "version"); }

// ---------------------------------------------------------------------------------------------
// Typed reads of the engine's JSON (docker/engine_json.hpp).

using namespace engine_json;

namespace {

std::string without_slash(std::string name) {
  if (!name.empty() && name[0] == '/') name.erase(0, 1);
  return name;
}

}  // namespace

std::vector<ContainerSummary> containers_from_json(const json& j) {
  std::vector<ContainerSummary> out;
  if (!j.is_array()) return out;
  for (const auto& c : j) {
    if (!c.is_object()) continue;
    ContainerSummary s;
    s.id = text_of(c, "Id");
    if (const auto& names = member(c, "Names"); names.is_array() && !names.empty() && names[0].is_string())
      s.name = without_slash(names[0].get<std::string>());
    s.image = text_of(c, "Image");
    s.image_id = text_of(c, "ImageID");
    s.state = text_of(c, "State");
    s.status = text_of(c, "Status");
    s.labels = labels_of(member(c, "Labels"));
    s.network_mode = text_of(member(c, "HostConfig"), "NetworkMode");
    if (const auto& ports = member(c, "Ports"); ports.is_array())
      for (const auto& p : ports)
        if (p.is_object()) s.ports.push_back({text_of(p, "IP"), int_of(p, "PrivatePort"), int_of(p, "PublicPort"), text_of(p, "Type")});
    s.created = whole_of(c, "Created");
    out.push_back(std::move(s));
  }
  return out;
}

ContainerInfo info_from_json(json j) {
  ContainerInfo c;
  c.id = text_of(j, "Id");
  c.name = without_slash(text_of(j, "Name"));
  c.image_id = text_of(j, "Image");
  const auto& cfg = member(j, "Config");
  c.image = text_of(cfg, "Image");
  c.tty = flag_of(cfg, "Tty");
  c.labels = labels_of(member(cfg, "Labels"));
  if (member(cfg, "StopTimeout").is_number_integer()) c.stop_timeout = int_of(cfg, "StopTimeout");
  const auto& st = member(j, "State");
  c.status = text_of(st, "Status");
  c.running = flag_of(st, "Running");
  c.restarting = flag_of(st, "Restarting");
  c.oom_killed = flag_of(st, "OOMKilled");
  c.exit_code = int_of(st, "ExitCode");
  c.started_at = text_of(st, "StartedAt");
  c.finished_at = text_of(st, "FinishedAt");
  if (const auto& h = member(st, "Health"); h.is_object()) {
    HealthState hs;
    hs.status = text_of(h, "Status");
    hs.failing_streak = int_of(h, "FailingStreak");
    if (const auto& log = member(h, "Log"); log.is_array() && !log.empty()) {
      hs.last_output = text_of(log.back(), "Output");
      hs.last_exit_code = int_of(log.back(), "ExitCode");
    }
    c.health = hs;
  }
  c.restart_count = int_of(j, "RestartCount");
  const auto& host = member(j, "HostConfig");
  const auto& rp = member(host, "RestartPolicy");
  c.restart_policy = text_of(rp, "Name");
  if (c.restart_policy.empty()) c.restart_policy = "no";
  c.restart_max_retries = int_of(rp, "MaximumRetryCount");
  c.network_mode = text_of(host, "NetworkMode");
  c.raw = j.is_object() ? std::move(j) : json::object();
  return c;
}

EventMessage event_from_json(const json& j) {
  EventMessage m;
  m.type = text_of(j, "Type");
  m.action = text_of(j, "Action");
  const auto& actor = member(j, "Actor");
  m.id = member(actor, "ID").is_string() ? text_of(actor, "ID") : text_of(j, "id");
  m.attributes = labels_of(member(actor, "Attributes"));
  m.time_nano = whole_of(j, "timeNano");
  return m;
}

std::vector<ContainerSummary> Client::list(bool all, const std::map<std::string, std::vector<std::string>>& filters) {
  std::string path = std::string("/containers/json?all=") + (all ? "1" : "0");
  if (!filters.empty()) path += "&filters=" + filters_param(filters);
  return containers_from_json(checked(request("GET", path), "list containers"));
}

ContainerInfo Client::inspect(const std::string& id_or_name) {
  return info_from_json(checked(request("GET", "/containers/" + http::url_encode(id_or_name) + "/json"), "inspect " + id_or_name));
}

static std::string timeout_query(std::optional<int> t) { return t ? "?t=" + std::to_string(*t) : ""; }

// The engine waits up to the stop timeout (default 10 s) before SIGKILL; give HTTP a margin more.
// In long long: the timeout comes from the engine or a label, and may be as large as an int.
static std::chrono::milliseconds stop_http_timeout(std::optional<int> t) {
  return std::chrono::seconds(static_cast<long long>(t ? *t : 10) + 15);
}

void Client::start(const std::string& id) {
  auto r = request("POST", "/containers/" + http::url_encode(id) + "/start", "", std::chrono::seconds(60));
  if (r.status != 304) checked(r, "start " + id);
}

void Client::stop(const std::string& id, std::optional<int> t) {
  auto r = request("POST", "/containers/" + http::url_encode(id) + "/stop" + timeout_query(t), "", stop_http_timeout(t));
  if (r.status != 304) checked(r, "stop " + id);
}

void Client::restart(const std::string& id, std::optional<int> t) {
  checked(request("POST", "/containers/" + http::url_encode(id) + "/restart" + timeout_query(t), "", stop_http_timeout(t)),
          "restart " + id);
}

void Client::kill(const std::string& id, const std::string& signal) {
  checked(request("POST", "/containers/" + http::url_encode(id) + "/kill?signal=" + signal), "kill " + id);
}

void Client::remove(const std::string& id, bool force) {
  checked(request("DELETE", "/containers/" + http::url_encode(id) + (force ? "?force=1&v=0" : "?v=0"), "",
                  std::chrono::seconds(60)),
          "remove " + id);
}

void Client::rename(const std::string& id, const std::string& new_name) {
  checked(request("POST", "/containers/" + http::url_encode(id) + "/rename?name=" + http::url_encode(new_name)),
          "rename " + id);
}

std::string Client::create(const std::string& name, const json& body) {
  auto j = checked(request("POST", "/containers/create?name=" + http::url_encode(name), to_text(body), std::chrono::seconds(60)),
                   "create " + name);
  return j.value("Id", "");
}

void Client::connect(const std::string& network, const std::string& container, const json& endpoint) {
  checked(request("POST", "/networks/" + http::url_encode(network) + "/connect",
                  to_text(json{{"Container", container}, {"EndpointConfig", endpoint}})),
          "connect " + container + " to " + network);
}

int Client::wait(const std::string& id, std::chrono::milliseconds timeout) {
  auto j = checked(request("POST", "/containers/" + http::url_encode(id) + "/wait?condition=not-running", "", timeout),
                   "wait " + id);
  return j.value("StatusCode", -1);
}

json Client::image_inspect(const std::string& ref) {
  return checked(request("GET", "/images/" + http::url_encode(ref) + "/json"), "inspect image " + ref);
}

void Client::image_tag(const std::string& image, const std::string& repo, const std::string& tag) {
  checked(request("POST", "/images/" + http::url_encode(image) + "/tag?repo=" + http::url_encode(repo) + "&tag=" + http::url_encode(tag)),
          "tag " + image);
}

std::vector<LogLine> demux_logs(std::string_view body, bool tty) {
  std::vector<LogLine> out;
  auto push_lines = [&](const std::string& stream, std::string_view text) {
    while (!text.empty()) {
      auto nl = text.find('\n');
      auto line = text.substr(0, nl);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      out.push_back({stream, valid_utf8(line)});  // logs are bytes; the local and journald drivers keep them raw
      if (nl == std::string_view::npos) break;
      text.remove_prefix(nl + 1);
    }
  };
  if (tty) {
    push_lines("stdout", body);
    return out;
  }
  size_t pos = 0;
  while (pos + 8 <= body.size()) {
    unsigned char kind = static_cast<unsigned char>(body[pos]);
    size_t len = (static_cast<size_t>(static_cast<unsigned char>(body[pos + 4])) << 24) |
                 (static_cast<size_t>(static_cast<unsigned char>(body[pos + 5])) << 16) |
                 (static_cast<size_t>(static_cast<unsigned char>(body[pos + 6])) << 8) |
                 static_cast<size_t>(static_cast<unsigned char>(body[pos + 7]));
    pos += 8;
    if (pos + len > body.size()) len = body.size() - pos;
    push_lines(kind == 2 ? "stderr" : "stdout", body.substr(pos, len));
    pos += len;
  }
  return out;
}

std::vector<LogLine> Client::logs(const std::string& id, int tail, bool tty) {
  auto r = request("GET", "/containers/" + http::url_encode(id) + "/logs?stdout=1&stderr=1&tail=" + std::to_string(tail));
  if (r.status != 200) checked(r, "logs " + id);
  return demux_logs(r.body, tty);
}

void Client::follow_logs(const std::string& id, int tail, bool tty, const std::function<void(const LogLine&)>& on_line,
                         const std::function<bool()>& cancelled) {
  auto req = make("GET", prefix() + "/containers/" + http::url_encode(id) + "/logs?stdout=1&stderr=1&follow=1&tail=" + std::to_string(tail),
                  std::chrono::milliseconds(0));
  // Only whole frames (8-byte header and its payload) or, for a TTY, whole lines are split: a
  // chunk may end anywhere.
  std::string buffer;
  http::Response res;
  try {
    res = http::stream(
        req,
        [&](std::string_view chunk) {
          buffer.append(chunk);
          size_t used = 0;
          if (tty) {
            const auto nl = buffer.rfind('\n');
            if (nl != std::string::npos) used = nl + 1;
          } else {
            while (used + 8 <= buffer.size()) {
              const auto* b = reinterpret_cast<const unsigned char*>(buffer.data() + used);
              const size_t len = (size_t{b[4]} << 24) | (size_t{b[5]} << 16) | (size_t{b[6]} << 8) | size_t{b[7]};
              if (used + 8 + len > buffer.size()) break;
              used += 8 + len;
            }
          }
          if (used > 0) {
            for (const auto& l : demux_logs(std::string_view(buffer).substr(0, used), tty)) on_line(l);
            buffer.erase(0, used);
          }
          return !cancelled();
        },
        cancelled);
  } catch (const http::TransportError& e) {
    throw UnreachableError("docker logs from " + ep_.describe() + ": " + e.what());
  }
  if (res.status != 200 && res.status != 0 && !cancelled()) checked(res, "logs " + id);
  if (tty && !buffer.empty())
    for (const auto& l : demux_logs(buffer, true)) on_line(l);  // a last line without its newline
}

Stats compute_stats(const json& doc) {
  // Typed reads: a field of another type counts as absent (value() would throw, and a float cast
  // to an integer beyond its range is undefined).
  auto number = [](const json& o, const char* key) {
    const auto& v = member(o, key);
    return v.is_number() ? v.get<double>() : 0.0;
  };
  auto bytes = [](const json& o, const char* key) -> unsigned long long {
    const auto& v = member(o, key);
    if (v.is_number_unsigned()) return v.get<unsigned long long>();
    if (v.is_number_integer() && v.get<long long>() >= 0) return static_cast<unsigned long long>(v.get<long long>());
    return 0;
  };
  Stats s;
  const auto& cpu = member(doc, "cpu_stats");
  const auto& pre = member(doc, "precpu_stats");
  auto total = [&](const json& c) { return number(member(c, "cpu_usage"), "total_usage"); };
  double cpu_delta = total(cpu) - total(pre);
  double system_delta = number(cpu, "system_cpu_usage") - number(pre, "system_cpu_usage");
  double online = number(cpu, "online_cpus");
  if (!(online > 0)) {  // absent, or nonsense (negative, NaN): counted from the per-CPU usage
    const auto& per = member(member(cpu, "cpu_usage"), "percpu_usage");
    online = per.is_array() ? static_cast<double>(per.size()) : 0.0;
  }
  if (online == 0) online = 1;
  if (system_delta > 0 && cpu_delta > 0) s.cpu_percent = cpu_delta / system_delta * online * 100.0;
  const auto& mem = member(doc, "memory_stats");
  const auto& ms = member(mem, "stats");
  auto usage = bytes(mem, "usage");
  // As the docker CLI: cgroup v1 subtracts total_inactive_file, v2 inactive_file.
  unsigned long long cache = ms.contains("total_inactive_file") ? bytes(ms, "total_inactive_file") : bytes(ms, "inactive_file");
  s.memory_usage = usage > cache ? usage - cache : usage;
  s.memory_limit = bytes(mem, "limit");
  if (s.memory_limit > 0) s.memory_percent = static_cast<double>(s.memory_usage) / static_cast<double>(s.memory_limit) * 100.0;
  return s;
}

Stats Client::stats(const std::string& id) {
  // stream=false makes the engine take two samples (about a second apart) so precpu is filled.
  return compute_stats(checked(request("GET", "/containers/" + http::url_encode(id) + "/stats?stream=false", "", std::chrono::seconds(20)),
                               "stats " + id));
}

// since/until are "seconds.nanoseconds" for the engine.
static std::string engine_timestamp(long long ns) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%lld.%09lld", ns / 1'000'000'000, ns % 1'000'000'000);
  return buf;
}

std::vector<EventMessage> Client::past_events(long long since_ns, const std::map<std::string, std::vector<std::string>>& filters) {
  const long long now_ns = unix_ns();
  std::string path = "/events?since=" + engine_timestamp(std::max(since_ns, 1'000'000'000LL)) + "&until=" + engine_timestamp(now_ns);
  if (!filters.empty()) path += "&filters=" + filters_param(filters);
  auto r = request("GET", path, "", std::chrono::seconds(15));
  if (r.status != 200) checked(r, "events");
  std::vector<EventMessage> out;
  size_t pos = 0;
  while (pos < r.body.size()) {
    auto nl = r.body.find('\n', pos);
    auto j = parse_json(std::string_view(r.body).substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
    if (!j.is_discarded() && j.is_object()) out.push_back(event_from_json(j));
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return out;
}

std::optional<long long> engine_time_ns(const std::string& t) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
                  &consumed) != 6)
    return std::nullopt;
  if (tm.tm_year <= 1) return std::nullopt;  // Go's zero time
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  long long ns = 0;
  size_t i = static_cast<size_t>(consumed);
  if (i < t.size() && t[i] == '.') {
    long long scale = 100'000'000;
    for (++i; i < t.size() && std::isdigit(static_cast<unsigned char>(t[i])); ++i, scale /= 10)
      if (scale > 0) ns += (t[i] - '0') * scale;
  }
  long long offset_s = 0;  // the engine writes UTC ("Z"), but a numeric offset is RFC 3339 too
  if (i < t.size() && (t[i] == '+' || t[i] == '-')) {
    int hh = 0, mm = 0;
    if (std::sscanf(t.c_str() + i + 1, "%2d:%2d", &hh, &mm) == 2) offset_s = (t[i] == '+' ? 1 : -1) * (hh * 3600LL + mm * 60LL);
  }
  const long long secs = static_cast<long long>(timegm(&tm)) - offset_s;
  // 1970 to 2200: what an engine writes, and far from where nanoseconds overflow a long long.
  if (secs < 0 || secs > 7'258'118'400LL) return std::nullopt;
  return secs * 1'000'000'000LL + ns;
}

void Client::events(const EventFilter& filter, const std::function<void(const EventMessage&)>& on_event,
                    const std::function<bool()>& cancelled) {
  std::string path = prefix() + "/events?filters=" + filters_param(filter.filters);
  if (filter.since) path += "&since=" + std::to_string(*filter.since);
  auto req = make("GET", path, std::chrono::milliseconds(0));
  std::string buffer;
  http::Response res;
  try {
    res = http::stream(
        req,
        [&](std::string_view chunk) {
          buffer.append(chunk);
          size_t nl;
          while ((nl = buffer.find('\n')) != std::string::npos) {
            auto line = buffer.substr(0, nl);
            buffer.erase(0, nl + 1);
            auto j = parse_json(line);
            if (j.is_discarded() || !j.is_object()) continue;
            on_event(event_from_json(j));
          }
          return !cancelled();
        },
        cancelled);
  } catch (const http::TransportError& e) {
    std::lock_guard lock(mu_);
    version_.clear();
    throw UnreachableError("docker events from " + ep_.describe() + ": " + e.what());
  }
  if (res.status != 200 && res.status != 0 && !cancelled()) checked(res, "events");
}

std::string ContainerSummary::health() const {
  if (status.find("(healthy)") != std::string::npos) return "healthy";
  if (status.find("(unhealthy)") != std::string::npos) return "unhealthy";
  if (status.find("(health: starting)") != std::string::npos) return "starting";
  return "";
}

}  // namespace orch::docker
