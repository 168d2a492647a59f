#include "support/http_stub.hpp"

#include <httplib.h>

namespace orch::test {

HttpStub::HttpStub(Answer answer) : answer_(std::move(answer)), server_(std::make_unique<httplib::Server>()) {
  auto handle = [this](const httplib::Request& req, httplib::Response& res) {
    const auto r = ReceivedRequest::of(req);
    {
      std::lock_guard lock(mu_);
      requests_.push_back(r);
    }
    const auto a = answer_(r);
    res.status = a.status;
    res.set_content(a.body, a.content_type);
    for (const auto& [name, value] : a.headers) res.set_header(name, value);
  };
  // One request per connection: a client's pooled keep-alive connection would hold the server's
  // stop (and the test) for httplib's keep-alive timeout, 5 s.
  server_->set_keep_alive_max_count(1);
  server_->Get(".*", handle);
  server_->Post(".*", handle);
  server_->Put(".*", handle);
  server_->Delete(".*", handle);
  port_ = server_->bind_to_any_port("127.0.0.1");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

HttpStub::~HttpStub() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::vector<ReceivedRequest> HttpStub::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

}  // namespace orch::test
