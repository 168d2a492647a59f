#pragma once
// Taking over an HTTP connection from cpp-httplib, for responses that outlive the request
// handler (GET /events, GET /ws): the live fan-out serves them from its own thread, so they hold
// no worker of the HTTP pool.
#include <httplib.h>

#include <chrono>
#include <string_view>

namespace orch::http {

// Takes the request's connection away from httplib: returns a descriptor (close-on-exec) that the
// caller now owns, or -1. httplib 0.11 does not hand handlers their socket, so it is found by the
// connection's address pair (unique within this process); its descriptor number is then pointed
// at /dev/null, so whatever httplib still writes or closes there after the handler returns never
// touches the connection.
int take_connection(const httplib::Request& req);

// The socket's peer (peer = true) or local address, formatted as httplib formats
// Request::remote_addr (numeric getnameinfo). False when it is not an IP socket.
bool address_of(int fd, bool peer, std::string& ip, int& port);

// Raises the accept backlog of this process's socket listening on `port`. Debian's build of
// httplib 0.11 listens with a backlog of 5: a burst of new connections overflows it, the kernel
// drops their first packets, and the retransmits can arrive after httplib's keep-alive timeout has
// closed the connection unanswered. False when no such socket was found.
bool raise_listen_backlog(int port, int backlog);

// Writes all of `bytes` to a blocking or non-blocking socket, waiting at most `timeout` for a
// slow reader. False when the peer is gone or too slow.
bool send_all(int fd, std::string_view bytes, std::chrono::milliseconds timeout);

}  // namespace orch::http
