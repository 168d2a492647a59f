#include "live/badge.hpp"

#include <cstdio>

namespace orch::live {

namespace {

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

// Shields lays text out with Verdana 11px widths; 7 px a character and 10 px of padding a side is
// close enough for names and percentages.
int text_width(const std::string& s) { return static_cast<int>(s.size()) * 7 + 10; }

}  // namespace

std::string badge_svg(const std::string& label, const std::string& message, const std::string& colour) {
  const int lw = text_width(label), mw = text_width(message), w = lw + mw;
  const auto l = xml_escape(label), m = xml_escape(message);
  // The fixed text is about 1,100 characters; label and message appear four times each.
  std::string buf(1500 + 4 * (l.size() + m.size()), '\0');
  const int n = std::snprintf(
      buf.data(), buf.size(),
      R"svg(<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="20" role="img" aria-label="%s: %s">)svg"
      R"svg(<title>%s: %s</title>)svg"
      R"svg(<linearGradient id="s" x2="0" y2="100%%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>)svg"
      R"svg(<clipPath id="r"><rect width="%d" height="20" rx="3" fill="#fff"/></clipPath>)svg"
      R"svg(<g clip-path="url(#r)"><rect width="%d" height="20" fill="#555"/><rect x="%d" width="%d" height="20" fill="%s"/><rect width="%d" height="20" fill="url(#s)"/></g>)svg"
      R"svg(<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">)svg"
      R"svg(<text x="%d" y="15" fill="#010101" fill-opacity=".3">%s</text><text x="%d" y="14">%s</text>)svg"
      R"svg(<text x="%d" y="15" fill="#010101" fill-opacity=".3">%s</text><text x="%d" y="14">%s</text></g></svg>)svg",
      w, l.c_str(), m.c_str(), l.c_str(), m.c_str(), w, lw, lw, mw, colour.c_str(), w, lw / 2, l.c_str(), lw / 2, l.c_str(), lw + mw / 2,
      m.c_str(), lw + mw / 2, m.c_str());
  buf.resize(static_cast<size_t>(n));
  return buf;
}

std::string uptime_text(std::optional<double> p) {
  if (!p) return "no data";
  char buf[32];
  // Never round a shortfall up to 100%: 99.95 shows as 99.9%.
  double shown = *p >= 100.0 ? 100.0 : static_cast<double>(static_cast<long long>(*p * 10)) / 10;
  std::snprintf(buf, sizeof buf, shown == 100.0 ? "%.0f%%" : "%.1f%%", shown);
  return buf;
}

std::string uptime_colour(std::optional<double> p) {
  if (!p) return "#9f9f9f";
  if (*p >= 99.9) return "#4c1";
  if (*p >= 99.0) return "#97ca00";
  if (*p >= 95.0) return "#dfb317";
  if (*p >= 90.0) return "#fe7d37";
  return "#e05d44";
}

}  // namespace orch::live
