#include "heal/exit_cause.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <map>

namespace orch::heal {

namespace {

constexpr long long kSecond = 1'000'000'000LL;

// Linux signal numbers of the signals a stop may use (`docker stop` sends Config.StopSignal, SIGTERM
// by default); the engine's kill events carry the number.
int signal_number(std::string s) {
  if (s.empty()) return 15;
  if (s.size() < 4 && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); })) return std::stoi(s);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  if (s.rfind("SIG", 0) == 0) s.erase(0, 3);
  static const std::map<std::string, int> numbers = {{"HUP", 1},   {"INT", 2},   {"QUIT", 3},  {"KILL", 9},
                                                      {"USR1", 10}, {"USR2", 12}, {"TERM", 15}, {"WINCH", 28},
                                                      {"PWR", 30}};
  auto it = numbers.find(s);
  return it == numbers.end() ? 0 : it->second;
}

std::string seconds_text(long long ns) { return std::to_string(ns / kSecond) + " s"; }

}  // namespace

long long stop_window_ns(const docker::ContainerInfo& c) {
  // In long long: Config.StopTimeout comes from the engine and may be as large as an int.
  return std::max<long long>(15, static_cast<long long>(c.stop_timeout.value_or(10)) + 5) * kSecond;
}

StopEvidence engine_evidence(docker::Client& docker) {
  StopEvidence ev;
  std::vector<docker::EventMessage> all;
  try {
    all = docker.past_events(0);
  } catch (const Error& e) {
    spdlog::warn("heal: cannot read the engine's event log: {}", e.what());
    return ev;
  }
  for (auto& m : all) {
    if (!ev.complete_from_ns || m.time_nano < *ev.complete_from_ns) ev.complete_from_ns = m.time_nano;
    if (m.type == "container" && (m.action == "kill" || m.action == "stop" || m.action == "die")) ev.events.push_back(std::move(m));
  }
  return ev;
}

ExitVerdict exit_cause(const docker::ContainerInfo& c, const StopEvidence& evidence) {
  if (c.oom_killed) return {ExitCause::crashed, "killed by the kernel for memory (OOMKilled)"};
  const auto finished = docker::engine_time_ns(c.finished_at);
  const std::string code = "exit " + std::to_string(c.exit_code);
  if (!finished) return {ExitCause::unknown, code + " without a finish time"};
  const long long before = stop_window_ns(c);
  std::string stop_signal_name;  // Config.StopSignal; another type there reads as absent
  if (c.raw.is_object())
    if (const auto config = c.raw.find("Config"); config != c.raw.end() && config->is_object())
      if (const auto sig = config->find("StopSignal"); sig != config->end() && sig->is_string()) stop_signal_name = sig->get<std::string>();
  int stop_signal = signal_number(stop_signal_name);
  if (stop_signal == 0) stop_signal = 15;  // a name this table does not know
  // A kill that ends processes (not a HUP or USR1 asking for a reload) is a stop.
  auto stopping = [&](const std::string& sig) {
    if (sig.empty()) return true;
    const int n = signal_number(sig);
    return n == 2 || n == 3 || n == 9 || n == 15 || n == stop_signal;
  };
  // Events of an earlier run (orch's own restart, a person's `docker restart`) say nothing of this exit.
  const long long started = docker::engine_time_ns(c.started_at).value_or(0);
  for (const auto& m : evidence.events) {
    if (m.id != c.id || m.time_nano < started) continue;
    // `docker kill` and the signals of `docker stop` come before the die; the stop event after it.
    if (m.action == "kill" && stopping(m.attribute("signal")) && m.time_nano >= *finished - before && m.time_nano <= *finished + kSecond)
      return {ExitCause::stopped, "stopped through the API (kill" + (m.attribute("signal").empty() ? "" : " signal " + m.attribute("signal")) +
                                      " " + seconds_text(*finished - m.time_nano) + " before it exited)"};
    if (m.action == "stop" && m.time_nano >= *finished - kSecond && m.time_nano <= *finished + 10 * kSecond)
      return {ExitCause::stopped, "stopped through the API (docker stop)"};
  }
  if (evidence.complete_from_ns && *evidence.complete_from_ns <= *finished - before)
    return {ExitCause::crashed, code + " by itself (no kill or stop through the API)"};
  for (int stop_like : {130, 131, 137, 143, 128 + stop_signal})
    if (c.exit_code == stop_like)
      return {ExitCause::unknown, code + " (a stop signal's code) from before the engine's event log begins: cannot tell a person's stop from a crash"};
  return {ExitCause::crashed, code + " is the process's own (not a stop signal's code)"};
}

}  // namespace orch::heal
