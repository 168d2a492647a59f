#include "docker/recreate.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace orch::docker {

json create_body_from(const ContainerInfo& c, const std::string& image) {
  // Only objects are copied from the inspect document: another type there (an odd engine) reads as absent.
  auto object_at = [](const json& o, const char* key) {
    const auto it = o.is_object() ? o.find(key) : o.end();
    return o.is_object() && it != o.end() && it->is_object() ? *it : json::object();
  };
  const auto& raw = c.raw;
  json body = object_at(raw, "Config");
  body["Image"] = image.empty() ? c.image : image;
  // Fields the engine sets itself, or that belong to the old container only.
  for (const char* k : {"Hostname", "Domainname"}) body.erase(k);
  body["HostConfig"] = object_at(raw, "HostConfig");
  json endpoints = json::object();
  const json networks = object_at(object_at(raw, "NetworkSettings"), "Networks");  // named: items() refers to it
  for (const auto& [name, ep] : networks.items()) {
    if (name == "none" || name == "host" || name == "bridge") continue;
    const auto aliases = ep.is_object() ? ep.find("Aliases") : ep.end();
    endpoints[name] = {{"Aliases", ep.is_object() && aliases != ep.end() && aliases->is_array() ? *aliases : json::array()}};
  }
  if (!endpoints.empty()) body["NetworkingConfig"] = {{"EndpointsConfig", endpoints}};
  return body;
}

RecreateResult recreate(Client& client, const ContainerInfo& old, const std::string& image,
                        const std::function<bool(const std::string&, std::string&)>& accept) {
  RecreateResult r;
  const std::string aside = old.name + "-orch-old-" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count() % 1000000);
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
