#pragma once
// Reads orch:events as it grows (XREAD BLOCK), from `after` (a stream id, or "$" for new events
// only), reconnecting with redis::Client's backoff (to 2 s). Used by the Redis bus for live subscribers and by `orch watch`.
#include <functional>
#include <string>

#include "redis/connection.hpp"
#include "core/event.hpp"

namespace orch {

// `wants`, when given, is asked with the entry's `type` field (written by publishers since the
// field exists) and entries it refuses are skipped unparsed.
void follow_events(const redis::Url& url, std::string after, const std::function<void(const Event&)>& on_event,
                   const std::function<bool()>& cancelled, const std::function<void(bool, const std::string&)>& on_connection = {},
                   const std::function<bool(std::string_view type)>& wants = {});

}  // namespace orch
