#include "docker/compose_project.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "docker/engine_json.hpp"
#include "docker/identity.hpp"

namespace orch::docker {

std::vector<std::string> running_projects(const std::vector<ContainerSummary>& containers) {
  std::set<std::string> out;
  for (const auto& c : containers)
    if (c.state == "running")
      if (auto it = c.labels.find(kComposeProjectLabel); it != c.labels.end() && !it->second.empty()) out.insert(it->second);
  return {out.begin(), out.end()};
}

static std::string listed(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string choose_project(const std::vector<ContainerSummary>& containers, const std::string& wanted) {
  const auto running = running_projects(containers);
  if (!wanted.empty()) {
    for (const auto& c : containers)
      if (auto it = c.labels.find(kComposeProjectLabel); it != c.labels.end() && it->second == wanted) return wanted;
    throw UsageError("no container of a compose project \"" + wanted + "\"" +
                     (running.empty() ? std::string(" (no compose project is running)") : "; running: " + listed(running)));
  }
  if (running.empty())
    throw UsageError("no compose project is running (no running container has the label " + std::string(kComposeProjectLabel) +
                     "): start it with docker compose up, or name one with --project");
  if (running.size() > 1) throw UsageError("several compose projects are running: " + listed(running) + "; choose one with --project");
  return running.front();
}

std::optional<std::string> healthcheck_url(const std::vector<std::string>& test) {
  std::string cmd;
  for (size_t i = 0; i < test.size(); ++i)
    if (i > 0 || (test[i] != "CMD" && test[i] != "CMD-SHELL")) cmd += test[i] + " ";
  for (const char* scheme : {"http://", "https://"}) {
    const auto at = cmd.find(scheme);
    if (at == std::string::npos) continue;
    const auto end = cmd.find_first_of(" \t\"'`;|&)<>", at);
    return cmd.substr(at, end == std::string::npos ? std::string::npos : end - at);
  }
  return std::nullopt;
}

namespace {

struct Url {
  std::string scheme, host, path;
  int port = 0;
};

// scheme://host[:port][/path]; the port defaults by scheme.
Url split(const std::string& url) {
  Url u;
  const auto sep = url.find("://");
  u.scheme = url.substr(0, sep);
  const auto rest = url.substr(sep + 3);
  const auto slash = rest.find_first_of("/?#");
  std::string authority = rest.substr(0, slash);
  u.path = slash == std::string::npos ? "/" : rest.substr(slash);
  if (u.path.front() != '/') u.path = "/" + u.path;
  u.port = u.scheme == "https" ? 443 : 80;
  const auto colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']', colon) == std::string::npos) {
    try {
      u.port = std::stoi(authority.substr(colon + 1));
    } catch (const std::exception&) {}
    authority = authority.substr(0, colon);
  }
  u.host = authority;
  return u;
}

bool loopback(const std::string& host) {
  return host == "localhost" || host == "127.0.0.1" || host == "0.0.0.0" || host == "[::1]" || host == "::1" || host == "[::]";
}

// Published TCP ports, one per private port (the engine lists IPv4 and IPv6 apart), lowest first.
std::map<int, int> published_tcp(const ContainerSummary& c) {
  std::map<int, int> out;
  for (const auto& p : c.ports)
    if (p.public_port > 0 && (p.type.empty() || p.type == "tcp")) out.emplace(p.private_port, p.public_port);
  return out;
}

std::vector<std::string> test_of(const ContainerInfo& info) {
  std::vector<std::string> out;
  const auto& test = engine_json::member(engine_json::member(engine_json::member(info.raw, "Config"), "Healthcheck"), "Test");
  if (test.is_array())
    for (const auto& t : test)
      if (t.is_string()) out.push_back(t.get<std::string>());
  return out;
}

void find_url(InitService& s, const ContainerSummary& c, const std::vector<std::string>& test) {
  const auto ports = published_tcp(c);
  if (auto hc = healthcheck_url(test)) {
    const Url u = split(*hc);
    s.health = u.path;
    const std::string origin = "the HEALTHCHECK's " + *hc;
    if (!loopback(u.host)) {
      s.url = u.scheme + "://" + u.host + ":" + std::to_string(u.port);
      s.url_from = origin;
    } else if (c.network_mode == "host") {
      s.url = u.scheme + "://127.0.0.1:" + std::to_string(u.port);
      s.url_from = origin + " (host network)";
    } else if (auto p = ports.find(u.port); p != ports.end()) {
      s.url = u.scheme + "://127.0.0.1:" + std::to_string(p->second);
      s.url_from = origin + ", port " + std::to_string(u.port) + " published as " + std::to_string(p->second);
      s.notes.push_back("inside the compose network: url: " + u.scheme + "://" + s.name + ":" + std::to_string(u.port));
    } else {
      s.url = u.scheme + "://" + s.name + ":" + std::to_string(u.port);
      s.url_from = origin + " on the compose network (port not published: orch serve must run in the project)";
    }
    return;
  }
  if (ports.empty()) return;
  const auto [priv, pub] = *ports.begin();
  s.url = "http://127.0.0.1:" + std::to_string(pub);
  s.health = "/";
  s.url_from = "published port " + std::to_string(priv) + " -> " + std::to_string(pub) + " (no HEALTHCHECK URL: review health)";
  s.notes.push_back("inside the compose network: url: http://" + s.name + ":" + std::to_string(priv));
  for (auto it = std::next(ports.begin()); it != ports.end(); ++it)
    s.notes.push_back("also published: " + std::to_string(it->first) + " -> " + std::to_string(it->second));
}

void advise_labels(InitService& s, const Labels& labels) {
  for (const auto& [k, v] : labels)
    if (k.starts_with("orch.")) s.labels.push_back(k + "=" + v);
  if (!heal_labelled(labels) && !monitor_only(labels))
    s.label_advice.push_back("orch.heal=true to have orch restart it when it dies or turns unhealthy (or orch.monitor-only=true)");
  // Compose v2 records depends_on as "redis:service_started:false,db:...": orch restarts
  // dependents after healing what they depend on when they say so.
  if (auto it = labels.find("com.docker.compose.depends_on");
      it != labels.end() && !it->second.empty() && labels.find("orch.depends-on") == labels.end()) {
    std::string names;
    size_t start = 0;
    while (start <= it->second.size()) {
      auto end = it->second.find(',', start);
      if (end == std::string::npos) end = it->second.size();
      const auto entry = it->second.substr(start, end - start);
      if (const auto name = entry.substr(0, entry.find(':')); !name.empty()) names += (names.empty() ? "" : ",") + name;
      start = end + 1;
    }
    if (!names.empty()) s.label_advice.push_back("orch.depends-on=" + names + " to be restarted after orch heals those");
  }
}

}  // namespace

