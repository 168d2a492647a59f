// `orch mcp` over stdio, driven by raw newline-delimited JSON-RPC (issue 15): tool calls on a
// bounded worker pool (flat memory and threads over 5,000 calls, a busy answer beyond the queue),
// cancelled calls that fail, responses sent by the client, and messages of the wrong shape.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <set>
#include <thread>

#include "mcp/mcp_helpers.hpp"
#include "support/pipe_process.hpp"

using namespace orch;
using namespace orch::test;
using namespace orch::test::mcp;
using namespace std::chrono_literals;

namespace {

// A Docker socket that accepts connections (the kernel queues them) and never answers: Docker
// calls hang until close() resets them, so a test decides when a tool call fails.
class SilentDocker {
 public:
  SilentDocker() {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path().c_str());
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd_, 512) != 0) ADD_FAILURE() << "silent docker socket";
  }
  ~SilentDocker() { close(); }
  std::string path() const { return dir_.path() + "/docker.sock"; }
  std::string host() const { return "unix://" + path(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  TempDir dir_;
  int fd_ = -1;
};

// A started `orch mcp` with an initialized session.
struct Peer {
  TempDir state;
  std::unique_ptr<PipeProcess> proc;
  explicit Peer(Env env = kBase) {
    env["ORCH_STATE_DIR"] = state.path();
    proc = std::make_unique<PipeProcess>(std::vector<std::string>{ORCH_BINARY, "mcp"}, env, state.file("stderr.log"));
    std::istringstream init(init_line());
    for (std::string line; std::getline(init, line);) proc->write_line(line);
    auto first = next();
    EXPECT_EQ(first.value("id", json()), 1) << first;
  }
  // The next reply line that is a response (notifications are skipped); null at EOF/timeout.
  json next(std::chrono::milliseconds timeout = 20s) {
    for (;;) {
      auto line = proc->read_line(timeout);
      if (!line) return nullptr;
      auto j = json::parse(*line, nullptr, false);
      if (j.is_object() && j.contains("id")) return j;
    }
  }
};

struct Usage {
  long long vm_kb, rss_kb, threads;
};
Usage usage_of(pid_t pid) { return {proc_status(pid, "VmSize"), proc_status(pid, "VmRSS"), proc_status(pid, "Threads")}; }

// Every tools/call used to get its own std::thread, joined only at EOF: each finished thread kept
// its 8 MiB stack mapped, so address space grew without bound. Now a fixed pool runs the calls.
TEST(McpStdio, ManyToolCallsKeepMemoryAndThreadsFlat) {
  // Under AddressSanitizer freed memory waits in a quarantine (256 MB) before reuse, which
  // would read as growth here; an uninstrumented orch ignores the variable.
  Env env = kBase;
  const char* asan = std::getenv("ASAN_OPTIONS");
  env["ASAN_OPTIONS"] = std::string(asan ? std::string(asan) + ":" : "") + "quarantine_size_mb=0:thread_local_quarantine_size_kb=0";
  Peer peer(env);
  constexpr int kCalls = 5000, kWindow = 16;  // the window stays under the pool's queue bound
  int sent = 0, answered = 0, errors = 0;
  Usage at_500{}, at_end{};
  std::set<int> ids;
  while (answered < kCalls) {
    while (sent < kCalls && sent - answered < kWindow) {
      ++sent;
      ASSERT_TRUE(peer.proc->write_line(call_line(1000 + sent, "recent_events", {{"count", 1}})));
    }
    auto reply = peer.next();
    ASSERT_FALSE(reply.is_null()) << "no answer after " << answered << " calls";
    ++answered;
    ids.insert(reply["id"].get<int>());
    if (!reply.contains("result") || reply["result"].value("isError", true)) ++errors;
    if (answered == 500) at_500 = usage_of(peer.proc->pid());
  }
  at_end = usage_of(peer.proc->pid());
  EXPECT_EQ(errors, 0);
  EXPECT_EQ(ids.size(), static_cast<size_t>(kCalls));
  std::cout << "after 500 calls: VmSize " << at_500.vm_kb << " kB, VmRSS " << at_500.rss_kb << " kB, Threads " << at_500.threads
            << "; after " << kCalls << ": VmSize " << at_end.vm_kb << " kB, VmRSS " << at_end.rss_kb << " kB, Threads "
            << at_end.threads << "\n";
  // A thread per call grew VmSize by about 8 MiB per call (36 GiB over these 4,500 calls).
  EXPECT_LT(at_end.vm_kb - at_500.vm_kb, 64 * 1024);
  EXPECT_LT(at_end.rss_kb - at_500.rss_kb, 32 * 1024);
  EXPECT_LE(at_end.threads, at_500.threads + 1);
  EXPECT_LE(at_end.threads, 16);
  peer.proc->close_stdin();
  EXPECT_EQ(peer.proc->wait(20s), 0);
}

// Beyond the pool's queue a call is answered at once with a retryable busy error, and nothing
// is lost: every call accepted is answered once Docker lets go.
TEST(McpStdio, FullQueueAnswersBusyAndTheRestComplete) {
  SilentDocker docker;
  Env env = kBase;
  env["DOCKER_HOST"] = docker.host();
  Peer peer(env);
  constexpr int kCalls = 4 + 64 + 8;  // workers + queue + more
  for (int i = 0; i < kCalls; ++i) ASSERT_TRUE(peer.proc->write_line(call_line(100 + i, "container_logs", {{"container", "x"}})));
  // Docker answers nothing, so whatever comes now is a busy answer: at least the 8 beyond
  // workers + queue (up to 4 more when the reader outran the workers taking their first calls).
  std::set<int> answered;
  int busy = 0;
  for (json r; !(r = peer.next(1500ms)).is_null();) {
    ASSERT_TRUE(r.contains("error")) << r;
    EXPECT_EQ(r["error"]["code"], -32003) << r;
    EXPECT_EQ(r["error"]["data"]["retryable"], true);
    EXPECT_TRUE(answered.insert(r["id"].get<int>()).second);
    ++busy;
  }
  EXPECT_GE(busy, 8);
  EXPECT_LE(busy, 12);
  docker.close();  // the waiting Docker calls fail now
  for (json r; static_cast<int>(answered.size()) < kCalls && !(r = peer.next(60s)).is_null();) {
    EXPECT_EQ(r["result"]["isError"], true) << r;
    EXPECT_TRUE(answered.insert(r["id"].get<int>()).second) << r;
  }
  EXPECT_EQ(answered.size(), static_cast<size_t>(kCalls));
}

// notifications/cancelled: no response, also when the call then fails (only a success used to
// be suppressed).
TEST(McpStdio, CancelledCallThatFailsGetsNoResponse) {
  SilentDocker docker;
  Env env = kBase;
  env["DOCKER_HOST"] = docker.host();
  Peer peer(env);
  ASSERT_TRUE(peer.proc->write_line(call_line(2, "container_logs", {{"container", "x"}})));
  std::this_thread::sleep_for(300ms);  // on a worker, waiting for Docker
  ASSERT_TRUE(peer.proc->write_line(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":2,"reason":"test"}})"));
  ASSERT_TRUE(peer.proc->write_line(R"({"jsonrpc":"2.0","id":3,"method":"ping"})"));
  auto pong = peer.next();
  EXPECT_EQ(pong["id"], 3) << pong;
  docker.close();  // call 2 fails now
  ASSERT_TRUE(peer.proc->write_line(call_line(4, "container_logs", {{"container", "y"}})));
  auto after = peer.next();
  EXPECT_EQ(after["id"], 4) << after;
  EXPECT_EQ(after["result"]["isError"], true);
  peer.proc->close_stdin();
  for (json r; !(r = peer.next(5s)).is_null();) ADD_FAILURE() << "the cancelled call was answered: " << r;
  EXPECT_EQ(peer.proc->wait(20s), 0);
}

// A client answering a server request sends a response; orch sends no requests, so it has
// nothing to match and ignores it (it used to answer -32600).
TEST(McpStdio, ResponsesFromTheClientAreIgnored) {
  auto replies = raw_stdio(init_line() + R"({"jsonrpc":"2.0","id":7,"result":{}})" "\n"
                                         R"({"jsonrpc":"2.0","id":8,"error":{"code":-1,"message":"no"}})" "\n"
                                         R"({"jsonrpc":"2.0","id":9,"method":"ping"})" "\n");
  ASSERT_EQ(replies.size(), 2u) << json(replies).dump();
  EXPECT_EQ(replies[0]["id"], 1);
  EXPECT_EQ(replies[1]["id"], 9);
  EXPECT_EQ(replies[1]["result"], json::object());
}

// Members of the wrong type are -32600 (a non-string jsonrpc threw nlohmann's type_error and
// ended orch mcp); ids must be strings or integers (MCP forbids null); a 150,000-deep id is
// refused before anything copies it.
TEST(McpStdio, DeepAndMistypedMessagesAreInvalidRequests) {
  auto replies = raw_stdio(init_line() + deep_id_request(150000) + "\n" +
                           R"({"jsonrpc":2,"id":2,"method":"ping"})" "\n"
                           R"({"jsonrpc":"2.0","id":3,"method":5})" "\n"
                           R"({"jsonrpc":"2.0","id":null,"method":"ping"})" "\n"
                           R"({"jsonrpc":"2.0","id":[4],"method":"ping"})" "\n"
                           R"({"jsonrpc":"2.0","id":4.5,"method":"ping"})" "\n"
                           R"({"jsonrpc":"2.0","id":5,"method":"ping","params":[1]})" "\n"
                           R"({"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":7}})" "\n"
                           R"({"jsonrpc":"2.0","id":10,"method":"ping"})" "\n");
  ASSERT_EQ(replies.size(), 10u) << json(replies).dump();
  EXPECT_EQ(replies[1]["error"]["code"], -32700);
  EXPECT_EQ(replies[1]["id"], nullptr);
  EXPECT_EQ(reply_to(replies, 2)["error"]["code"], -32600);
  EXPECT_EQ(reply_to(replies, 3)["error"]["code"], -32600);
  for (size_t i = 4; i <= 6; ++i) {
    EXPECT_EQ(replies[i]["error"]["code"], -32600) << replies[i];
    EXPECT_EQ(replies[i]["id"], nullptr);
  }
  EXPECT_EQ(reply_to(replies, 5)["error"]["code"], -32602);
  EXPECT_EQ(reply_to(replies, 6)["error"]["code"], -32602);
  EXPECT_EQ(reply_to(replies, 10)["result"], json::object());
}

}  // namespace

