#pragma once
// The connection front end of the HTTP server. httplib accepts; every accepted connection then
// lives on one epoll loop instead of holding a worker thread for its whole keep-alive life.
//
// - Batched routes (POST /webhook/builder) are parsed and answered on the loop itself: every such
//   request that arrived in one loop round goes to its handler as one batch, so a burst from many
//   connections costs one Redis round trip and no thread wake-up per request. The handler answers
//   asynchronously: the loop goes on reading and checking the next requests while Redis works.
// - Any other request, or one the loop does not take on (chunked body, Expect, over the body limit,
//   a malformed head), is handed with its connection to a worker that runs httplib's own request
//   processing on it; the connection comes back to the loop afterwards. Handlers therefore see
//   exactly what plain httplib gives them, take_connection() included.
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace orch::http {

// One request of a batch and the answer its handler fills in.
struct Exchange {
  httplib::Request req;
  httplib::Response res;
};
// Runs on the loop thread and must not block it: it answers every exchange of the batch (sets
// res.status), at once or later from any thread, then calls `done` exactly once; the loop sends
// the answers after that. A handler that throws must not call `done` (the loop answers 500).
using BatchHandler = std::function<void(const std::vector<Exchange*>& batch, std::function<void()> done)>;

struct FrontOptions {
  size_t body_limit = 1 << 20;
  std::chrono::seconds keep_alive_timeout{2};  // idle between requests
  std::chrono::seconds read_timeout{5};        // to receive a started request, or to send an answer
  int keep_alive_max = 100000;                 // as advertised in Keep-Alive (httplib's setting)
  size_t workers = 256;
  size_t loops = 2;  // epoll threads; connections are spread over them
  // Runs before a batched route's handler: false = refused (res filled in).
  std::function<bool(const httplib::Request&, httplib::Response&)> admit;
  // Runs after each batched answer (httplib's post-routing handler does the same for the rest).
  std::function<void(const httplib::Request&, httplib::Response&)> after;
  // httplib's request processing for one request on `stream`; sets connection_closed.
  std::function<bool(httplib::Stream& stream, bool close_connection, bool& connection_closed)> process;
};

class Front {
 public:
  explicit Front(FrontOptions opts);
  ~Front();
  Front(const Front&) = delete;
  Front& operator=(const Front&) = delete;

  // Before start().
  void add_batch_route(const std::string& path, BatchHandler handler);
  void start();
  // Takes ownership of an accepted connection (any thread).
  void adopt(int fd);
  // Answers what was fully received, closes idle connections, waits for requests running on
  // workers, then returns; connections handed back afterwards are closed.
  void stop();

  struct Conn;

 private:
  class Loop;
  FrontOptions opts_;
  std::string keep_alive_line_;                          // the header every kept-alive answer carries
  std::map<std::string, BatchHandler, std::less<>> routes_;  // found by the request target's view
  std::vector<std::unique_ptr<Loop>> loops_;
  std::atomic<size_t> next_loop_{0};
  std::unique_ptr<httplib::ThreadPool> workers_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> on_workers_{0};
  bool started_ = false;
};

}  // namespace orch::http
