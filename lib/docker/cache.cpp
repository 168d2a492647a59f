#include "docker/cache.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>

namespace orch::docker {

namespace {

// The exit code in a list entry's status ("Exited (137) 2 minutes ago"), else 0.
int listed_exit_code(const std::string& status) {
  int code = 0;
  return std::sscanf(status.c_str(), "Exited (%d)", &code) == 1 ? code : 0;
}

// Keys of an event's attributes that are not the container's labels.
bool is_label_attribute(const std::string& key) {
  for (const char* k : {"name", "image", "exitCode", "signal", "oldName", "execID", "execCommand", "execDuration"})
    if (key == k) return false;
  return true;
}

}  // namespace

ContainerCache::ContainerCache(Client& client, Millis relist_interval)
    : client_(client),
      relist_interval_(relist_interval),
      watcher_(client, WatcherCallbacks{[this](const EventMessage& m) { on_engine_event(m); }, [this] { list_now(ListReason::connected); },
                                        [this](bool up, const std::string& why) { on_watcher_connection(up, why); }}) {}

ContainerCache::~ContainerCache() { stop(); }

void ContainerCache::add_listener(Listener listener) { listeners_.push_back(std::move(listener)); }

void ContainerCache::start() {
  {
    std::lock_guard lock(mu_);
    started_ = true;
  }
  relister_ = std::thread([this] { relist_loop(); });
  watcher_.start();
}

void ContainerCache::stop() {
  {
    std::lock_guard lock(mu_);
    started_ = false;
  }
  settled_cv_.notify_all();
  watcher_.stop();
  stop_.request_stop();
  if (relister_.joinable()) relister_.join();
}

ContainerCache::Entry ContainerCache::entry_of(const ContainerSummary& s) {
  Entry e;
  e.c = s;
  e.health = s.health();
  e.has_health = !e.health.empty();
  e.exit_code = listed_exit_code(s.status);
  return e;
}

ContainerCache::Entry ContainerCache::entry_of(const ContainerInfo& c) {
  Entry e;
  e.c.id = c.id;
  e.c.name = c.name;
  e.c.image = c.image;
  e.c.image_id = c.image_id;
  e.c.state = c.status;
  e.c.labels = c.labels;
  e.c.network_mode = c.network_mode;
  if (const auto created = c.raw.find("Created"); created != c.raw.end() && created->is_string())
    if (auto ns = engine_time_ns(created->get<std::string>())) e.c.created = *ns / 1'000'000'000;
  e.has_health = c.health.has_value();
  if (c.health) e.health = c.health->status;
  e.exit_code = c.exit_code;
  e.engine_status = false;
  return e;
}

// The engine's own words, as `docker ps` would say them without the times.
std::string ContainerCache::status_text(const Entry& e) {
  const auto& state = e.c.state;
  if (state == "running") {
    if (e.health.empty()) return "Up";
    return e.health == "starting" ? "Up (health: starting)" : "Up (" + e.health + ")";
  }
  if (state == "exited") return "Exited (" + std::to_string(e.exit_code) + ")";
  if (state == "restarting") return "Restarting (" + std::to_string(e.exit_code) + ")";
  if (state == "paused") return "Up (Paused)";
  if (state == "created") return "Created";
  if (state == "dead") return "Dead";
  return state;
}

void ContainerCache::apply(Entries& entries, const Seen& seen) {
  const auto& m = seen.event;
  if (m.action == "destroy") {
    entries.erase(m.id);
    return;
  }
  auto it = entries.find(m.id);
  if (seen.detail) {
    Entry e = entry_of(*seen.detail);
    if (it != entries.end()) e.c.revision = it->second.c.revision;
    it = entries.insert_or_assign(m.id, std::move(e)).first;
  } else if (it == entries.end()) {
    if (seen.gone) return;  // removed before we could look: its destroy follows
    // The engine could not be asked: what the event says (labels come with container events).
    Entry e;
    e.c.id = m.id;
    e.c.state = "created";
    e.c.created = m.time_nano / 1'000'000'000;
    for (const auto& [k, v] : m.attributes)
      if (is_label_attribute(k)) e.c.labels[k] = v;
    e.c.image = m.attribute("image");
    e.engine_status = false;
    it = entries.emplace(m.id, std::move(e)).first;
  }
  Entry& e = it->second;
  const Entry before = e;
  if (const auto name = m.attribute("name"); !name.empty()) e.c.name = name;
  const auto& a = m.action;
  if (a == "start") {
    e.c.state = "running";
    e.exit_code = 0;
    e.health = e.has_health ? "starting" : "";
  } else if (a == "die") {
    e.c.state = "exited";
    e.exit_code = std::atoi(m.attribute("exitCode").c_str());
  } else if (a == "pause") {
    e.c.state = "paused";
  } else if (a == "unpause") {
    e.c.state = "running";
  } else if (a.rfind("health_status", 0) == 0) {
    const auto value = a.find_first_not_of(' ', a.find(':') == std::string::npos ? a.size() : a.find(':') + 1);
    e.health = value == std::string::npos ? "" : a.substr(value);
    e.has_health = true;
  }
  const bool changed = seen.detail || e.c.state != before.c.state || e.health != before.health || e.exit_code != before.exit_code ||
                       e.c.name != before.c.name;
  if (changed) {
    e.engine_status = false;
    e.c.revision = ++next_revision_;
  }
  if (!e.engine_status) e.c.status = status_text(e);
}

void ContainerCache::on_engine_event(const EventMessage& m) {
  Seen seen{m, std::nullopt, false};
  if (m.action != "destroy") {
    bool known;
    {
      std::lock_guard lock(mu_);
      known = entries_.count(m.id) > 0;
    }
    // A new container: one inspect for what events do not carry (image id, health check, network
    // mode). Known ones change by their events alone.
    if (m.action == "create" || !known) {
      try {
        seen.detail = client_.inspect(m.id);
      } catch (const NotFoundError&) {
        seen.gone = true;
      } catch (const Error& e) {
        spdlog::debug("container cache: cannot inspect {}: {}", m.id.substr(0, 12), e.what());
      }
    }
  }
  {
    std::lock_guard lock(mu_);
    apply(entries_, seen);
    if (listing_) pending_.push_back(std::move(seen));
    ++generation_;
  }
  for (const auto& l : listeners_)
    if (l.on_event) l.on_event(m);
}

void ContainerCache::list_now(ListReason reason) {
  std::lock_guard one_list(list_mu_);
  {
    std::lock_guard lock(mu_);
    listing_ = true;
    pending_.clear();
  }
  std::vector<ContainerSummary> listed;
  try {
    listed = client_.list(true);
  } catch (const Error&) {
    std::lock_guard lock(mu_);
    listing_ = false;
    pending_.clear();
    throw;  // the watcher treats it as a lost engine and reconnects
  }
  bool was_in_step;
  {
    std::lock_guard lock(mu_);
    Entries fresh;
    for (auto& s : listed) {
      Entry e = entry_of(s);
      auto old = entries_.find(s.id);
      // After a reconnect events may have been missed: every container counts as changed.
      const bool same = reason == ListReason::interval && old != entries_.end() && old->second.c.state == e.c.state &&
                        old->second.health == e.health && old->second.exit_code == e.exit_code && old->second.c.name == e.c.name;
      e.c.revision = same ? old->second.c.revision : ++next_revision_;
      fresh.emplace(s.id, std::move(e));
    }
    // What happened while the list was on its way: applying it again is harmless when the list
    // already shows it, and right when it does not.
    for (const auto& seen : pending_) apply(fresh, seen);
    entries_ = std::move(fresh);
    listing_ = false;
    pending_.clear();
    ++generation_;
    was_in_step = in_step_;
    in_step_ = true;
    settled_ = true;
    error_.clear();
  }
  settled_cv_.notify_all();
  spdlog::debug("container cache: {} containers listed", listed.size());
  for (const auto& l : listeners_) {
    if (!was_in_step && l.on_connection) l.on_connection(true, "");
    if (l.on_list) l.on_list(reason);
  }
}

void ContainerCache::on_watcher_connection(bool up, const std::string& why) {
  if (up) return;  // in step only once listed (list_now)
  {
    std::lock_guard lock(mu_);
    in_step_ = false;
    settled_ = true;
    error_ = why;
  }
  settled_cv_.notify_all();
  for (const auto& l : listeners_)
    if (l.on_connection) l.on_connection(false, why);
}

void ContainerCache::relist_loop() {
  if (relist_interval_.count() <= 0) return;
  while (!stop_.wait_for(relist_interval_)) {
    {
      std::lock_guard lock(mu_);
      if (!in_step_) continue;  // the watcher lists when it gets the engine back
    }
    try {
      list_now(ListReason::interval);
    } catch (const Error& e) {
      spdlog::debug("container cache: periodic list failed: {}", e.what());
    }
  }
}

ContainerList ContainerCache::containers() {
  std::unique_lock lock(mu_);
  settled_cv_.wait_for(lock, kFirstListWait, [this] { return settled_ || !started_; });
  if (!in_step_)
    throw UnreachableError("docker engine at " + client_.endpoint().describe() + ": " + (error_.empty() ? "not connected" : error_));
  if (!snapshot_ || snapshot_generation_ != generation_) {
    auto list = std::make_shared<std::vector<ContainerSummary>>();
    list->reserve(entries_.size());
    for (const auto& [id, e] : entries_) list->push_back(e.c);
    // As the engine lists them: newest first.
    std::stable_sort(list->begin(), list->end(), [](const ContainerSummary& a, const ContainerSummary& b) {
      return a.created != b.created ? a.created > b.created : a.id < b.id;
    });
    snapshot_ = std::move(list);
    snapshot_generation_ = generation_;
  }
  return snapshot_;
}

std::optional<ContainerSummary> ContainerCache::find(const std::string& id_or_name) const {
  std::lock_guard lock(mu_);
  if (auto it = entries_.find(id_or_name); it != entries_.end()) return it->second.c;
  for (const auto& [id, e] : entries_)
    if (e.c.name == id_or_name) return e.c;
  return std::nullopt;
}

unsigned long long ContainerCache::generation() const {
  std::lock_guard lock(mu_);
  return generation_;
}

}  // namespace orch::docker
