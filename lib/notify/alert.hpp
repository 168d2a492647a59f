#pragma once
// One alert as every provider gets it (docs/alerting.md; SPEC §7): an incident's firing or
// resolved message (a service down, a container unhealthy) or a one-shot alert (heal failure,
// quarantine, rollback, a pipeline dead letter, a failed sync-test), with its severity.
#include <optional>
#include <string>

#include "config/alerting.hpp"
#include "core/event.hpp"

namespace orch {

struct Alert {
  std::string type;    // what it is about: service.down, container.unhealthy, heal.quarantined, ...
  std::string status;  // firing or resolved
  Severity severity = Severity::warning;
  std::string subject;             // service, container, content id
  std::string service;             // what silences and maintenance windows match ("" = none)
  std::string summary;             // one line for people
  std::string description;         // a few more lines
  std::string incident_id;         // the same for an incident's firing and resolved messages
  std::string starts_at, ends_at;  // RFC 3339; ends_at empty while firing
  bool one_shot = false;
  json event;  // the CloudEvent it came from (null for an incident of probes)

  // "[FIRING] web is down" / "[RESOLVED] web is down" / "[CRITICAL] orch quarantined web-1"
  std::string title() const;
};

// A one-shot alert for a bus event operators page on, or nullopt for an event that is not one
// (ingest.failed only when final, rollback.started never, ...). Its summary is built from the
// event's data, the same words the healer's own notifications use.
std::optional<Alert> one_shot_alert(const Event& e);

// The event types one_shot_alert() may turn into alerts (the alerter's bus subscription).
const std::vector<std::string>& one_shot_types();

}  // namespace orch
