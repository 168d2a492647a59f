#include "support/orch_server.hpp"

#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

namespace orch::test {

OrchServer::OrchServer(std::map<std::string, std::string> env, std::vector<std::string> extra_args)
    : OrchServer(std::move(env), std::move(extra_args), Launcher({})) {}

OrchServer::OrchServer(std::map<std::string, std::string> env, std::vector<std::string> extra_args, Launcher launcher)
    : env_(std::move(env)), port_(free_port()), log_file_(dir_.file("orch.log")) {
  env_.emplace("PORT", std::to_string(port_));
  env_.emplace("BIND", "127.0.0.1");
  env_.emplace("ORCH_STATE_DIR", state_dir());
  env_.emplace("ORCH_CONFIG", "");  // never pick up an orch.yaml from the working directory
  // Benchmarks may run another build's binary (interleaved comparisons): ORCH_BINARY_UNDER_TEST.
  const char* binary = std::getenv("ORCH_BINARY_UNDER_TEST");
  argv_ = std::move(launcher.argv);
  argv_.insert(argv_.end(), {binary && *binary ? binary : ORCH_BINARY, "serve"});
  argv_.insert(argv_.end(), extra_args.begin(), extra_args.end());
  start();
}

void OrchServer::start() {
  proc_ = Process(argv_, env_, log_file_);
  bool up = eventually(
      [&] {
        try {
          return get("/healthz").status == 200;
        } catch (const std::exception&) {
          return proc_.running() ? false : true;
        }
      },
      std::chrono::seconds(20));
  if (!up || !proc_.running()) throw std::runtime_error("orch serve did not start:\n" + log());
}

void OrchServer::kill() {
  proc_.signal(SIGKILL);
  proc_.wait(std::chrono::seconds(10));
}

void OrchServer::restart() {
  if (proc_.running()) stop();
  start();
}

OrchServer::~OrchServer() { stop(); }

int OrchServer::stop() { return proc_.stop(std::chrono::seconds(15)); }

http::Response OrchServer::get(const std::string& path, std::vector<std::pair<std::string, std::string>> headers) const {
  http::Request r;
  r.url = url(path);
  r.headers = std::move(headers);
  return http::send(r);
}

http::Response OrchServer::post(const std::string& path, const std::string& body,
                                std::vector<std::pair<std::string, std::string>> headers) const {
  http::Request r;
  r.method = "POST";
  r.url = url(path);
  r.body = body;
  r.headers = std::move(headers);
  if (std::none_of(r.headers.begin(), r.headers.end(), [](auto& h) { return h.first == "Content-Type"; }))
    r.headers.emplace_back("Content-Type", "application/json");
  return http::send(r);
}

}  // namespace orch::test
