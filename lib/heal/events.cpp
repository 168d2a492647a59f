#include "heal/events.hpp"

namespace orch::heal {

const char* type_of(HealEvent kind) {
  switch (kind) {
    case HealEvent::restarted: return "heal.restarted";
    case HealEvent::failed: return "heal.failed";
    case HealEvent::quarantined: return "heal.quarantined";
    case HealEvent::recovered: return "heal.recovered";
  }
  return "heal.unknown";
}

Event make_heal_event(HealEvent kind, const HealData& d) {
  json data = {{"container", d.container},
               {"service", d.service},
               {"attempt", d.attempt},
               {"next_delay_s", d.next_delay_s ? json(*d.next_delay_s) : json(nullptr)},
               {"reason", d.reason}};
  if (kind == HealEvent::failed) data["error"] = d.error;
  return make_event(type_of(kind), d.container, std::move(data));
}

Event make_left_alone_event(const std::string& container, const std::string& service, const std::string& reason, const std::string& why) {
  return make_event("heal.left_alone", container, {{"container", container}, {"service", service}, {"reason", reason}, {"why", why}});
}

}  // namespace orch::heal
