#pragma once
// Raw bytes over TCP, for requests an HTTP client library would refuse to send (bad framing,
// odd headers) and for choosing the client's source address.
#include <chrono>
#include <string>

namespace orch::test {

// A TCP connection to 127.0.0.1:port from `source` (any 127.x address; null: the default), or -1.
int connect_from(int port, const char* source = nullptr);

// Connects to 127.0.0.1:port (from `source`, any 127.x address, when given), writes `request`
// and reads until the server closes or `timeout` passes between reads. "" when it cannot connect.
std::string raw_http(int port, const std::string& request, const char* source = nullptr,
                     std::chrono::milliseconds timeout = std::chrono::seconds(5));

// The final status code of a raw response ("HTTP/1.1 429 ..." -> 429), after any 1xx; 0 when none.
int status_of(const std::string& response);

}  // namespace orch::test
