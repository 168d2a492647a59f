#pragma once
// A real Docker engine (dockerd) private to a test suite, on its own unix socket, with a busybox
// image imported from Debian's busybox-static. Skips (GTEST_SKIP) only when dockerd is missing.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace orch::test {

class DockerEngine {
 public:
  DockerEngine();
  ~DockerEngine();
  static bool available();  // dockerd and busybox-static installed, and we are root

  std::string socket() const { return dir_.path() + "/docker.sock"; }
  std::string host() const { return "unix://" + socket(); }
  const std::string& image() const { return image_; }  // "orch-test/busybox:latest"
  // Runs the docker CLI against this engine; returns {code, output}.
  RunResult docker(const std::vector<std::string>& args) const;
  // Runs the docker CLI and returns trimmed stdout; throws on a non-zero exit.
  std::string must(const std::vector<std::string>& args) const;
  void stop();   // stop dockerd (containers stay, as with a daemon restart)
  void start();  // start dockerd again on the same socket and data root

 private:
  void import_busybox();
  TempDir dir_;
  Process proc_;
  std::string image_ = "orch-test/busybox:latest";
};

// One engine for a whole test binary (dockerd takes seconds to start). Registers a GoogleTest
// environment that starts it before the first test, runs `prepare` on it (tag images, ...), and
// stops it after the last. Use at namespace scope:
//   DockerEngine*& engine = share_engine();   // null while no test runs, or when unavailable
DockerEngine*& share_engine(std::function<void(DockerEngine&)> prepare = {});

}  // namespace orch::test

#define REQUIRE_ENGINE() \
  if (!engine) GTEST_SKIP() << "dockerd or busybox-static not installed"
