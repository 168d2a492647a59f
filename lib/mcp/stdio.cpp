#include "mcp/stdio.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/text.hpp"

namespace orch::mcp {

void serve_stdio(Server& server, std::istream& in, std::ostream& out, const StdioOptions& options) {
  std::mutex out_mu;
  auto write = [&](const json& m) {
    std::lock_guard lock(out_mu);
    out << to_text(m) << '\n' << std::flush;
  };
  Session session(write);
  server.attach(&session);

  std::mutex mu;
  std::condition_variable cv;
  std::deque<json> waiting;  // tool calls read, not yet on a worker
  bool closing = false;
  std::vector<std::thread> workers;
  for (size_t i = 0; i < std::max<size_t>(1, options.workers); ++i) {
    workers.emplace_back([&] {
      for (;;) {
        json call;
        {
          std::unique_lock lock(mu);
          cv.wait(lock, [&] { return closing || !waiting.empty(); });
          if (waiting.empty()) return;  // closing, and every accepted call has run
          call = std::move(waiting.front());
          waiting.pop_front();
        }
        auto reply = server.handle(call, session);
        if (!reply.is_null()) write(reply);
      }
    });
  }

  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line == "\r") continue;
    auto msg = parse_json(line);
    const bool tool_call = msg.is_object() && msg.contains("method") && msg["method"].is_string() && msg["method"] == "tools/call";
    if (!tool_call) {
      auto reply = msg.is_discarded() ? server.handle_text(line, session) : server.handle(msg, session);
      if (!reply.is_null()) write(reply);
      continue;
    }
    std::unique_lock lock(mu);
    if (waiting.size() >= options.queue) {
      lock.unlock();
      // The client may send it again once an earlier call has answered.
      const json& id = msg.contains("id") && (msg["id"].is_string() || msg["id"].is_number_integer()) ? msg["id"] : json();
      if (msg.contains("id"))
        write(error_response(id, kServerBusy,
                             "orch is busy: " + std::to_string(options.workers) + " tool calls are running and " +
                                 std::to_string(options.queue) + " waiting; send this call again when one has answered",
                             {{"retryable", true}}));
      continue;
    }
    waiting.push_back(std::move(msg));
    lock.unlock();
    cv.notify_one();
  }

  {
    std::lock_guard lock(mu);
    closing = true;
  }
  cv.notify_all();
  for (auto& w : workers) w.join();
  server.end_listens(session);  // a 2026-07-28 client learns its listens ended, not that orch vanished
  server.detach(&session);
}

}  // namespace orch::mcp
