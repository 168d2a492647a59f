#include "notify/silences.hpp"

#include <spdlog/spdlog.h>

#include "core/error.hpp"
#include "core/event.hpp"
#include "notify/alert.hpp"
#include "state/documents.hpp"

namespace orch::notify {

json Silence::to_json() const {
  return {{"id", id},         {"service", service}, {"until", rfc3339_ms(until_ms)}, {"until_ms", until_ms},
          {"reason", reason}, {"source", source}};
}

Silences::Silences(StateStore& store, std::vector<MaintenanceWindow> windows) : store_(store), windows_(std::move(windows)) {}

static void prune(json& doc, long long now_ms) {
  if (!doc.is_object()) doc = json::object();
  for (auto it = doc.begin(); it != doc.end();) {
    if (!it->is_object() || it->value("until_ms", 0LL) <= now_ms) it = doc.erase(it);
    else ++it;
  }
}

Silence Silences::add(const std::string& service, std::chrono::milliseconds for_, const std::string& reason, long long now_ms) {
  if (service.empty()) throw UsageError("silence: name a service (or * for every alert)");
  if (for_.count() <= 0) throw UsageError("silence: --for must be above 0");
  Silence s;
  s.id = new_uuid().substr(0, 8);
  s.service = service;
  s.created_ms = now_ms;
  s.until_ms = now_ms + for_.count();
  s.reason = reason;
  store_.update(kSilencesDocument, [&](json& doc) {
    prune(doc, now_ms);
    doc[s.id] = {{"service", s.service}, {"until_ms", s.until_ms}, {"created_ms", s.created_ms}, {"reason", s.reason}};
  });
  return s;
}

int Silences::remove(const std::string& id_or_service, long long now_ms) {
  int removed = 0;
  store_.update(kSilencesDocument, [&](json& doc) {
    prune(doc, now_ms);
    for (auto it = doc.begin(); it != doc.end();) {
      if (it.key() == id_or_service || it->value("service", "") == id_or_service) {
        it = doc.erase(it);
        ++removed;
      } else ++it;
    }
  });
  return removed;
}

static std::vector<Silence> window_silences(const std::vector<MaintenanceWindow>& windows, long long now_ms) {
  std::vector<Silence> out;
  const auto now = std::chrono::system_clock::time_point(std::chrono::milliseconds(now_ms));
  for (const auto& w : windows) {
    if (!w.active_at(now)) continue;
    const long long until = std::chrono::duration_cast<std::chrono::milliseconds>(w.ends_after(now).time_since_epoch()).count();
    const auto reason = w.reason.empty() ? "maintenance " + w.window : w.reason;
    if (w.services.empty()) out.push_back({"maintenance:" + std::to_string(w.line), "*", until, 0, reason, "maintenance"});
    for (const auto& s : w.services) out.push_back({"maintenance:" + std::to_string(w.line), s, until, 0, reason, "maintenance"});
  }
  return out;
}

std::vector<Silence> Silences::active(long long now_ms) {
  std::vector<Silence> out;
  json doc = store_.load(kSilencesDocument);
  if (doc.is_object())
    for (auto it = doc.begin(); it != doc.end(); ++it) {
      if (!it->is_object() || it->value("until_ms", 0LL) <= now_ms) continue;
      out.push_back({it.key(), it->value("service", ""), it->value("until_ms", 0LL), it->value("created_ms", 0LL), it->value("reason", ""),
                     "silence"});
    }
  for (auto& w : window_silences(windows_, now_ms)) out.push_back(std::move(w));
  return out;
}

std::optional<Silence> Silences::matching(const std::vector<std::string>& names, long long now_ms) {
  std::vector<Silence> all;
  try {
    all = active(now_ms);
  } catch (const Error& e) {
    spdlog::warn("alerts: silences not readable ({}): only maintenance windows apply", e.what());
    all = window_silences(windows_, now_ms);
  }
  for (const auto& s : all)
    for (const auto& n : names)
      if (s.service == "*" || (!n.empty() && s.service == n)) return s;
  return std::nullopt;
}

}  // namespace orch::notify
