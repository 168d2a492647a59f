#include "live/sse_client.hpp"

#include <spdlog/spdlog.h>

#include <thread>

#include "http/client.hpp"

namespace orch::live {

void follow_sse(const SseSource& src, const std::function<void(const Event&)>& on_event,
                const std::function<bool()>& cancelled) {
  std::string last_id;
  bool ever_connected = false;
  auto backoff = std::chrono::milliseconds(200);
  while (!cancelled()) {
    http::Request req;
    req.url = src.url;
    req.timeout = std::chrono::milliseconds(0);
    req.headers.emplace_back("Accept", "text/event-stream");
    if (!src.token.empty()) req.headers.emplace_back("Authorization", "Bearer " + src.token);
    if (!last_id.empty()) req.headers.emplace_back("Last-Event-ID", last_id);
    SseParser parser;
    try {
      auto res = http::stream(
          req,
          [&](std::string_view chunk) {
            ever_connected = true;
            parser.feed(chunk, [&](const SseParser::Frame& f) {
              auto j = parse_json(f.data);
              if (j.is_discarded()) return;
              try {
                auto e = Event::from_json(j);
                e.stream_id = f.id;
                if (!f.id.empty()) last_id = f.id;
                on_event(e);
              } catch (const std::invalid_argument&) {
              }
            });
            return !cancelled();
          },
          cancelled);
      if (res.status == 401 || res.status == 403) throw UnreachableError(src.url + ": " + std::to_string(res.status) + " (check ORCH_API_TOKEN)");
      if (res.status != 200 && !cancelled()) spdlog::warn("{} answered {}", src.url, res.status);
      else backoff = std::chrono::milliseconds(200);
    } catch (const http::TransportError& e) {
      if (!ever_connected) throw UnreachableError(src.url + ": " + e.what());
      spdlog::warn("event stream lost ({}); reconnecting", e.what());
    }
    if (cancelled()) break;
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
  }
}

}  // namespace orch::live
