#pragma once
// The connection front end of the HTTP server: orch owns every socket from accept() to close().
// Event loops (core/reactor, one per core) accept, read and check every byte of every request
// head and body themselves, non-blocking and under limits that hold before anything is buffered;
// only complete requests leave the loops. cpp-httplib does what it is good at, routing and
// answering, on a worker (its process_request over a Stream of ours that reads the complete
// request from memory).
//
// - Limits (RFC 9112): request line, each header line, the number of fields and the whole head;
//   a deadline for the head and for the whole request; per-address and total connection caps.
//   Framing errors (conflicting Content-Length, Content-Length with Transfer-Encoding, a bad chunk
//   size, an unknown transfer coding, obsolete line folding...) are answered at once, and the
//   connection is closed: no byte after a framing error is read as a request.
// - Batched routes (POST /webhook/builder) are parsed and answered on the loop: every such request
//   of one round goes to its handler as one batch (one Redis round trip), answered asynchronously.
// - Other requests go to one of three worker lanes, so probes never wait behind control work:
//   probes (/healthz, /readyz, /health, /metrics), control (long requests: sync-test, rollback,
//   diagnose, heal, MCP; bounded, 503 beyond), and the rest. Workers exist only while there is work.
// - Responses that outlive their handler (SSE, WebSocket) take the connection (take_connection) or
//   stream through the loop (detach_stream).
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace orch {
class Reactor;
class WorkerPool;
}  // namespace orch

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

// Where a request that is not batched runs.
enum class Lane { probe, control, general };

struct FrontLimits {
  size_t request_line = 8 * 1024;   // 414 above
  size_t header_line = 8 * 1024;    // 431 above
  size_t header_fields = 100;       // 431 above
  size_t head = 64 * 1024;          // 431 above (request line and fields together)
  std::chrono::seconds head_deadline{10};     // from a request's first byte to its last head byte: 408
  std::chrono::seconds request_deadline{60};  // from the first byte to the last body byte: 408
  size_t connections = 10'000;      // in all; beyond, new connections are refused
  size_t connections_per_address = 256;
};

struct FrontOptions {
  size_t body_limit = 1 << 20;
  std::chrono::seconds keep_alive_timeout{2};  // idle between requests
  std::chrono::seconds read_timeout{5};        // without progress while receiving a request or sending an answer
  int keep_alive_max = 100000;                 // as advertised in Keep-Alive
  size_t loops = 2;                            // event loops; connections are spread over them
  FrontLimits limits;
  // Worker threads per lane (started on demand, ended when idle) and the requests that may wait.
  size_t probe_threads = 2, control_threads = 4, general_threads = 16;
  size_t control_queue = 16, general_queue = 1024;
  // Which lane a request (method, path) runs on.
  std::function<Lane(std::string_view method, std::string_view path)> lane;
  // Runs before a batched route's handler: false = refused (res filled in).
  std::function<bool(const httplib::Request&, httplib::Response&)> admit;
  // Runs after each batched answer (httplib's post-routing handler does the same for the rest).
  std::function<void(const httplib::Request&, httplib::Response&)> after;
  // Told of every request or connection the loop refuses itself (path, or "" when the head was
  // unreadable; status; the error code of the answer), for metrics. On a loop thread.
  std::function<void(std::string_view path, int status, std::string_view code)> refused;
  // Extra header lines ("Name: value\r\n") for a refusal of a request whose head was read (a 413),
  // so a path's answers carry what its handler's would (the webhook's X-Request-Id). On a loop thread.
  std::function<std::string(std::string_view path, const httplib::Headers& headers)> refusal_headers;
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
  // Creates the listening socket (SO_REUSEADDR only, backlog SOMAXCONN); port 0 = any free port.
  // Returns the port. Throws ConfigError saying why it cannot listen (address in use...).
  int listen(const std::string& host, int port);
  void start();
  // Serves a connection accepted elsewhere (one end of a socketpair: tests and the HTTP fuzz
  // harness, which talk to the real front end without a listening socket) exactly as one it
  // accepted itself, with the addresses given. After start(); the front end owns `fd` from now on.
  void serve_socket(int fd, const std::string& peer_ip, int peer_port, const std::string& local_ip, int local_port);
  // Stops accepting, answers what was fully received, closes idle connections, waits for requests
  // running on workers, ends response streams, then returns.
  void stop();
  bool stopping() const { return stopping_.load(); }
  // The Keep-Alive header line every kept-alive answer carries.
  const std::string& keep_alive_line() const { return keep_alive_line_; }

  struct Conn;
  class Loop;

 private:
  friend class Loop;
  FrontOptions opts_;
  std::string keep_alive_line_;  // the header every kept-alive answer carries
  std::map<std::string, BatchHandler, std::less<>> routes_;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::atomic<size_t> next_loop_{0};
  std::unique_ptr<WorkerPool> probe_pool_, control_pool_, general_pool_;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<int> on_workers_{0};
  std::atomic<size_t> open_{0};  // connections, all loops
  std::mutex per_address_mu_;
  std::map<std::string, size_t, std::less<>> per_address_;
  bool started_ = false;

  bool count_in(const std::string& address);
  void count_out(const std::string& address);
};

// --- For handlers running on a worker (inside httplib's process_request) ---

// Takes the request's connection away from the server: returns its descriptor, which the caller
// now owns and closes; whatever httplib writes after the handler returns is dropped. -1 when the
// request did not come through the front end.
int take_connection(const httplib::Request& req);

// A response sent in pieces from the handler itself, on its worker (chunked transfer coding): the
// MCP tool call answered as Server-Sent Events while the tool runs. end() finishes it and the
// connection stays usable; without end() the connection is closed.
class ChunkedReply {
 public:
  // Sends the head now. `headers` as name/value pairs (no framing headers).
  ChunkedReply(const httplib::Request& req, int status, const std::string& content_type,
               const std::vector<std::pair<std::string, std::string>>& headers = {});
  ~ChunkedReply();
  bool write(std::string_view bytes);  // false: the client went away
  void end();
  bool ok() const { return ok_; }

 private:
  Front::Conn* conn_;
  bool ok_ = true, ended_ = false;
};

// A response that outlives its handler (GET /mcp's notification stream): the head is sent, the
// handler returns at once, and the connection stays on its event loop, which writes what any
// thread sends (non-blocking, at most `max_buffered` bytes behind; beyond, the stream is closed).
class OutStream {
 public:
  virtual ~OutStream() = default;
  // Any thread. False once the stream is closed (client gone, too slow, server stopping).
  virtual bool send(std::string bytes) = 0;
  // Any thread: the last chunk; the connection then serves further requests.
  virtual void finish() = 0;
  virtual bool open() const = 0;
};
struct OutStreamOptions {
  std::string content_type = "text/event-stream";
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds keep_alive{0};  // > 0: `keep_alive_text` after this long without a send
  std::string keep_alive_text = ": keep-alive\n\n";
  size_t max_buffered = 1 << 20;
  std::function<void()> on_close;  // on the loop, once, when the stream ends for any reason
};
// nullptr when the request did not come through the front end.
std::shared_ptr<OutStream> detach_stream(const httplib::Request& req, OutStreamOptions opts);

}  // namespace orch::http
