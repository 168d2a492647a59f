#include "live/endpoints.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>

#include "live/status_page.hpp"

namespace orch::live {

using namespace std::chrono_literals;

bool stream_id_after(const std::string& a, const std::string& b) {
  auto parse = [](const std::string& id) {
    unsigned long long ms = 0, seq = 0;
    std::sscanf(id.c_str(), "%llu-%llu", &ms, &seq);
    return std::make_pair(ms, seq);
  };
  return parse(a) > parse(b);
}

std::string sse_frame(const Event& e) {
  return "id: " + e.stream_id + "\nevent: " + e.type + "\ndata: " + e.to_string() + "\n\n";
}

Module::Module(ServeContext& ctx)
    : ctx_(ctx), viewers_(ctx.metrics.gauge("orch_live_viewers", "Connected /events viewers").get()) {
  ctx.http.allow("/events", "GET");
  ctx.http.allow("/", "GET");
  ctx.http.routes().Get("/events", [this](const httplib::Request& req, httplib::Response& res) { events(req, res); });
  ctx.http.routes().Get("/", [this](const httplib::Request& req, httplib::Response& res) { page(req, res); });
}

// Bearer token, or ?token= (browsers' EventSource cannot send headers), or loopback without a token.
bool Module::authorized(const httplib::Request& req, httplib::Response& res) {
  const auto& token = ctx_.config.settings.str("ORCH_API_TOKEN");
  if (!token.empty() && req.has_param("token") && http::constant_time_equal(req.get_param_value("token"), token)) return true;
  return http::authorize_control(req, res, token);
}

void Module::page(const httplib::Request& req, httplib::Response& res) {
  if (!authorized(req, res)) return;
  res.set_content(status_page_html(), "text/html; charset=utf-8");
}

void Module::events(const httplib::Request& req, httplib::Response& res) {
  if (!authorized(req, res)) return;
  struct Viewer {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Event> queue;
    std::string last_sent;
    bool overflow = false;
    std::chrono::steady_clock::time_point last_write = std::chrono::steady_clock::now();
  };
  auto viewer = std::make_shared<Viewer>();
  std::string prefix = req.has_param("type") ? req.get_param_value("type") : "";
  if (!prefix.empty() && prefix.back() == '*') prefix.pop_back();
  const std::string resume = req.has_header("Last-Event-ID") ? req.get_header_value("Last-Event-ID")
                                                             : (req.has_param("last_event_id") ? req.get_param_value("last_event_id") : "");
  // Subscribe first, then read the backlog: nothing falls between the two; duplicates at the seam
  // are dropped by comparing stream ids.
  auto sub = std::make_shared<Subscription>(ctx_.bus.subscribe([viewer](const Event& e) {
    std::lock_guard lock(viewer->mu);
    if (viewer->queue.size() >= 10'000) {
      viewer->overflow = true;  // a viewer that does not read is dropped, not the bus
      return;
    }
    viewer->queue.push_back(e);
    viewer->cv.notify_all();
  }));
  std::deque<Event> backlog;
  if (!resume.empty()) {
    try {
      for (auto& e : ctx_.bus.read_after(resume, 10'000)) backlog.push_back(std::move(e));
    } catch (const UnreachableError&) {
    }
    viewer->last_sent = resume;
  }
  {
    std::lock_guard lock(viewer->mu);
    viewer->queue.insert(viewer->queue.begin(), backlog.begin(), backlog.end());
  }
  viewers_.inc();
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, viewer, prefix, sub](size_t, httplib::DataSink& sink) {
        std::unique_lock lock(viewer->mu);
        // Short waits: shutdown is noticed within half a second (nobody signals this viewer then).
        viewer->cv.wait_for(lock, 500ms, [&] { return !viewer->queue.empty() || viewer->overflow || stopping_ || ctx_.http.stopping(); });
        if (viewer->overflow || stopping_ || ctx_.http.stopping()) {
          sink.done();
          return false;
        }
        std::string out;
        while (!viewer->queue.empty()) {
          Event e = std::move(viewer->queue.front());
          viewer->queue.pop_front();
          if (!viewer->last_sent.empty() && !e.stream_id.empty() && !stream_id_after(e.stream_id, viewer->last_sent)) continue;
          if (!e.stream_id.empty()) viewer->last_sent = e.stream_id;
          if (!prefix.empty() && e.type.rfind(prefix, 0) != 0) continue;
          out += sse_frame(e);
        }
        lock.unlock();
        const auto now = std::chrono::steady_clock::now();
        if (out.empty()) {
          if (now - viewer->last_write < 15s) return true;
          out = ": keep-alive\n\n";
        }
        viewer->last_write = now;
        return sink.write(out.data(), out.size());
      },
      [this, sub](bool) {
        sub->reset();
        viewers_.inc(-1);
      });
}

}  // namespace orch::live
