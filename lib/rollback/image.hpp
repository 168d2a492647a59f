#pragma once
// Image rollback of a service (SPEC §7, `orch rollback --service`): release history with a
// last-known-good image, and the safe replacement of the service's container by one made from a
// previous image with the same configuration.
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bus/bus.hpp"
#include "config/config.hpp"
#include "core/json.hpp"
#include "docker/client.hpp"
#include "state/store.hpp"

namespace orch::rollback {

// Release history per service, in the state store (document "releases"):
// {service: {current: {image_id, image, since_ms, swarm?}, lkg: {image_id, image, since_ms, swarm?},
//            pinned: reason|null, rolled_back: [image_id...]}}
// A swarm service's release (swarm: true) is its spec image as Swarm stores it (often
// name:tag@sha256:...) in image_id, the name without the digest in image (rollback/swarm.hpp).
class Releases {
 public:
  explicit Releases(StateStore& store) : store_(store) {}
  // A container of `service` started with `image_id`: a new release when the image differs.
  // Returns true for a new release.
  bool record_start(const std::string& service, const std::string& image_id, const std::string& image, long long now_ms);
  struct Running {
    std::string service, image_id, image;
    bool swarm = false;  // a swarm service's spec image, not a container's image id
  };
  // record_start for many services at once (a reconcile): one read, and a write only when some
  // release is new. Returns the services with a new release. A service whose kind changes (a
  // container's image id, then a swarm service's spec image) starts its history again: an LKG of
  // the other kind is no target.
  std::vector<std::string> record_running(const std::vector<Running>& running, long long now_ms);
  void set_lkg(const std::string& service, const std::string& image_id, const std::string& image, long long now_ms, bool swarm = false);
  json get(const std::string& service);
  void pin(const std::string& service, const std::string& reason);
  bool clear(const std::string& service);  // unpin; true if it was pinned
  void mark_rolled_back(const std::string& service, const std::string& release_image_id);
  // Forgets services that have had no container (`present`: the services that have one) for
  // longer than `retention`, and beyond `max_services` those gone longest; a service with a
  // container is never forgotten. Writes only when something changed. Returns what it forgot.
  std::vector<std::string> forget_gone(const std::set<std::string>& present, long long now_ms, Millis retention, size_t max_services);

 private:
  StateStore& store_;
};

struct ServiceOptions {
  std::string service;
  std::string to;  // image reference or id; empty = last known good
  bool dry_run = false;
  bool automatic = false;  // refuses pinned services and rollback-made containers
  std::string reason = "requested";
  std::chrono::milliseconds health_timeout{60'000};
  // Reports each step ("replacing ...", "waiting for health, N s of M"), for MCP progress.
  std::function<void(const std::string& step)> on_step;
  // Asked before the replacement and during the health wait: once true, nothing more is changed
  // and a replacement that is not yet accepted is undone (the previous container restored).
  std::function<bool()> cancelled;
};

struct ServiceResult {
  std::string service, container, from, to, error;
  bool ok = false, dry_run = false;
  json to_json() const;
};

// The container of a service: the config's `container` (default the service name), matched by
// name or compose service label. Throws UsageError when there is none.
docker::ContainerInfo find_service_container(docker::Client& docker, docker::ContainerSource& containers, const Config& cfg,
                                             const std::string& service);
// The same match within a list already made, for many services at once (the rollback tick): the
// first container of the list whose name is the service's container or whose service it is.
// Containers a rollback moved aside (NAME-orch-old-N) are not a service's.
class ServiceContainers {
 public:
  ServiceContainers(const std::vector<docker::ContainerSummary>& all, const Config& cfg);
  const docker::ContainerSummary* find(const std::string& service) const;  // null when none

 private:
  const std::vector<docker::ContainerSummary>& all_;
  const Config& cfg_;
  std::map<std::string, size_t> by_name_, by_service_;  // the first index in all_
};
const docker::ContainerSummary* find_service_summary(const std::vector<docker::ContainerSummary>& all, const Config& cfg,
                                                     const std::string& service);

// Publishes rollback.started/succeeded/failed on `bus` (if given). Throws UsageError for a
// request that cannot be carried out (no container, no known-good image, a rollback of a rollback).
ServiceResult rollback_service(docker::Client& docker, docker::ContainerSource& containers, Releases& releases, const Config& cfg, Bus* bus,
                               const ServiceOptions& o);

}  // namespace orch::rollback
