#pragma once
// Taking over an HTTP connection from cpp-httplib, for protocols that upgrade it (GET /ws).
#include <httplib.h>

#include <chrono>
#include <string_view>

namespace orch::http {

// The socket a request arrived on, or -1. httplib 0.11 does not hand handlers their socket, so it
// is found by the connection's address pair, which names exactly one socket of this process.
// The handler that takes it over must shut it down (not close it) before returning: httplib
// still owns the descriptor and closes it after the handler; its own reply then fails harmlessly.
int connection_socket(const httplib::Request& req);

// Writes all of `bytes`, waiting at most `timeout` for a slow reader. False when the peer is
// gone or too slow.
bool send_all(int fd, std::string_view bytes, std::chrono::milliseconds timeout);

}  // namespace orch::http
