#pragma once
// GET /badge/{service}.svg (SPEC §10): a shields-style badge of a service's uptime for READMEs,
// drawn by orch (no external service). Like /health, which already tells anyone each service's
// state, it needs no token: a README image cannot send one, and a token in a public README would
// leak it. It shows no more than /health does, plus the uptime percentage.
#include <optional>
#include <string>

namespace orch::live {

// The SVG of a two-part badge: `label` on grey, `message` on `colour` (#rrggbb).
std::string badge_svg(const std::string& label, const std::string& message, const std::string& colour);

// "99.9%" style text and the colour for an uptime (nullopt: "no data", grey).
std::string uptime_text(std::optional<double> percent);
std::string uptime_colour(std::optional<double> percent);

}  // namespace orch::live
