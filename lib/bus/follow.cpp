#include "bus/follow.hpp"

#include <thread>

#include "bus/bus.hpp"
#include "redis/client.hpp"

namespace orch {

using namespace std::chrono_literals;

constexpr auto kGather = 10ms;  // the most a live event waits for company

namespace {

// An entry without a `type` field (an older publisher) is parsed to find out.
bool wanted(const std::vector<redis::Reply>& fields, const std::function<bool(std::string_view)>& wants) {
  for (size_t i = 0; i + 1 < fields.size(); i += 2)
    if (fields[i].str == "type") return wants(fields[i + 1].str);
  return true;
}

}  // namespace

void follow_events(const redis::Url& url, std::string after, const std::function<void(const Event&)>& on_event,
                   const std::function<bool()>& cancelled, const std::function<void(bool, const std::string&)>& on_connection,
                   const std::function<bool(std::string_view type)>& wants) {
  redis::Client c(url, {.connect_timeout = 1000ms, .timeout = 3000ms, .max_backoff = 2000ms});
  while (!cancelled()) {
    try {
      if (!c.connected()) {
        c.connection();
        if (on_connection) on_connection(true, "");
        if (after == "$") {
          // Pin "$" to a concrete id so a reconnect resumes where we were, without a gap.
          auto last = c.command({"XREVRANGE", kEventsStream, "+", "-", "COUNT", "1"});
          after = last.elements.empty() ? "0-0" : last.elements[0].elements[0].str;
        }
      }
      auto reply = c.command({"XREAD", "COUNT", "500", "BLOCK", "1000", "STREAMS", kEventsStream, after});
      if (reply.is_nil() || reply.elements.empty()) continue;
      // Under a stream of events, reading as soon as one arrives costs a round trip (and a wake-up
      // on both sides) per event; a short pause after a partial batch lets them gather instead.
      if (reply.elements[0].elements[1].elements.size() < 500) std::this_thread::sleep_for(kGather);
      for (const auto& entry : reply.elements[0].elements[1].elements) {
        after = entry.elements[0].str;
        const auto& f = entry.elements[1].elements;
        if (wants && !wanted(f, wants)) continue;
        for (size_t i = 0; i + 1 < f.size(); i += 2) {
          if (f[i].str != "event") continue;
          auto j = parse_json(f[i + 1].str);
          if (j.is_discarded()) continue;
          try {
            auto e = Event::from_json(j);
            e.stream_id = after;
            on_event(e);
          } catch (const std::invalid_argument&) {
          }
        }
      }
    } catch (const Error& e) {
      if (c.connected()) c.reset(e.what());  // an answer we cannot read: start afresh
      if (on_connection) on_connection(false, e.what());
      std::this_thread::sleep_for(std::max(c.retry_in(), Millis(100)));
    }
  }
}

}  // namespace orch
