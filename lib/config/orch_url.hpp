#pragma once
// Where this host reaches `orch serve` (orch sync-test, MCP's sync_test, POST /sync-test): one
// answer for every caller. ORCH_URL when set; else http://BIND:PORT, where a wildcard BIND
// (0.0.0.0, or empty) is reached on 127.0.0.1 and :: on [::1] (a wildcard listens on loopback
// too), a specific address is used as it is, and an IPv6 address goes in brackets.
#include <optional>
#include <string>

namespace orch {

class Settings;

// `port`: the port orch serve actually listens on (PORT may be 0 = any); default PORT.
std::string orch_url(const Settings& s, std::optional<int> port = std::nullopt);

}  // namespace orch
