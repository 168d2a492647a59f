#pragma once
// A real Docker engine (dockerd) private to a test suite, on its own unix socket, with a busybox
// image imported from Debian's busybox-static. Without dockerd (or root) REQUIRE_ENGINE() fails the
// test, or skips it where the run allows skips (support/require.hpp).
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "support/process.hpp"
#include "support/require.hpp"

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
  void unmount_leftovers();
  TempDir dir_;
  Process proc_;
  std::string image_ = "orch-test/busybox:latest";
};

// Swarm mode on test engines for the life of the object (issue 20, docs/swarm.md): `docker swarm
// init` makes `manager` a single-node swarm on 127.0.0.1; join_worker() adds another DockerEngine
// as a worker on 127.0.0.2 (the same host: tasks run there, but the two daemons share one network
// namespace, so overlay networks such as ingress cannot be set up on the worker). The destructor
// leaves the swarm on every engine and removes the docker_gwbridge that swarm mode put in the
// host's network namespace. Swarm's gossip port (7946) cannot be chosen: one swarm on the machine
// at a time. Within a ctest run the Swarm* tests take the RESOURCE_LOCK host_swarm
// (tests/CMakeLists.txt); across runs (two checkouts, a helper's suite beside CI's) the
// constructor waits for an flock on /tmp/orch-test-swarm.lock, held until the destructor is done.
// Measured here (dockerd 20.10.24, 2 cores): init 0.7 s; a service's tasks running 0.6 s after
// `docker service create`; a stopped worker is marked down after about 20 s.
class SwarmMode {
 public:
  explicit SwarmMode(DockerEngine& manager);
  ~SwarmMode();
  SwarmMode(const SwarmMode&) = delete;
  SwarmMode& operator=(const SwarmMode&) = delete;

  // Joins `worker` (another DockerEngine, with the busybox image) as a worker; returns its node id.
  std::string join_worker(DockerEngine& worker);
  std::string manager_node_id() const { return node_id_; }
  // `docker service create -d --no-resolve-image --name <name> <flags> <busybox> <command>`: returns
  // the service id at once (tasks start in the background). Throws when the engine refuses.
  std::string create_service(const std::string& name, const std::vector<std::string>& flags, const std::vector<std::string>& command);
  void remove_service(const std::string& name);
  // Running tasks of the service as `docker service ls` counts them.
  int running_replicas(const std::string& name) const;

 private:
  int lock_fd_ = -1;  // first: taken before the swarm is made, let go after it is gone
  DockerEngine& manager_;
  std::vector<DockerEngine*> workers_;
  std::string node_id_;
  int port_ = 0;
};

// One engine for the tests of one file (dockerd takes seconds to start). Registers a GoogleTest
// environment that starts it before the first test, runs `prepare` on it (tag images, ...), and
// stops it after the last; it starts none when no test of the calling file runs (a ctest entry's
// GTEST_FILTER leaves the file out; called from a header, when no test of the binary runs). Use at
// namespace scope:
//   DockerEngine*& engine = share_engine();   // null while no test runs, or when unavailable
DockerEngine*& share_engine(std::function<void(DockerEngine&)> prepare = {}, const char* file = __builtin_FILE());

}  // namespace orch::test

#define REQUIRE_ENGINE() ORCH_REQUIRE(engine) << "dockerd, busybox-static and root (scripts/install-deps.sh)"
