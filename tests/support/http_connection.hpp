#pragma once
// One keep-alive TCP connection to an IPv4 address (127.0.0.1 unless given) speaking raw HTTP/1.1: requests go out as
// given and each response is read whole (Content-Length or chunked), so a test can tell whether
// the server keeps the connection usable after an answer, and send many requests cheaply.
#include <chrono>
#include <map>
#include <string>

namespace orch::test {

struct RawResponse {
  int status = 0;  // 0: the connection closed or timed out first
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;  // de-chunked
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

class HttpConnection {
 public:
  explicit HttpConnection(int port, const std::string& address = "127.0.0.1");
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool send(const std::string& raw);
  // `method path` with the headers (Host and Content-Length added unless given) and body.
  bool send_request(const std::string& method, const std::string& path, const std::map<std::string, std::string>& headers,
                    const std::string& body = "");
  RawResponse read_response(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // The response head only (status and headers), leaving the body to read_raw: for open streams.
  RawResponse read_head(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Whatever bytes arrive within `duration` (a stream's chunks, raw).
  std::string read_raw(std::chrono::milliseconds duration);
  // send_request + read_response.
  RawResponse request(const std::string& method, const std::string& path, const std::map<std::string, std::string>& headers,
                      const std::string& body = "");

 private:
  bool fill(std::chrono::steady_clock::time_point until);  // more bytes into buffer_; false at EOF/timeout
  int port_;
  std::string address_;
  int fd_ = -1;
  std::string buffer_;
};

}  // namespace orch::test
