#include "watch/format.hpp"

#include <cstdlib>

#include "core/text.hpp"
#include "docker/container_events.hpp"
#include "docker/swarm_events.hpp"

namespace orch::watch {

bool Filter::matches(const Event& e) const {
  if (!types.empty()) {
    bool ok = false;
    for (const auto& t : types) {
      if (!t.empty() && t.back() == '*') ok |= e.type.rfind(t.substr(0, t.size() - 1), 0) == 0;
      else ok |= e.type == t;
    }
    if (!ok) return false;
  }
  if (!services.empty()) {
    bool ok = false;
    for (const auto& s : services) {
      ok |= e.subject == s || e.data.value("service", "") == s || e.data.value("container", "") == s ||
            e.subject.rfind(s + "/", 0) == 0;
    }
    if (!ok) return false;
  }
  return true;
}

bool Dedupe::first_time(const Event& e) {
  if (e.type.rfind("container.", 0) != 0) return true;  // only container events have two sources
  auto key = e.type + "|" + e.subject + "|" + e.time;
  if (!seen_.insert(key).second) return false;
  order_.push_back(std::move(key));
  if (order_.size() > kRemembered) {
    seen_.erase(order_.front());
    order_.pop_front();
  }
  return true;
}

// "SIGKILL" for 9: what an operator reads in `docker kill --signal` and in exit codes 128+N.
static std::string signal_name(int n) {
  static const char* names[] = {"",       "SIGHUP",  "SIGINT",  "SIGQUIT", "SIGILL",  "SIGTRAP", "SIGABRT", "SIGBUS",
                                "SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM"};
  return n > 0 && n < 16 ? names[n] : "signal " + std::to_string(n);
}

static const char* colour_of(const std::string& type) {
  if (type.find("failed") != std::string::npos || type.find("down") != std::string::npos ||
      type.find("died") != std::string::npos || type.find("oom") != std::string::npos ||
      type.find("unhealthy") != std::string::npos || type.find("quarantined") != std::string::npos)
    return "\033[31m";
  if (type.find("restarted") != std::string::npos || type.find("degraded") != std::string::npos ||
      type.find("rollback") != std::string::npos)
    return "\033[33m";
  return "\033[32m";
}

std::string human_line(const Event& e, bool colour) {
  std::string time = e.time.size() >= 23 ? e.time.substr(11, 12) : e.time;
  std::string type = e.type;
  type.resize(std::max<size_t>(type.size(), 20), ' ');
  std::string line = time + "  " + (colour ? colour_of(e.type) + type + "\033[0m" : type) + "  " + e.subject;
  if (e.data.is_object()) {
    for (const auto& [k, v] : e.data.items()) {
      if (v.is_null() || (v.is_string() && v.get<std::string>().empty())) continue;
      if (k == "container" && v == e.subject) continue;
      line += "  " + k + "=" + as_text(v);
      // An exit code above 128 is a signal's: say which (137: killed, 143: terminated).
      if (k == "exit_code" && v.is_number_integer() && v.get<int>() > 128 && v.get<int>() < 160)
        line += " (" + signal_name(v.get<int>() - 128) + ")";
      if (k == "signal" && v.is_number_integer()) line += " (" + signal_name(v.get<int>()) + ")";
    }
  }
  return line;
}

void ConnectionLine::operator()(bool up, const std::string& why) {
  std::lock_guard lock(mu_);
  if (up == up_) return;
  // One write per line: stderr is unbuffered, and the other sources' lines (and "watching ...")
  // come from other threads; piece by piece they interleave on a terminal.
  if (!up) out_ << (source_ + ": " + why + " (retrying)\n") << std::flush;
  else if (said_down_) out_ << (source_ + ": connected again\n") << std::flush;
  said_down_ |= !up;
  up_ = up;
}

Event from_engine(const docker::EventMessage& m, const Config& cfg) {
  if (auto swarm = docker::swarm_event_type(m); !swarm.empty()) return docker::swarm_event(swarm, m);
  auto type = docker::container_event_type(m);
  if (type.empty()) type = "container." + m.action.substr(0, m.action.find(':'));
  auto e = docker::container_event(type, m, cfg);
  // `docker kill` says which signal: a kill that was a SIGTERM is not a crash.
  if (const auto sig = m.attribute("signal"); !sig.empty()) e.data["signal"] = std::atoi(sig.c_str());
  return e;
}

}  // namespace orch::watch
