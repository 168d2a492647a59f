#include "support/standins.hpp"

namespace orch::test {

StandinServers::StandinServers(std::vector<std::string> knobs) {
  std::vector<std::string> argv = {ORCH_STANDINS, "--docling-port",    std::to_string(docling), "--rag-port",           std::to_string(rag),
                                   "--web-port",  std::to_string(web), "--builder-port",        std::to_string(builder)};
  argv.insert(argv.end(), knobs.begin(), knobs.end());
  proc = Process(argv);
  eventually([&] {
    try {
      return calls()["reindex"] == 0;
    } catch (const std::exception&) {
      return false;
    }
  });
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
