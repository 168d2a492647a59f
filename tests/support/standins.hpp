#pragma once
// The stand-ins for docling-serve, the RAG service, the frontend and Builder.io
// (tests/fixtures/standins.cpp) as one child process on four ports of its own, with what they were
// asked (GET /_calls). For the pipeline tests, the chaos test and bench/pipeline.
#include <string>
#include <vector>

#include "core/json.hpp"
#include "http/client.hpp"
#include "support/process.hpp"

namespace orch::test {

struct StandinServers {
  // The ports the stand-in process was given by the kernel (it binds port 0 and prints them): a
  // port picked here with free_port() and bound there later could meanwhile be picked by another
  // test, and httplib's SO_REUSEPORT would then let both listen and split the connections.
  int docling = 0, rag = 0, web = 0, builder = 0;
  // Starts them with `knobs` (see orch_standins' usage) and waits until they listen.
  explicit StandinServers(std::vector<std::string> knobs = {});
  std::string url(int port) const { return "http://127.0.0.1:" + std::to_string(port); }
  // The RAG stand-in's /_calls: call counts, the index ({"index": {id: document}}), what it last got.
  json calls() const;
  http::Response post(int port, const std::string& path, const std::string& body) const;
  // What the process printed (its ports line, then any complaint on stderr).
  std::string log() const { return read_file(dir_.file("standins.log")); }

 private:
  TempDir dir_;
  Process proc_;  // after dir_: stopped before its log is removed
};

}  // namespace orch::test
