#pragma once
// `orch mcp`'s transport (SPEC §9): newline-delimited JSON-RPC on a stream pair. Tool calls run
// on a small fixed pool of workers, so that ping, cancellation and notifications flow while a long
// tool (sync_test, rollback) works; everything else is answered in order on the reading thread,
// so initialize, logging/setLevel and subscriptions take effect before the lines after them.
#include <cstddef>
#include <istream>
#include <ostream>

#include "mcp/server.hpp"

namespace orch::mcp {

struct StdioOptions {
  // A thread per call, joined only at EOF, kept every finished call's stack: 300 calls took 2.5 GB
  // of address space, and under a 2 GiB limit orch aborted after about 220.
  size_t workers = 4;  // tool calls running at once
  size_t queue = 64;   // tool calls waiting for a worker; one more is answered kServerBusy
};

// Serves until `in` ends, then lets the accepted calls finish, joins the workers and returns.
void serve_stdio(Server& server, std::istream& in, std::ostream& out, const StdioOptions& options = {});

}  // namespace orch::mcp
