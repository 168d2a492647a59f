#include "docker/recreate.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <vector>

namespace orch::docker {

// Only objects (arrays, strings) are read from the inspect document: another type there (an odd
// engine) reads as absent.
static json object_at(const json& o, const char* key) {
  const auto it = o.is_object() ? o.find(key) : o.end();
  return o.is_object() && it != o.end() && it->is_object() ? *it : json::object();
}
static json array_at(const json& o, const char* key) {
  const auto it = o.is_object() ? o.find(key) : o.end();
  return o.is_object() && it != o.end() && it->is_array() ? *it : json::array();
}
static std::string string_at(const json& o, const char* key) {
  const auto it = o.is_object() ? o.find(key) : o.end();
  return o.is_object() && it != o.end() && it->is_string() ? it->get<std::string>() : "";
}

// Every network of `c` but the default ones, with its aliases minus the old container's short id
// (the engine gives the new container its own); the one to create it on first.
static std::vector<std::pair<std::string, json>> endpoints_of(const ContainerInfo& c) {
  std::vector<std::pair<std::string, json>> out;
  const json networks = object_at(object_at(c.raw, "NetworkSettings"), "Networks");  // named: items() refers to it
  const std::string mode = string_at(object_at(c.raw, "HostConfig"), "NetworkMode");
  for (const auto& [name, ep] : networks.items()) {
    if (name == "none" || name == "host" || name == "bridge") continue;
    json aliases = json::array();
    for (const auto& a : array_at(ep, "Aliases"))
      if (a.is_string() && (a.get<std::string>().size() < 12 || c.id.rfind(a.get<std::string>(), 0) != 0)) aliases.push_back(a);
    out.emplace_back(name, json{{"Aliases", aliases}});
    if (name == mode) std::rotate(out.begin(), out.end() - 1, out.end());
  }
  return out;
}

json create_body_from(const ContainerInfo& c, const std::string& image) {
  const auto& raw = c.raw;
  json body = object_at(raw, "Config");
  body["Image"] = image.empty() ? c.image : image;
  // Fields the engine sets itself, or that belong to the old container only.
  for (const char* k : {"Hostname", "Domainname"}) body.erase(k);
  body["HostConfig"] = object_at(raw, "HostConfig");
  // A declared volume (Config.Volumes: `-v /data`, the image's VOLUME) without a bind or mount of
  // its own got an anonymous volume: mounted by its name, the data stays with the service.
  auto& host = body["HostConfig"];
  std::set<std::string> targets;
  for (const auto& b : array_at(host, "Binds"))
    if (b.is_string()) {
      const auto text = b.get<std::string>();
      const auto first = text.find(':'), second = text.find(':', first + 1);
      if (first != std::string::npos) targets.insert(text.substr(first + 1, second == std::string::npos ? second : second - first - 1));
    }
  for (const auto& m : array_at(host, "Mounts")) targets.insert(string_at(m, "Target"));
  const json declared = object_at(body, "Volumes");
  json mounts = array_at(host, "Mounts");
  for (const auto& m : array_at(raw, "Mounts")) {
    const auto target = string_at(m, "Destination"), name = string_at(m, "Name");
    if (string_at(m, "Type") != "volume" || name.empty() || !declared.contains(target) || targets.count(target)) continue;
    mounts.push_back({{"Type", "volume"}, {"Source", name}, {"Target", target}});
    targets.insert(target);
  }
  if (!mounts.empty()) host["Mounts"] = mounts;
  const auto endpoints = endpoints_of(c);
  if (!endpoints.empty()) {
    json first = json::object();
    first[endpoints.front().first] = endpoints.front().second;
    body["NetworkingConfig"] = {{"EndpointsConfig", first}};
  }
  return body;
}

json other_networks_of(const ContainerInfo& c) {
  json out = json::object();
  const auto endpoints = endpoints_of(c);
  for (size_t i = 1; i < endpoints.size(); ++i) out[endpoints[i].first] = endpoints[i].second;
  return out;
}

namespace {
constexpr const char* kAside = "-orch-old-";
}

bool moved_aside(const std::string& container_name) { return container_name.find(kAside) != std::string::npos; }

RecreateResult recreate(Client& client, const ContainerInfo& old, const std::string& image,
                        const std::function<bool(const std::string&, std::string&)>& accept) {
  RecreateResult r;
  const std::string aside = old.name + kAside + std::to_string(std::chrono::system_clock::now().time_since_epoch().count() % 1000000);
  try {
    client.rename(old.id, aside);
    if (old.running) client.stop(old.id, old.stop_timeout);
  } catch (const Error& e) {
    r.error = "could not move the old container aside: " + std::string(e.what());
    try {
      client.rename(old.id, old.name);
    } catch (const Error&) {
    }
    return r;
  }
  std::string why;
  try {
    r.new_id = client.create(old.name, create_body_from(old, image));
    const json others = other_networks_of(old);  // named: items() refers to it
    for (const auto& [network, endpoint] : others.items()) client.connect(network, r.new_id, endpoint);
    client.start(r.new_id);
    if (accept(r.new_id, why)) {
      client.remove(old.id, true);
      r.ok = true;
      return r;
    }
  } catch (const Error& e) {
    why = e.what();
  }
  // Put everything back as it was.
  r.error = why.empty() ? "the new container was not accepted" : why;
  spdlog::warn("recreate of {} failed ({}); restoring the old container", old.name, r.error);
  try {
    if (!r.new_id.empty()) client.remove(r.new_id, true);
    client.rename(old.id, old.name);
    if (old.running) client.start(old.id);
  } catch (const Error& e) {
    r.error += "; restoring the old container also failed: " + std::string(e.what());
  }
  return r;
}

}  // namespace orch::docker
