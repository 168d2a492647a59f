#include "heal/leader.hpp"

#include <spdlog/spdlog.h>

namespace orch::heal {

// Renew only our own lease; release only our own lease.
constexpr const char* kRenew =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
constexpr const char* kRelease =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

LeaderLease::LeaderLease(std::string redis_url, std::string id, Millis lease, std::function<void(bool)> on_change)
    : url_(std::move(redis_url)), id_(std::move(id)), lease_(lease), on_change_(std::move(on_change)) {
  if (url_.empty()) {
    leader_ = true;
    if (on_change_) on_change_(true);
    return;
  }
  thread_ = std::thread([this] { run(); });
}

LeaderLease::~LeaderLease() {
  stop_.request_stop();
  if (thread_.joinable()) thread_.join();
}

bool LeaderLease::try_acquire_or_renew(redis::Client& c) {
  const auto px = std::to_string(lease_.count());
  auto set = c.command({"SET", "orch:leader", id_, "NX", "PX", px});
  if (!set.is_nil()) return true;
  return c.command({"EVAL", kRenew, "1", "orch:leader", id_, px}).integer == 1;
}

void LeaderLease::run() {
  redis::Client conn(redis::parse_url(url_), {.connect_timeout = std::chrono::seconds(1), .timeout = std::chrono::seconds(1)});
  auto last_renewal = std::chrono::steady_clock::now() - lease_;
  auto set_leader = [&](bool v) {
    if (leader_.exchange(v) != v) {
      spdlog::info("healer leadership {}", v ? "acquired" : "lost");
      if (on_change_) on_change_(v);
    }
  };
  do {
    try {
      bool held = try_acquire_or_renew(conn);
      if (held) last_renewal = std::chrono::steady_clock::now();
      set_leader(held);
    } catch (const Error& e) {
      // Keep acting only while the lease we hold has not run out.
      if (std::chrono::steady_clock::now() - last_renewal >= lease_) set_leader(false);
    }
  } while (!stop_.wait_for(lease_ / 3));
  if (leader_ && conn.connected()) {
    try {
      conn.command({"EVAL", kRelease, "1", "orch:leader", id_});  // hand over at once on shutdown
    } catch (const Error&) {
    }
  }
  leader_ = false;
}

}  // namespace orch::heal
