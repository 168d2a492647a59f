#pragma once
// Socket helpers of the HTTP layer: a socket's addresses as httplib formats them, and a write that
// waits (boundedly) for a slow reader.
#include <chrono>
#include <string>
#include <string_view>

namespace orch::http {

// The socket's peer (peer = true) or local address, formatted as httplib formats
// Request::remote_addr (numeric getnameinfo). False when it is not an IP socket.
bool address_of(int fd, bool peer, std::string& ip, int& port);

// Writes all of `bytes` to a blocking or non-blocking socket, waiting at most `timeout` for a
// slow reader. False when the peer is gone or too slow.
bool send_all(int fd, std::string_view bytes, std::chrono::milliseconds timeout);

}  // namespace orch::http
