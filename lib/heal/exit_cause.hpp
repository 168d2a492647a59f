#pragma once
// Did a person stop this container, or did it end by itself? (SPEC §7: orch never heals a
// container stopped through the API.) One rule for events, reconcile and `orch heal`: a `kill` (with
// a signal that ends processes) or `stop` event of the container's current run around its
// FinishedAt means a person (or a tool) stopped it; with
// complete events and none of those, it ended by itself. Where the events are incomplete (the
// engine keeps only its last 256), the exit code decides what it can: a stop signal's code (130,
// 131, 137, 143, 128+StopSignal) cannot be told from a crash, any other code is the process's own.
#include <optional>
#include <string>
#include <vector>

#include "docker/client.hpp"

namespace orch::heal {

enum class ExitCause { crashed, stopped, unknown };

struct ExitVerdict {
  ExitCause cause = ExitCause::unknown;
  std::string why;  // for the log and the `orch heal` report
};

// kill / stop / die events of containers, and from when on they are known to be complete.
struct StopEvidence {
  std::vector<docker::EventMessage> events;
  std::optional<long long> complete_from_ns;  // nullopt: completeness unknown
  void add(const docker::EventMessage& m) { events.push_back(m); }
};

// The engine's whole buffered log, read once: complete from its oldest event on. An engine that
// cannot answer gives empty evidence (then only the exit code decides).
StopEvidence engine_evidence(docker::Client& docker);

// The verdict for an exited container (exit code non-zero, or OOM-killed).
ExitVerdict exit_cause(const docker::ContainerInfo& c, const StopEvidence& evidence);

// Seconds the engine waited between the stop signal and SIGKILL, plus a margin: a kill this long
// before the container finished belongs to its stop.
long long stop_window_ns(const docker::ContainerInfo& c);

}  // namespace orch::heal
