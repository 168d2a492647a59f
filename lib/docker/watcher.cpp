#include "docker/watcher.hpp"

#include <spdlog/spdlog.h>

namespace orch::docker {

using namespace std::chrono_literals;

bool is_container_event(const EventMessage& m) { return m.type == "container" && m.action.rfind("exec_", 0) != 0; }

Watcher::Watcher(Client& client, WatcherCallbacks callbacks, std::vector<std::string> types)
    : client_(client), cb_(std::move(callbacks)), types_(std::move(types)) {}
Watcher::~Watcher() { stop(); }

void Watcher::start() { thread_ = std::thread([this] { run(); }); }

void Watcher::stop() {
  stop_.request_stop();
  if (thread_.joinable()) thread_.join();
}

void Watcher::run() {
  std::optional<long long> since;  // unix seconds of the last event seen
  std::set<std::pair<long long, std::string>> seen_at_since;  // events of that second already handled
  std::chrono::milliseconds backoff = 100ms;
  bool connected = false;
  while (!stop_.stop_requested()) {
    try {
      client_.api_version();
      if (!connected) {
        connected = true;
        backoff = 100ms;
        if (cb_.on_connection) cb_.on_connection(true, "");
        spdlog::info("docker watcher connected to {}", client_.endpoint().describe());
      }
      if (cb_.on_relist) cb_.on_relist();
      EventFilter f;
      f.filters = {{"type", types_}};
      f.since = since;
      client_.events(
          f,
          [&](const EventMessage& m) {
            long long secs = m.time_nano / 1'000'000'000;
            auto key = std::make_pair(m.time_nano, m.id + m.action);
            // `since` replays the whole last second: skip what we already handled.
            if (since && secs == *since && seen_at_since.count(key)) return;
            if (!since || secs != *since) seen_at_since.clear();
            since = secs;
            seen_at_since.insert(key);
            if ((m.type != "container" || is_container_event(m)) && cb_.on_event) cb_.on_event(m);
          },
          [&] { return stop_.stop_requested(); });
      if (stop_.stop_requested()) break;
      // The stream ended without an error: the engine went away (restart). Reconnect.
      throw UnreachableError("event stream ended");
    } catch (const Error& e) {
      if (connected) {
        connected = false;
        spdlog::warn("docker watcher lost the engine: {}", e.what());
      }
      if (cb_.on_connection) cb_.on_connection(false, e.what());
      if (stop_.wait_for(backoff)) break;
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, 5000ms);
    }
  }
}

}  // namespace orch::docker
