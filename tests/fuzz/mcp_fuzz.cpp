// The MCP JSON-RPC dispatcher (mcp/server.hpp) behind `orch mcp`'s stdio transport
// (mcp/stdio.hpp): newline-delimited messages from an agent, batches, every revision (the
// initialize handshake of 2024-11-05 to 2025-11-25, 2026-07-28's stateless requests with
// params._meta), every method and every tool with the arguments the agent chose. Tools act on a
// Docker socket that does not exist and sync_test reaches orch on a scheme nothing answers: no
// network or Docker is touched. Input: the lines of one session.
// Beyond "no crash": every line orch writes is one JSON-RPC 2.0 message (a response with a result
// or an error with an integer code, a notification, or a batch of responses), and every response
// answers an id the client sent (or null).
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "config/config.hpp"
#include "diagnose/report.hpp"
#include "mcp/server.hpp"
#include "mcp/stdio.hpp"
#include "serve/daemon.hpp"
#include "support/fuzz.hpp"

using namespace orch;

namespace {

struct Mcp {
  std::string dir;
  Config config;
  std::unique_ptr<Bus> bus;
  std::unique_ptr<docker::Client> docker;
  std::unique_ptr<StateStore> state;
  std::unique_ptr<Notifier> notifier;
  Metrics metrics;
  std::unique_ptr<mcp::Server> server;

  Mcp() {
    fuzz::quiet_logs();
    dir = fuzz::scratch_dir("mcp-fuzz");
    std::ofstream(dir + "/orch.yaml") << "# empty\n";
    config = load_config({.file = dir + "/orch.yaml",
                          .flags = {},
                          .env = std::map<std::string, std::string>{{"DOCKER_HOST", "unix://" + dir + "/no-docker.sock"},
                                                                    {"ORCH_STATE_DIR", dir + "/state"},
                                                                    {"ORCH_URL", "nonet://orch"},
                                                                    {"TRUSTED_WEBHOOK_SECRET", "fuzz-webhook-secret-0123456789"}}});
    const auto& s = config.settings;
    bus = make_bus(config);
    docker = std::make_unique<docker::Client>(docker::endpoint_from(s));
    state = make_state_store(s);
    notifier = std::make_unique<Notifier>("");
    // As `orch mcp` builds it (cmd/mcp.cpp).
    mcp::Context ctx{config,
                     *bus,
                     *docker,
                     *docker,
                     *state,
                     *notifier,
                     metrics,
                     false,
                     mcp::split_list(s.str("ORCH_MCP_ALLOW")),
                     "nonet://orch",
                     [this] {
                       diagnose::Options d;
                       d.timeout = config.settings.duration("DIAGNOSE_TIMEOUT");
                       return diagnose::run(config, *docker, *docker, d).to_json();
                     }};
    server = std::make_unique<mcp::Server>(std::move(ctx));
  }
};

void check_response(const json& r, const std::set<std::string>& ids) {
  FUZZ_CHECK(r.is_object(), r.dump());
  FUZZ_CHECK(r.value("jsonrpc", "") == "2.0", r.dump());
  if (r.contains("method")) {  // a notification from orch
    FUZZ_CHECK(r["method"].is_string() && !r.contains("id"), r.dump());
    return;
  }
  FUZZ_CHECK(r.contains("id") && (r.contains("result") != r.contains("error")), r.dump());
  const auto& id = r["id"];
  FUZZ_CHECK(id.is_null() || ids.count(id.dump()), "a response to an id never sent: " + r.dump());
  if (r.contains("error")) {
    const auto& e = r["error"];
    FUZZ_CHECK(e.is_object() && e.contains("code") && e["code"].is_number_integer() && e.contains("message") && e["message"].is_string(),
               r.dump());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Mcp* m = new Mcp();  // never destroyed, as in a process that serves until killed
  const std::string text(reinterpret_cast<const char*>(data), size);
  // The ids the client sends, in requests and batches (as dumped JSON).
  std::set<std::string> ids;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto msg = parse_json(line);
    auto note = [&](const json& one) {
      if (one.is_object() && one.contains("id")) ids.insert(one["id"].dump());
    };
    if (msg.is_array())
      for (const auto& one : msg) note(one);
    else note(msg);
  }
  std::istringstream in(text);
  std::ostringstream out;
  mcp::serve_stdio(*m->server, in, out, {.workers = 1, .queue = 64});
  std::istringstream written(out.str());
  for (std::string line; std::getline(written, line);) {
    const auto r = parse_json(line);
    FUZZ_CHECK(!r.is_discarded(), "a line that is not JSON: " + line.substr(0, 200));
    if (r.is_array()) {
      FUZZ_CHECK(!r.empty(), "an empty batch answer");
      for (const auto& one : r) check_response(one, ids);
    } else {
      check_response(r, ids);
    }
  }
  return 0;
}
