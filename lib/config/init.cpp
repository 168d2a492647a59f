#include "config/init.hpp"

#include <cctype>

#include "core/json.hpp"
#include "core/text.hpp"

namespace orch {

// A YAML scalar as it is when plain text reads back as the same string, else double-quoted (JSON's
// quoting is valid YAML): a compose name like "on", "1e3" or one with ": " must stay a string.
static std::string scalar(const std::string& s) {
  static const char* const kWords[] = {"true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"};
  bool plain = !s.empty();
  for (unsigned char c : s)
    if (!(std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == '/' || c == ':')) plain = false;
  if (plain && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-' || s[0] == '.' || s.find(": ") != std::string::npos))
    plain = false;
  for (const char* w : kWords)
    if (iequals(s, w)) plain = false;
  return plain ? s : to_text(json(s));
}

// Comments are one line each: text from the engine (names, label values) cannot start a YAML line.
static std::string comment_text(std::string s) {
  for (auto& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

std::string render_init_yaml(const InitProject& p) {
  std::string out;
  out += "# orch.yaml written by `orch init` from the compose project \"" + comment_text(p.name) + "\" at " + p.generated_at + ".\n";
  out += "# REVIEW IT before use: the health URLs are guesses from published ports and HEALTHCHECKs, and\n";
  out += "# orch serve probes them from where it runs (on the host: 127.0.0.1; inside the compose network:\n";
  out += "# the service's name). Every key is described in orch.example.yaml; check with `orch config --check`.\n";
  if (p.services.empty()) return out + "services: {}\n";
  out += "services:\n";
  for (const auto& s : p.services) {
    out += "  " + scalar(s.name) + ":\n";
    if (!s.containers.empty()) {
      std::string names;
      for (const auto& c : s.containers) names += (names.empty() ? "" : ", ") + c;
      out += "    # container" + std::string(s.containers.size() > 1 ? "s" : "") + " now: " + comment_text(names) + "\n";
    }
    out += "    container: " + scalar(s.container) + "  # matched by name or compose service\n";
    if (s.url.empty()) {
      out += "    # url: none found (no published port, no HEALTHCHECK with a URL): set one to have it probed\n";
    } else {
      out += "    url: " + scalar(s.url) + "  # from " + comment_text(s.url_from) + "\n";
      out += "    health: " + scalar(s.health.empty() ? "/health" : s.health) +
             (s.health.empty() ? "  # review: the path orch probes" : "") + "\n";
    }
    for (const auto& n : s.notes) out += "    # " + comment_text(n) + "\n";
    for (const auto& l : s.labels) out += "    # has label " + comment_text(l) + "\n";
    for (const auto& l : s.label_advice) out += "    # add label " + comment_text(l) + "\n";
  }
  return out;
}

}  // namespace orch
