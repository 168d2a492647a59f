#pragma once
// The one outbound HTTP client (libcurl): services, Docker Engine over a unix socket or TCP+TLS,
// docling-serve, the RAG service, notifications. A transport failure (refused, timeout, DNS) is
// a TransportError; any HTTP status, 5xx included, is a Response value.
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace orch::http {

struct TlsFiles {
  std::string ca_file, cert_file, key_file;
  bool verify_peer = true;
};

struct Request {
  std::string method = "GET";
  std::string url;  // for a unix socket: http://localhost/path
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{10'000};  // whole transfer; 0 = none (streams)
  std::chrono::milliseconds connect_timeout{3'000};
  std::string unix_socket;
  std::optional<TlsFiles> tls;
};

struct Response {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::chrono::milliseconds elapsed{0};
  std::string header(const std::string& lower_name) const;
  // A 429's or 503's Retry-After in delta-seconds (RFC 9110 §10.2.3), at most `cap`; zero when
  // absent, an HTTP-date or not a number (the caller's own backoff then applies).
  std::chrono::seconds retry_after(std::chrono::seconds cap = std::chrono::minutes(5)) const;
};

class TransportError : public UnreachableError {
 public:
  TransportError(const std::string& m, bool timed_out) : UnreachableError(m), timed_out_(timed_out) {}
  bool timed_out() const { return timed_out_; }

 private:
  bool timed_out_;
};

Response send(const Request& req);

// Streams the response body to `on_data` as it arrives; returning false from on_data, or true from
// `cancelled` (polled about once a second), ends the transfer. Returns the status and headers
// (body left empty). Throws TransportError if the transfer fails for any other reason.
Response stream(const Request& req, const std::function<bool(std::string_view)>& on_data,
                const std::function<bool()>& cancelled = {});

std::string url_encode(std::string_view s);

}  // namespace orch::http
