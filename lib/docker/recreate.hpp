#pragma once
// Replace a container with a new one made from the same configuration (env, labels, mounts,
// network, restart policy, health check), optionally from another image — safely: the old one
// is renamed aside and stopped, the new one created under the old name and started, and only
// when `accept(new)` says yes is the old one removed; otherwise the new one is removed and the
// old one gets its name back and is started again.
#include <functional>
#include <string>

#include "docker/client.hpp"

namespace orch::docker {

struct RecreateResult {
  bool ok = false;
  std::string new_id;
  std::string error;
};

// The body of POST /containers/create that reproduces `c` (with `image` if not empty): its
// volumes without a name of their own (`-v /data`, an image's VOLUME) are mounted by name, so the
// new container has the old one's data, not new empty volumes; it joins one network (the
// NetworkMode's, else the first), with its aliases.
json create_body_from(const ContainerInfo& c, const std::string& image = "");
// The other networks of `c` and their aliases ({name: EndpointSettings}): an engine before API
// 1.44 refuses a create with more than one, so they are connected after the create.
json other_networks_of(const ContainerInfo& c);

// True for a container `recreate` renamed aside (NAME-orch-old-N) while its replacement is tried:
// no service's container, not to be healed, probed or rolled back; it is removed or renamed back
// when the recreate ends.
bool moved_aside(const std::string& container_name);

RecreateResult recreate(Client& client, const ContainerInfo& old, const std::string& image,
                        const std::function<bool(const std::string& new_id, std::string& why)>& accept);

}  // namespace orch::docker
