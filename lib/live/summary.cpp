#include "live/summary.hpp"

#include <map>
#include <vector>

#include "config/settings.hpp"
#include "core/duration.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "http/client.hpp"

namespace orch::live {

namespace {

json get_document(const Settings& s, const std::string& url, const std::string& path) {
  http::Request req;
  req.url = url + path;
  req.timeout = std::chrono::seconds(10);
  if (s.has("ORCH_API_TOKEN")) req.headers.emplace_back("Authorization", "Bearer " + s.str("ORCH_API_TOKEN"));
  http::Response res;
  try {
    res = http::send(req);
  } catch (const http::TransportError& e) {
    throw UnreachableError("orch serve at " + url + " does not answer (" + e.what() + "); is it running? (ORCH_URL, --url)");
  }
  if (res.status == 401 || res.status == 403)
    throw UsageError("orch serve at " + url + " refused " + path + " (" + std::to_string(res.status) +
                     "): set ORCH_API_TOKEN to its token, or run this on its host");
  auto doc = parse_json(res.body);
  // /health answers 503 with its document when something is down: still the document.
  if (doc.is_discarded() || !doc.is_object())
    throw UnreachableError("orch serve at " + url + path + " answered " + std::to_string(res.status) + " without a JSON document");
  return doc;
}

std::string pad(std::string s, size_t n) {
  if (s.size() < n) s.resize(n, ' ');
  return s;
}

std::string paint(bool colour, const std::string& state, const std::string& text) {
  if (!colour) return text;
  const char* c = state == "ok" || state == "up" || state == "healthy" || state == "running" ? "\033[32m"
                  : state == "degraded" || state == "starting"                               ? "\033[33m"
                                                                                             : "\033[31m";
  return c + text + "\033[0m";
}

std::string text_of(const json& j, const char* key) { return j.is_object() && j.contains(key) ? as_text(j[key]) : ""; }

}  // namespace

json fetch_summary(const Settings& s, const std::string& url) {
  return {{"url", url}, {"health", get_document(s, url, "/health")}, {"status", get_document(s, url, "/status")}};
}

int summary_exit_code(const json& summary) {
  const auto& health = summary["health"];
  const auto& status = summary["status"];
  int code = 0;
  const auto services = health.value("/components/services"_json_pointer, json::object());
  for (const auto& [name, sv] : services.items()) {
    const auto st = text_of(sv, "status");
    if (st == "down" || st == "unreachable") code = 2;
    else if (st != "ok" && st != "up" && code < 1) code = 1;
  }
  if (status.contains("containers") && status["containers"].is_array())
    for (const auto& c : status["containers"]) {
      if (text_of(c, "state") != "running" || text_of(c, "health") == "unhealthy") code = 2;
    }
  if (code < 1 && status.contains("quarantine") && status["quarantine"].is_object() && !status["quarantine"].empty()) code = 1;
  if (code < 1 && status.value("/pipeline/dead_letters"_json_pointer, 0) > 0) code = 1;
  return code;
}

std::string render_summary(const json& summary, bool colour) {
  const auto& health = summary["health"];
  const auto& status = summary["status"];
  std::string out;
  const std::string verdict = text_of(health, "status");
  out += "orch serve " + text_of(health, "version") + " at " + summary.value("url", "") + ": " + paint(colour, verdict, verdict) + ", up " +
         human_duration(health.value("uptime_s", 0LL)) + "\n";
  // Components other than services: one line.
  std::vector<std::string> comps;
  // Held: items() of the temporary value() returns would outlive it (ASan: stack-use-after-scope).
  const auto components = health.value("components", json::object());
  for (const auto& [name, c] : components.items()) {
    if (name == "services") continue;
    std::string st = text_of(c, "status");
    std::string line = name + " " + paint(colour, st, st);
    if (!text_of(c, "error").empty()) line += " (" + text_of(c, "error") + ")";
    comps.push_back(line);
  }
  if (!comps.empty()) out += join(comps, " · ") + "\n";

  const auto services = health.value("/components/services"_json_pointer, json::object());
  const auto history = status.value("/history/services"_json_pointer, json::object());
  if (!services.empty()) {
    int up = 0;
    for (const auto& [name, sv] : services.items()) up += text_of(sv, "status") == "ok" || text_of(sv, "status") == "up";
    out += "\nservices: " + std::to_string(up) + "/" + std::to_string(services.size()) + " up\n";
    for (const auto& [name, sv] : services.items()) {
      const std::string st = text_of(sv, "status");
      std::string line = "  " + pad(name, 18) + paint(colour, st, pad(st, 12));
      std::vector<std::string> detail;
      if (st == "ok" || st == "up") detail.push_back(std::to_string(sv.value("response_ms", 0LL)) + " ms");
      if (!text_of(sv, "error").empty()) detail.push_back(text_of(sv, "error"));
      if (sv.contains("failed_conditions") && sv["failed_conditions"].is_array())
        for (const auto& f : sv["failed_conditions"]) detail.push_back(as_text(f) + " failed");
      if (history.contains(name) && history[name].contains("uptime_24h") && history[name]["uptime_24h"].is_number()) {
        char pct[32];
        std::snprintf(pct, sizeof pct, "%.1f %% up over 24h", 100.0 * history[name]["uptime_24h"].get<double>());
        detail.push_back(pct);
      }
      auto lines = wrap_words(join(detail, " · "), 48);
      for (size_t i = 0; i < lines.size(); ++i) out += (i ? std::string(32, ' ') : line) + lines[i] + "\n";
    }
  }

  if (status.contains("containers") && status["containers"].is_array()) {
    std::map<std::string, int> by;
    std::vector<std::string> trouble;
    for (const auto& c : status["containers"]) {
      const std::string state = text_of(c, "state"), h = text_of(c, "health");
      const std::string k = state != "running" ? state : h.empty() || h == "none" ? "running" : h;
      ++by[k];
      if (k != "running" && k != "healthy") trouble.push_back(text_of(c, "name") + " " + k + " (" + text_of(c, "status") + ")");
    }
    std::vector<std::string> parts;
    for (const auto& [k, n] : by) parts.push_back(std::to_string(n) + " " + k);
    out += "\ncontainers: " + std::to_string(status["containers"].size()) + (parts.empty() ? "" : " (" + join(parts, ", ") + ")") + "\n";
    for (const auto& t : trouble) out += "  " + paint(colour, "down", t) + "\n";
  } else if (!text_of(status, "containers_error").empty()) {
    out += "\ncontainers: unknown (" + text_of(status, "containers_error") + ")\n";
  }
  if (status.contains("quarantine") && status["quarantine"].is_object() && !status["quarantine"].empty()) {
    out += "\nquarantined (no more heals; lift with orch heal --reset NAME):\n";
    for (const auto& [name, q] : status["quarantine"].items()) out += "  " + pad(name, 24) + text_of(q, "reason") + "\n";
  }
  if (status.contains("pipeline") && status["pipeline"].is_object()) {
    const auto& p = status["pipeline"];
    out += "\npipeline: queue " + (p["queue_depth"].is_null() ? std::string("-") : as_text(p["queue_depth"])) + " · in progress " +
           as_text(p.value("in_progress", json(0))) + " · dead letters " + as_text(p.value("dead_letters", json(0))) + "\n";
  }
  return out;
}

}  // namespace orch::live
