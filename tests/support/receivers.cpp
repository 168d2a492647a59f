#include "support/receivers.hpp"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace orch::test {

std::string ReceivedRequest::header(const std::string& name) const {
  for (const auto& [k, v] : headers)
    if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
  return "";
}

ReceivedRequest ReceivedRequest::of(const httplib::Request& req) {
  ReceivedRequest r{req.method, req.path, req.body, {}};
  for (const auto& [k, v] : req.headers) r.headers[k] = v;
  return r;
}

HttpReceiver::HttpReceiver() : server_(std::make_unique<httplib::Server>()) {
  server_->Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu_);
    requests_.push_back(ReceivedRequest::of(req));
    res.status = steady_;
    if (!script_.empty()) {
      res.status = script_.front();
      script_.pop_front();
      for (const auto& [k, v] : script_headers_) res.set_header(k, v);
    }
    res.set_content(res.status < 300 ? "ok" : "no", "text/plain");
  });
  port_ = server_->bind_to_any_port("127.0.0.1");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

HttpReceiver::~HttpReceiver() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

void HttpReceiver::script(std::vector<int> statuses, int steady, std::map<std::string, std::string> headers) {
  std::lock_guard lock(mu_);
  script_.assign(statuses.begin(), statuses.end());
  steady_ = steady;
  script_headers_ = std::move(headers);
}

std::vector<ReceivedRequest> HttpReceiver::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

size_t HttpReceiver::count() const {
  std::lock_guard lock(mu_);
  return requests_.size();
}

// ---------------------------------------------------------------------------------------------

SmtpReceiver::SmtpReceiver(std::string mail_reply) : mail_reply_(std::move(mail_reply)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 8) != 0)
    throw std::runtime_error("smtp receiver: bind/listen failed");
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] {
    while (!stopping_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      serve(fd);
      ::close(fd);
    }
  });
}

SmtpReceiver::~SmtpReceiver() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
}

std::vector<ReceivedMail> SmtpReceiver::mails() const {
  std::lock_guard lock(mu_);
  return mails_;
}

// One session, one client at a time (enough for the notifier's single worker).
void SmtpReceiver::serve(int fd) {
  auto say = [&](const std::string& line) {
    std::string out = line + "\r\n";
    [[maybe_unused]] auto n = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
  };
  std::string buffer;
  auto read_line = [&](std::string& line) {
    for (;;) {
      auto eol = buffer.find("\r\n");
      if (eol != std::string::npos) {
        line = buffer.substr(0, eol);
        buffer.erase(0, eol + 2);
        return true;
      }
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) return false;
      char chunk[4096];
      auto n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      buffer.append(chunk, static_cast<size_t>(n));
    }
  };
  say("220 orch-test ESMTP");
  ReceivedMail mail;
  std::string line;
  while (read_line(line)) {
    std::string upper = line.substr(0, 10);
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (upper.rfind("EHLO", 0) == 0 || upper.rfind("HELO", 0) == 0) {
      mail.helo = line.substr(5);
      say("250-orch-test");
      say("250 8BITMIME");
    } else if (upper.rfind("MAIL FROM:", 0) == 0) {
      mail.mail_from = line.substr(10);
      ++mail_commands_;
      say(mail_reply_);
    } else if (upper.rfind("RCPT TO:", 0) == 0) {
      mail.rcpt_to.push_back(line.substr(8));
      say("250 OK");
    } else if (upper.rfind("DATA", 0) == 0) {
      say("354 end with <CRLF>.<CRLF>");
      std::string data_line;
      while (read_line(data_line) && data_line != ".") {
        if (data_line.rfind("..", 0) == 0) data_line.erase(0, 1);
        mail.data += data_line + "\r\n";
      }
      {
        std::lock_guard lock(mu_);
        mails_.push_back(mail);
      }
      mail = ReceivedMail{mail.helo, "", {}, ""};
      say("250 OK queued");
    } else if (upper.rfind("QUIT", 0) == 0) {
      say("221 bye");
      return;
    } else if (upper.rfind("RSET", 0) == 0 || upper.rfind("NOOP", 0) == 0) {
      say("250 OK");
    } else {
      say("502 not implemented");
    }
  }
}

}  // namespace orch::test
