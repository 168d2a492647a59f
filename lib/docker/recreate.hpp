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

// The body of POST /containers/create that reproduces `c` (with `image` if not empty).
json create_body_from(const ContainerInfo& c, const std::string& image = "");

RecreateResult recreate(Client& client, const ContainerInfo& old, const std::string& image,
                        const std::function<bool(const std::string& new_id, std::string& why)>& accept);

}  // namespace orch::docker
