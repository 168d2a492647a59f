#include "support/webhook_sender.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "support/process.hpp"
#include "support/raw_http.hpp"

namespace orch::test {

using Clock = std::chrono::steady_clock;

std::optional<SignedDelivery> parse_signed_line(std::string_view line) {
  SignedDelivery d;
  std::string* fields[] = {&d.id, &d.timestamp, &d.signature};
  for (auto* f : fields) {
    const auto tab = line.find('\t');
    if (tab == std::string_view::npos) return std::nullopt;
    f->assign(line.substr(0, tab));
    line.remove_prefix(tab + 1);
  }
  if (line.empty()) return std::nullopt;
  d.body.assign(line);
  return d;
}

std::vector<std::string> signer_argv(const std::string& secret, const std::string& prefix, long long first) {
  return {"node", std::string(ORCH_TESTS_DIR) + "/node/sign_deliveries.mjs", secret, prefix, std::to_string(first), "0"};
}

std::vector<SignedDelivery> sign_deliveries(const std::string& secret, const std::string& prefix, long long first, long long count) {
  auto argv = signer_argv(secret, prefix, first);
  argv.back() = std::to_string(count);
  auto r = run(argv, {}, std::chrono::seconds(120));
  if (r.code != 0) throw std::runtime_error("sign_deliveries.mjs exited " + std::to_string(r.code) + ": " + r.output.substr(0, 2000));
  std::vector<SignedDelivery> out;
  out.reserve(static_cast<size_t>(count));
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);) {
    auto d = parse_signed_line(line);
    if (!d) throw std::runtime_error("sign_deliveries.mjs wrote a malformed line: " + line.substr(0, 200));
    d->seq = static_cast<long long>(out.size());
    out.push_back(std::move(*d));
  }
  if (static_cast<long long>(out.size()) != count)
    throw std::runtime_error("sign_deliveries.mjs wrote " + std::to_string(out.size()) + " of " + std::to_string(count) + " deliveries");
  return out;
}

// A delivery on its way: sent, waiting for an answer, or waiting for its next attempt.
struct WebhookSender::Item {
  SignedDelivery delivery;
  Clock::time_point first_sent{};
  std::chrono::milliseconds delay{0};  // before the next attempt (doubles)
  Clock::time_point due{};
};

struct WebhookSender::Conn {
  int fd = -1;
  Clock::time_point reconnect_at{};
  std::string out;             // request bytes not yet written
  std::string in;              // response bytes not yet parsed
  std::unique_ptr<Item> item;  // in flight
};

namespace {

// A non-blocking keep-alive connection to orch, or -1 (a blocking connect: on loopback it
// completes, or is refused, at once).
int connect_to(int port) {
  const int fd = connect_from(port);
  if (fd < 0) return -1;
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

std::string request_of(const SignedDelivery& d, int port, const std::string& path) {
  std::string r;
  r.reserve(d.body.size() + 300);
  r += "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\nContent-Type: application/json\r\nwebhook-id: ";
  r += d.id + "\r\nwebhook-timestamp: " + d.timestamp + "\r\nwebhook-signature: " + d.signature;
  r += "\r\nContent-Length: " + std::to_string(d.body.size()) + "\r\n\r\n";
  r += d.body;
  return r;
}

// A value of a header in `head` (lower-case `name` with its colon), "" when absent.
std::string header_value(std::string_view head, std::string_view name) {
  for (size_t at = head.find("\r\n"); at != std::string_view::npos; at = head.find("\r\n", at + 2)) {
    const auto line = head.substr(at + 2, head.find("\r\n", at + 2) - (at + 2));
    if (line.size() < name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < name.size() && same; ++i) same = std::tolower(static_cast<unsigned char>(line[i])) == name[i];
    if (!same) continue;
    auto v = line.substr(name.size());
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    return std::string(v);
  }
  return "";
}

struct Parsed {
  int status = 0;
  std::string body;
  bool close = false;
};

// Takes one complete response off the front of `buf`; nullopt while it is incomplete.
std::optional<Parsed> take_response(std::string& buf) {
  const auto head_end = buf.find("\r\n\r\n");
  if (head_end == std::string::npos || buf.size() < 12) return std::nullopt;
  const std::string_view head(buf.data(), head_end);
  Parsed p;
  p.status = std::atoi(buf.c_str() + 9);
  const auto length = header_value(head, "content-length:");
  const size_t len = length.empty() ? 0 : std::strtoul(length.c_str(), nullptr, 10);
  if (buf.size() < head_end + 4 + len) return std::nullopt;
  p.close = header_value(head, "connection:").find("close") != std::string::npos;
  p.body = buf.substr(head_end + 4, len);
  buf.erase(0, head_end + 4 + len);
  return p;
}

std::string event_id_of(const std::string& body) {
  const std::string key = "\"event_id\":\"";
  const auto at = body.find(key);
  if (at == std::string::npos) return "";
  const auto end = body.find('"', at + key.size());
  return end == std::string::npos ? "" : body.substr(at + key.size(), end - at - key.size());
}

bool final_status(int status) { return status >= 200 && status < 500 && status != 429 && status != 408; }

}  // namespace

WebhookSender::WebhookSender(int port, Source source, OnAnswer on_answer, Options options)
    : port_(port), source_(std::move(source)), on_answer_(std::move(on_answer)), opts_(std::move(options)) {
  thread_ = std::thread([this] { loop(); });
}

WebhookSender::~WebhookSender() { stop(); }

void WebhookSender::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

bool WebhookSender::wait(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return done_; });
}

