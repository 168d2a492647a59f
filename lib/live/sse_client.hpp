#pragma once
// Client side of GET /events (Server-Sent Events) of a remote `orch serve`: parses `id:`,
// `event:`, `data:` frames into events and reconnects with Last-Event-ID, so nothing is missed.
#include <functional>
#include <string>

#include "core/event.hpp"

namespace orch::live {

struct SseSource {
  std::string url;    // e.g. http://orch:9000/events
  std::string token;  // bearer token, may be empty
};

// Runs until cancelled(); throws UnreachableError only if the very first connection fails.
void follow_sse(const SseSource& src, const std::function<void(const Event&)>& on_event,
                const std::function<bool()>& cancelled);

// Incremental SSE frame parser (exposed for tests): feed bytes, get (id, event, data) frames.
class SseParser {
 public:
  struct Frame {
    std::string id, event, data;
  };
  template <class F>
  void feed(std::string_view bytes, F on_frame) {
    buffer_.append(bytes);
    size_t nl;
    while ((nl = buffer_.find('\n')) != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) {
        if (!frame_.data.empty() || !frame_.event.empty()) on_frame(frame_);
        frame_ = {};
        continue;
      }
      if (line[0] == ':') continue;  // comment / keep-alive
      auto colon = line.find(':');
      std::string field = line.substr(0, colon);
      std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
      if (!value.empty() && value[0] == ' ') value.erase(0, 1);
      if (field == "id") frame_.id = value;
      else if (field == "event") frame_.event = value;
      else if (field == "data") frame_.data += (frame_.data.empty() ? "" : "\n") + value;
    }
  }

 private:
  std::string buffer_;
  Frame frame_;
};

}  // namespace orch::live
