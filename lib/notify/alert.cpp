#include "notify/alert.hpp"

namespace orch {

std::string Alert::title() const {
  if (one_shot)
    return "[" +
           std::string(severity == Severity::critical  ? "CRITICAL"
                       : severity == Severity::warning ? "WARNING"
                                                       : "INFO") +
           "] " + summary;
  return std::string(status == "resolved" ? "[RESOLVED] " : "[FIRING] ") + summary;
}

const std::vector<std::string>& one_shot_types() {
  static const std::vector<std::string> types = {"heal.failed",   "heal.quarantined", "rollback.succeeded", "rollback.failed",
                                                 "ingest.failed", "synctest.failed",  "swarm.node.down"};
  return types;
}

static std::string str(const json& data, const char* key) {
  if (!data.contains(key) || data[key].is_null()) return "";
  return data[key].is_string() ? data[key].get<std::string>() : data[key].dump();
}

std::optional<Alert> one_shot_alert(const Event& e) {
  const json& d = e.data;
  Alert a;
  a.type = e.type;
  a.status = "firing";
  a.one_shot = true;
  a.subject = e.subject;
  a.service = str(d, "service");
  a.starts_at = e.time;
  a.ends_at = e.time;  // an instant: nothing will resolve it
  a.incident_id = e.id;
  a.event = e.to_json();
  if (e.type == "heal.failed") {
    a.severity = Severity::warning;
    a.summary = "orch could not restart " + e.subject + ": " + str(d, "error");
    a.description = "reason: " + str(d, "reason") + "\nattempt: " + str(d, "attempt");
  } else if (e.type == "heal.quarantined") {
    a.severity = Severity::critical;
    a.summary = "orch quarantined " + e.subject + " (" + str(d, "reason") + "); lift with: orch heal --reset " + e.subject;
    a.description = "orch stopped healing it after " + str(d, "attempt") + " restarts in the window.";
  } else if (e.type == "rollback.succeeded") {
    a.severity = Severity::warning;
    a.summary = "orch rolled back " + e.subject + (str(d, "reason").empty() ? "" : " (" + str(d, "reason") + ")") +
                "; pinned until: orch rollback --clear " + e.subject;
    a.description = "from " + str(d, "from") + "\nto " + str(d, "to");
  } else if (e.type == "rollback.failed") {
    a.severity = Severity::critical;
    a.summary = "orch could not roll back " + e.subject + ": " + str(d, "error");
    a.description = "reason: " + str(d, "reason");
  } else if (e.type == "ingest.failed") {
    if (!d.value("final", false)) return std::nullopt;  // a retry follows: not a dead letter yet
    a.severity = Severity::warning;
    a.service = str(d, "stage") == "docling" ? "docling_service" : str(d, "stage") == "rag" ? "rag_service" : "";
    a.summary = "pipeline gave up on " + e.subject + " at stage " + str(d, "stage") + " (dead letter in orch:dead): " + str(d, "error");
    a.description = "attempt: " + str(d, "attempt");
  } else if (e.type == "synctest.failed") {
    a.severity = Severity::critical;
    std::string stage;
    if (d.contains("stages") && d["stages"].is_array())
      for (const auto& s : d["stages"])
        if (s.is_object() && !s.value("ok", true)) {
          stage = s.value("name", "");
          break;
        }
    a.summary = "sync-test failed" + (stage.empty() ? "" : " at stage " + stage) + " (" + e.subject + ")";
    a.description = "marker: " + str(d, "marker");
  } else if (e.type == "swarm.node.down") {
    a.severity = Severity::critical;
    a.summary = "swarm node " + e.subject + " is down";
    a.description = "role: " + str(d, "role");
  } else {
    return std::nullopt;
  }
  return a;
}

}  // namespace orch
