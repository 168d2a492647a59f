#include "support/http_connection.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>

namespace orch::test {

HttpConnection::HttpConnection(int port, const std::string& address) : port_(port), address_(address) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, address.c_str(), &remote.sin_addr) != 1 && fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
  if (fd_ >= 0 && connect(fd_, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    close(fd_);
    fd_ = -1;
  }
  const int one = 1;
  if (fd_ >= 0) setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

HttpConnection::~HttpConnection() {
  if (fd_ >= 0) close(fd_);
}

bool HttpConnection::send(const std::string& raw) {
  if (fd_ < 0) return false;
  for (size_t sent = 0; sent < raw.size();) {
    const ssize_t n = ::send(fd_, raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

bool HttpConnection::send_request(const std::string& method, const std::string& path, const std::map<std::string, std::string>& headers,
                                  const std::string& body) {
  std::string raw = method + " " + path + " HTTP/1.1\r\n";
  bool host = false, length = false;
  for (const auto& [k, v] : headers) {
    std::string lk;
    for (char c : k) lk += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    host = host || lk == "host";
    length = length || lk == "content-length";
    raw += k + ": " + v + "\r\n";
  }
  if (!host) raw += "Host: " + address_ + ":" + std::to_string(port_) + "\r\n";
  if (!length && (!body.empty() || method == "POST")) raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  raw += "\r\n" + body;
  return send(raw);
}

bool HttpConnection::fill(std::chrono::steady_clock::time_point until) {
  if (fd_ < 0) return false;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count();
  if (left <= 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(left)) <= 0) return false;
  char buf[65536];
  const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) return false;
  buffer_.append(buf, static_cast<size_t>(n));
  return true;
}

RawResponse HttpConnection::read_head(std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  RawResponse r;
  size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
    if (!fill(until)) return r;
  const std::string head = buffer_.substr(0, end);
  buffer_.erase(0, end + 4);
  if (head.size() < 12) return r;
  r.status = std::atoi(head.substr(9, 3).c_str());
  size_t at = head.find("\r\n");
  while (at != std::string::npos) {
    const size_t next = head.find("\r\n", at + 2);
    const std::string line = head.substr(at + 2, next == std::string::npos ? std::string::npos : next - at - 2);
    if (auto colon = line.find(':'); colon != std::string::npos) {
      std::string name;
      for (char c : line.substr(0, colon)) name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      r.headers[name] = value;
    }
    at = next;
  }
  return r;
}

RawResponse HttpConnection::read_response(std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  RawResponse r = read_head(timeout);
  if (r.status == 0) return r;
  if (r.header("transfer-encoding") == "chunked") {
    for (;;) {
      size_t line_end;
      while ((line_end = buffer_.find("\r\n")) == std::string::npos)
        if (!fill(until)) return RawResponse{};
      const size_t size = std::stoul(buffer_.substr(0, line_end), nullptr, 16);
      while (buffer_.size() < line_end + 2 + size + 2)
        if (!fill(until)) return RawResponse{};
      r.body += buffer_.substr(line_end + 2, size);
      buffer_.erase(0, line_end + 2 + size + 2);
      if (size == 0) return r;  // no trailers are sent by the servers under test
    }
  }
  const size_t length = r.headers.count("content-length") ? std::stoul(r.header("content-length")) : 0;
  while (buffer_.size() < length)
    if (!fill(until)) return RawResponse{};
  r.body = buffer_.substr(0, length);
  buffer_.erase(0, length);
  return r;
}

std::string HttpConnection::read_raw(std::chrono::milliseconds duration) {
  const auto until = std::chrono::steady_clock::now() + duration;
  while (fill(until)) {
  }
  std::string out;
  out.swap(buffer_);
  return out;
}

RawResponse HttpConnection::request(const std::string& method, const std::string& path, const std::map<std::string, std::string>& headers,
                                    const std::string& body) {
  if (!send_request(method, path, headers, body)) return {};
  return read_response();
}

}  // namespace orch::test