long long WebhookSender::answers(int status) const { return status >= 0 && status < 600 ? by_status_[status].load() : 0; }

void WebhookSender::loop() {
  std::vector<Conn> conns(static_cast<size_t>(std::max(1, opts_.connections)));
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  std::multimap<Clock::time_point, std::unique_ptr<Item>> retries;
  bool source_done = false;
  long long in_flight = 0;
  const auto start = Clock::now();

  auto drop = [&](size_t c, Clock::time_point now) {
    auto& conn = conns[c];
    if (conn.fd >= 0) {
      epoll_ctl(ep, EPOLL_CTL_DEL, conn.fd, nullptr);
      close(conn.fd);
    }
    conn.fd = -1;
    conn.out.clear();
    conn.in.clear();
    conn.reconnect_at = now + std::chrono::milliseconds(20);
  };
  // An attempt ended with `status`: report it, then the delivery is final, retried or abandoned.
  auto settle = [&](std::unique_ptr<Item> item, int status, const std::string& body, Clock::time_point now) {
    --in_flight;
    ++by_status_[std::clamp(status, 0, 599)];
    on_answer_(item->delivery, SendAnswer{status, status == 202 ? event_id_of(body) : ""});
    if (final_status(status)) {
      ++finished_;
      return;
    }
    if (now - item->first_sent > opts_.give_up) {
      ++abandoned_;
      return;
    }
    item->delay = std::clamp(item->delay * 2, opts_.retry_min, opts_.retry_max);
    item->due = now + item->delay;
    retries.emplace(item->due, std::move(item));
  };
  auto flush_out = [&](size_t c) {
    auto& conn = conns[c];
    while (!conn.out.empty()) {
      const ssize_t n = ::send(conn.fd, conn.out.data(), conn.out.size(), MSG_NOSIGNAL);
      if (n > 0) {
        conn.out.erase(0, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      return false;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | (conn.out.empty() ? 0u : static_cast<uint32_t>(EPOLLOUT));
    ev.data.u64 = c;
    epoll_ctl(ep, EPOLL_CTL_MOD, conn.fd, &ev);
    return true;
  };
  auto broken = [&](size_t c, Clock::time_point now) {
    auto item = std::move(conns[c].item);
    drop(c, now);
    if (item) settle(std::move(item), 0, "", now);
  };

  while (!stop_) {
    auto now = Clock::now();
    // Connections that are down come back as soon as orch listens again.
    for (size_t c = 0; c < conns.size(); ++c) {
      auto& conn = conns[c];
      if (conn.fd >= 0 || now < conn.reconnect_at) continue;
      conn.fd = connect_to(port_);
      if (conn.fd < 0) {
        conn.reconnect_at = now + std::chrono::milliseconds(20);
        continue;
      }
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = c;
      epoll_ctl(ep, EPOLL_CTL_ADD, conn.fd, &ev);
    }
    // Idle connections take a due retry first, then a new delivery if the rate allows.
    for (size_t c = 0; c < conns.size(); ++c) {
      auto& conn = conns[c];
      if (conn.fd < 0 || conn.item) continue;
      std::unique_ptr<Item> item;
      if (!retries.empty() && retries.begin()->first <= now) {
        item = std::move(retries.begin()->second);
        retries.erase(retries.begin());
      } else if (!source_done) {
        const double allowed = opts_.rate > 0 ? opts_.rate * std::chrono::duration<double>(now - start).count() : 1e18;
        if (static_cast<double>(started_.load()) >= allowed) continue;
        auto next = source_();
        if (!next) {
          source_done = true;
          continue;
        }
        item = std::make_unique<Item>();
        item->delivery = std::move(*next);
        item->first_sent = now;
        ++started_;
      } else {
        continue;
      }
      ++in_flight;
      conn.out = request_of(item->delivery, port_, opts_.path);
      conn.item = std::move(item);
      if (!flush_out(c)) broken(c, now);
    }
    if (source_done && in_flight == 0 && retries.empty()) break;

    // Sleep until an answer, a due retry, the next rate slot or a reconnect (at most 5 ms).
    int timeout_ms = 5;
    if (!retries.empty()) {
      const auto until = std::chrono::duration_cast<std::chrono::milliseconds>(retries.begin()->first - now).count();
      timeout_ms = static_cast<int>(std::clamp<long long>(until, 0, timeout_ms));
    }
    epoll_event events[64];
    const int n = epoll_wait(ep, events, 64, timeout_ms);
    now = Clock::now();
    for (int i = 0; i < n; ++i) {
      const size_t c = events[i].data.u64;
      auto& conn = conns[c];
      if (conn.fd < 0) continue;
      if ((events[i].events & EPOLLOUT) && !flush_out(c)) {
        broken(c, now);
        continue;
      }
      if (!(events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
      char buf[65536];
      bool closed = false;
      for (;;) {
        const ssize_t got = ::read(conn.fd, buf, sizeof buf);
        if (got > 0) {
          conn.in.append(buf, static_cast<size_t>(got));
          continue;
        }
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) break;
        closed = true;  // EOF or a reset: what was in flight got no answer
        break;
      }
      while (auto r = take_response(conn.in)) {
        if (!conn.item) continue;  // an answer to nothing we sent: ignored
        settle(std::move(conn.item), r->status, r->body, now);
        if (r->close) closed = true;
        if (closed) break;
      }
      if (closed) broken(c, now);
    }
  }
  for (auto& conn : conns)
    if (conn.fd >= 0) close(conn.fd);
  close(ep);
  std::lock_guard lock(mu_);
  done_ = true;
  cv_.notify_all();
}

}  // namespace orch::test