namespace {

// One answer for an unknown resource wherever a URI is taken: -32002 with the uri as data.
TEST(McpStdio, UnknownResourceIsResourceNotFoundEverywhere) {
  auto replies = raw_stdio(init_line() + R"({"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"orch://nope"}})" "\n"
                                         R"({"jsonrpc":"2.0","id":3,"method":"resources/subscribe","params":{"uri":"orch://nope"}})" "\n"
                                         R"({"jsonrpc":"2.0","id":4,"method":"resources/unsubscribe","params":{"uri":"orch://nope"}})" "\n"
                                         R"({"jsonrpc":"2.0","id":5,"method":"resources/read","params":{"uri":7}})" "\n");
  for (int id : {2, 3, 4}) {
    auto r = reply_to(replies, id);
    EXPECT_EQ(r["error"]["code"], -32002) << r;
    EXPECT_EQ(r["error"]["data"]["uri"], "orch://nope") << r;
  }
  EXPECT_EQ(reply_to(replies, 5)["error"]["code"], -32602);  // not a URI at all: invalid params
}

}  // namespace

// docs/mcp.md: tools/list and resources/list page by an opaque cursor (an offset): the first page
// is the same with or without cursor "0", a cursor past the end is an empty page without
// nextCursor, and a cursor that is not one is -32602. orch's lists fit one page (50), so no
// nextCursor is ever given.
TEST(McpStdio, CursorPagination) {
  std::string in = init_line();
  in += R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})"
        "\n";
  in += R"({"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"cursor":"0"}})"
        "\n";
  in += R"({"jsonrpc":"2.0","id":4,"method":"tools/list","params":{"cursor":"1"}})"
        "\n";
  in += R"({"jsonrpc":"2.0","id":5,"method":"tools/list","params":{"cursor":"1000"}})"
        "\n";
  in += R"({"jsonrpc":"2.0","id":6,"method":"tools/list","params":{"cursor":"page-two"}})"
        "\n";
  in += R"({"jsonrpc":"2.0","id":7,"method":"resources/list","params":{"cursor":"1"}})"
        "\n";
  const auto replies = raw_stdio(in);
  const auto all = reply_to(replies, 2)["result"], zero = reply_to(replies, 3)["result"];
  ASSERT_GT(all["tools"].size(), 1u) << all;
  EXPECT_FALSE(all.contains("nextCursor")) << all;
  EXPECT_EQ(zero, all);
  const auto from_one = reply_to(replies, 4)["result"]["tools"];
  ASSERT_EQ(from_one.size(), all["tools"].size() - 1) << from_one;
  EXPECT_EQ(from_one[0], all["tools"][1]);
  const auto past = reply_to(replies, 5)["result"];
  EXPECT_TRUE(past["tools"].empty()) << past;
  EXPECT_FALSE(past.contains("nextCursor")) << past;
  EXPECT_EQ(reply_to(replies, 6)["error"]["code"], -32602) << reply_to(replies, 6);
  const auto resources = reply_to(replies, 7)["result"]["resources"];
  ASSERT_EQ(resources.size(), 1u) << resources;
  EXPECT_EQ(resources[0]["uri"], "orch://events/recent");
}
