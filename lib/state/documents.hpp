#pragma once
// The state documents orch keeps (StateStore: Redis key orch:state:<name>, or <name>.json under
// ORCH_STATE_DIR), named once for every reader and writer.
namespace orch {

// {container: {since_ms, reason}}: the healer's quarantine list. Written by the healer and
// `orch heal --reset`; lifted by an automatic rollback; shown by /status (docs/heal.md).
inline constexpr const char* kQuarantineDocument = "heal-quarantine";
// {service: {current, lkg, pinned, rolled_back, gone_since_ms}}: the release history (docs/rollback.md).
inline constexpr const char* kReleasesDocument = "releases";
// {container: {restarts, last_ms, reason}}: what the healer did to each container (Docker's
// RestartCount does not count restarts through the API). Written by the healer, read by diagnose;
// the newest kHealLogMax containers are kept.
inline constexpr const char* kHealLogDocument = "heal-log";
inline constexpr int kHealLogMax = 500;
// {id: {service, until_ms, reason, created_ms}}: alert silences, `orch silence` (docs/alerting.md).
inline constexpr const char* kSilencesDocument = "alert-silences";
// {key: {alert, notified}}: the open alert incidents, so a restarted orch goes on with them
// instead of paging again (docs/alerting.md). Written by the leader's alerter at each change.
inline constexpr const char* kIncidentsDocument = "alert-incidents";

}  // namespace orch
