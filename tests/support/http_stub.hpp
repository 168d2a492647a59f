#pragma once
// A local HTTP service whose every answer the test writes (a stand-in for one answer of a real
// service: docling-serve's 504, a 404 "Task result not found", a body without a document), and
// which keeps every request it got. In process, so a test of one error branch costs milliseconds.
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/receivers.hpp"

namespace orch::test {

struct StubAnswer {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers = {};  // e.g. Retry-After
};

class HttpStub {
 public:
  // `answer` sees each request (method, path without the query, body, headers); any method.
  using Answer = std::function<StubAnswer(const ReceivedRequest&)>;
  explicit HttpStub(Answer answer);
  ~HttpStub();
  HttpStub(const HttpStub&) = delete;
  HttpStub& operator=(const HttpStub&) = delete;
  std::string url(const std::string& path = "") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  std::vector<ReceivedRequest> requests() const;

 private:
  Answer answer_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::vector<ReceivedRequest> requests_;
};

}  // namespace orch::test
