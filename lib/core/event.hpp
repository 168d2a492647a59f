#pragma once
// CloudEvents 1.0 (SPEC §4): the one shape every event on the bus has.
#include <string>

#include "core/json.hpp"

namespace orch {

struct Event {
  std::string id;       // unique per event (UUID v4)
  std::string source;   // orch://<hostname>
  std::string type;     // e.g. content.published, heal.restarted
  std::string time;     // RFC 3339, UTC, milliseconds
  std::string subject;  // service or container
  json data = json::object();
  std::string stream_id;  // Redis stream id (or in-process sequence) once stored; not serialised

  json to_json() const;
  std::string to_string() const;  // compact JSON
  // Throws std::invalid_argument when the object is not a CloudEvent.
  static Event from_json(const json& j);
};

// Fills id, source, time.
Event make_event(std::string type, std::string subject, json data);

std::string hostname();
std::string new_uuid();
std::string rfc3339_now();
// A time given in milliseconds since the epoch, in the same form ("2026-11-30T09:41:02.123Z").
std::string rfc3339_ms(long long epoch_ms);

}  // namespace orch
