#pragma once
// Alert silences (docs/alerting.md): `orch silence add SERVICE --for 2h --reason ...` keeps one in
// the state store (Redis when REDIS_URL is set, else the state dir: every instance and command sees
// it), and the maintenance windows of the config file. A silenced service's alerts are counted,
// not sent. Expired silences are pruned whenever the document is written.
#include <chrono>
#include <string>
#include <vector>

#include "config/alerting.hpp"
#include "core/json.hpp"
#include "state/store.hpp"

namespace orch::notify {

struct Silence {
  std::string id;
  std::string service;  // a service, container or subject name; "*" = everything
  long long until_ms = 0, created_ms = 0;
  std::string reason;
  std::string source = "silence";  // or "maintenance" (a window of the config file)
  json to_json() const;
};

class Silences {
 public:
  Silences(StateStore& store, std::vector<MaintenanceWindow> windows = {});
  // Returns the new silence. Throws UsageError for an empty service or a duration <= 0.
  Silence add(const std::string& service, std::chrono::milliseconds for_, const std::string& reason, long long now_ms);
  // Removes by id, or every silence of that service; returns how many went.
  int remove(const std::string& id_or_service, long long now_ms);
  // Silences in force at `now` (store first, then active maintenance windows); throws
  // UnreachableError when the store is down.
  std::vector<Silence> active(long long now_ms);
  // The one that silences `name` (or one of `names`) now, if any. A store that is down silences
  // nothing: an alert is better sent twice than lost.
  std::optional<Silence> matching(const std::vector<std::string>& names, long long now_ms);
  const std::vector<MaintenanceWindow>& windows() const { return windows_; }

 private:
  StateStore& store_;
  std::vector<MaintenanceWindow> windows_;
};

}  // namespace orch::notify
