#pragma once
// Local stand-ins for alert receivers (tests/notify): an HTTP receiver that keeps every request
// (Slack, Discord, Teams, ntfy and webhook payloads land here) and answers with scripted
// statuses, and a tiny SMTP server that speaks EHLO/MAIL/RCPT/DATA/QUIT and keeps each message.
#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Server;
struct Request;
}

namespace orch::test {

struct ReceivedRequest {
  std::string method, path, body;
  std::map<std::string, std::string> headers;  // as sent (names as httplib keeps them)
  std::string header(const std::string& name) const;
  static ReceivedRequest of(const httplib::Request& req);  // what a receiver or stub keeps of a request
};

class HttpReceiver {
 public:
  HttpReceiver();
  ~HttpReceiver();
  int port() const { return port_; }
  std::string url(const std::string& path = "/hook") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  // The next answers, in order (then `steady` for the rest); e.g. {500, 500} then 200.
  void script(std::vector<int> statuses, int steady = 200, std::map<std::string, std::string> headers = {});
  std::vector<ReceivedRequest> requests() const;
  size_t count() const;

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::vector<ReceivedRequest> requests_;
  std::deque<int> script_;
  int steady_ = 200;
  std::map<std::string, std::string> script_headers_;
};

struct ReceivedMail {
  std::string helo, mail_from;
  std::vector<std::string> rcpt_to;
  std::string data;  // the message as sent, dot-unstuffed, without the final "."
};

class SmtpReceiver {
 public:
  // `mail_reply` answers MAIL FROM: "250 OK" takes mail, a "451 ..." or "550 ..." is a relay
  // refusing for now or for good.
  explicit SmtpReceiver(std::string mail_reply = "250 OK");
  ~SmtpReceiver();
  int port() const { return port_; }
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }
  std::vector<ReceivedMail> mails() const;
  int mail_commands() const { return mail_commands_; }  // MAIL FROM received, refused ones too

 private:
  void serve(int fd);
  std::string mail_reply_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int> mail_commands_{0};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<ReceivedMail> mails_;
};

}  // namespace orch::test
