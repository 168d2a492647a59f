#pragma once
// The heal.* events (SPEC §4, docs/heal.md "Events"): built here for every publisher (the healer's
// restarts, its quarantine, a recovery, the restarts of dependents, `orch heal` and POST /heal),
// so each type always carries exactly the fields docs/heal.md lists.
#include <optional>
#include <string>

#include "core/event.hpp"

namespace orch::heal {

enum class HealEvent { restarted, failed, quarantined, recovered };
const char* type_of(HealEvent kind);  // "heal.restarted", ...

struct HealData {
  std::string container;
  std::string service;
  int attempt = 0;                     // this restart's number in the container's streak
  std::optional<double> next_delay_s;  // the backoff the next restart would wait; null: none planned
  std::string reason;                  // unhealthy, exited 1, oom, depends on X, healthy again
  std::string error;                   // heal.failed only: why the restart failed
};

Event make_heal_event(HealEvent kind, const HealData& d);

// heal.left_alone: a failure orch saw and chose not to heal (a person stopped it, Docker's own
// restart policy restarts it, it recovered before the restart was due). `reason` is what failed
// ("exited 137", "unhealthy"), `why` the decision in words.
Event make_left_alone_event(const std::string& container, const std::string& service, const std::string& reason, const std::string& why);

}  // namespace orch::heal