InitProject describe_project(Client& engine, const std::vector<ContainerSummary>& containers, const std::string& project) {
  // Per compose service its containers, running ones first (the engine lists newest first).
  std::map<std::string, std::vector<const ContainerSummary*>> by_service;
  for (const auto& c : containers) {
    const auto p = c.labels.find(kComposeProjectLabel);
    const auto svc = c.labels.find(kComposeServiceLabel);
    if (p == c.labels.end() || p->second != project || svc == c.labels.end() || svc->second.empty()) continue;
    by_service[svc->second].push_back(&c);
  }
  InitProject out;
  out.name = project;
  for (auto& [name, list] : by_service) {
    std::stable_partition(list.begin(), list.end(), [](const ContainerSummary* c) { return c->state == "running"; });
    InitService s;
    s.name = name;
    s.container = name;
    for (const auto* c : list) s.containers.push_back(c->name);
    const ContainerSummary& first = *list.front();
    std::vector<std::string> test;
    try {
      test = test_of(engine.inspect(first.id));
    } catch (const NotFoundError&) {  // removed since the list: no HEALTHCHECK to read
    }
    find_url(s, first, test);
    advise_labels(s, first.labels);
    out.services.push_back(std::move(s));
  }
  return out;
}

}  // namespace orch::docker
