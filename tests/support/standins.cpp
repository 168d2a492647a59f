#include "support/standins.hpp"

#include <cstdio>
#include <stdexcept>

namespace orch::test {

StandinServers::StandinServers(std::vector<std::string> knobs) {
  std::vector<std::string> argv = {ORCH_STANDINS};
  argv.insert(argv.end(), knobs.begin(), knobs.end());
  proc_ = Process(argv, {}, dir_.file("standins.log"));
  // Its first line, once all four listen: "docling=P rag=P web=P builder=P".
  const bool listening =
      eventually([&] { return std::sscanf(log().c_str(), "docling=%d rag=%d web=%d builder=%d", &docling, &rag, &web, &builder) == 4; },
                 std::chrono::seconds(10));
  if (!listening) throw std::runtime_error("orch_standins did not start: " + log());
}

json StandinServers::calls() const {
  http::Request r;
  r.url = url(rag) + "/_calls";
  return json::parse(http::send(r).body);
}

http::Response StandinServers::post(int port, const std::string& path, const std::string& body) const {
  http::Request r;
  r.method = "POST";
  r.url = url(port) + path;
  r.body = body;
  return http::send(r);
}

}  // namespace orch::test
