#pragma once
// The stand-ins for docling-serve, the RAG service, the frontend and Builder.io
// (tests/fixtures/standins.cpp) as one child process on four free ports, with what they were
// asked (GET /_calls). For the pipeline tests and the chaos test.
#include <string>
#include <vector>

#include "core/json.hpp"
#include "http/client.hpp"
#include "support/process.hpp"

namespace orch::test {

struct StandinServers {
  int docling = free_port(), rag = free_port(), web = free_port(), builder = free_port();
  Process proc;
  // Starts them with `knobs` (see orch_standins' usage) and waits until they answer.
  explicit StandinServers(std::vector<std::string> knobs = {});
  std::string url(int port) const { return "http://127.0.0.1:" + std::to_string(port); }
  // The RAG stand-in's /_calls: call counts, the index ({"index": {id: document}}), what it last got.
  json calls() const;
  http::Response post(int port, const std::string& path, const std::string& body) const;
};

}  // namespace orch::test
