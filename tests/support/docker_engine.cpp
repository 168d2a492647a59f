#include "support/docker_engine.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace orch::test {

bool DockerEngine::available() {
  return geteuid() == 0 && std::filesystem::exists("/usr/sbin/dockerd") && std::filesystem::exists("/bin/busybox");
}

DockerEngine::DockerEngine() {
  start();
  import_busybox();
}

DockerEngine::~DockerEngine() {
  // Remove the containers this suite made, then stop the engine.
  auto ids = docker({"ps", "-aq"}).output;
  if (!ids.empty()) {
    std::vector<std::string> args = {"rm", "-f"};
    size_t pos = 0;
    while (pos < ids.size()) {
      auto nl = ids.find('\n', pos);
      auto id = ids.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      if (!id.empty()) args.push_back(id);
      if (nl == std::string::npos) break;
      pos = nl + 1;
    }
    if (args.size() > 2) docker(args);
  }
  stop();
  unmount_leftovers();
}

void DockerEngine::unmount_leftovers() {
  // A network sandbox the engine could not finish (a swarm worker's ingress, docs/swarm.md) stays
  // mounted (nsfs) after dockerd stops, and the TempDir could not be removed: detach what is left.
  std::ifstream mounts("/proc/self/mounts");
  std::vector<std::string> points;
  std::string device, point, rest;
  while (mounts >> device >> point && std::getline(mounts, rest))
    if (point.rfind(dir_.path() + "/", 0) == 0) points.push_back(point);
  for (auto it = points.rbegin(); it != points.rend(); ++it) umount2(it->c_str(), MNT_DETACH);
}

void DockerEngine::start() {
  const auto& d = dir_.path();
  std::filesystem::create_directories(d + "/data");
  std::filesystem::create_directories(d + "/exec");
  proc_ = Process({"dockerd", "--host", host(), "--data-root", d + "/data", "--exec-root", d + "/exec",
                   "--pidfile", d + "/docker.pid", "--iptables=false", "--ip6tables=false", "--bridge=none"},
                  {}, d + "/dockerd.log");
  bool up = eventually([&] { return docker({"version"}).code == 0; }, std::chrono::seconds(60));
  if (!up) throw std::runtime_error("dockerd did not start; see " + d + "/dockerd.log");
}

void DockerEngine::stop() { proc_.stop(std::chrono::seconds(20)); }

RunResult DockerEngine::docker(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"docker"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, {{"DOCKER_HOST", host()}}, std::chrono::seconds(120));
}

std::string DockerEngine::must(const std::vector<std::string>& args) const {
  auto r = docker(args);
  if (r.code != 0) {
    std::string cmd;
    for (const auto& a : args) cmd += a + " ";
    throw std::runtime_error("docker " + cmd + "failed: " + r.output);
  }
  while (!r.output.empty() && (r.output.back() == '\n' || r.output.back() == ' ')) r.output.pop_back();
  return r.output;
}

void DockerEngine::import_busybox() {
  const auto root = dir_.path() + "/rootfs";
  std::filesystem::create_directories(root + "/bin");
  std::filesystem::create_directories(root + "/tmp");
  std::filesystem::copy_file("/bin/busybox", root + "/bin/busybox");
  for (const char* applet : {"sh", "sleep", "echo", "cat", "ls", "true", "false", "kill", "wget", "nc", "httpd",
                             "touch", "rm", "test", "[", "date", "env", "grep", "head", "tail", "seq", "yes",
                             "printf", "mkdir", "id", "ps", "exit"})
    std::filesystem::create_symlink("busybox", root + "/bin/" + applet);
  auto tar = run({"tar", "-C", root, "-cf", dir_.path() + "/rootfs.tar", "."});
  if (tar.code != 0) throw std::runtime_error("tar failed: " + tar.output);
  must({"import", "--change", "CMD [\"/bin/sh\"]", dir_.path() + "/rootfs.tar", image_});
}

static int lock_host_swarm() {
  const int fd = ::open("/tmp/orch-test-swarm.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd >= 0) {
    while (::flock(fd, LOCK_EX) != 0 && errno == EINTR) {}
  }
  return fd;
}

SwarmMode::SwarmMode(DockerEngine& manager) : lock_fd_(lock_host_swarm()), manager_(manager), port_(free_port()) {
  // The listen address is loopback, not 0.0.0.0: the gossip port then binds 127.0.0.1:7946 and a
  // worker on 127.0.0.2 can bind its own.
  manager_.must({"swarm", "init", "--advertise-addr", "127.0.0.1", "--listen-addr", "127.0.0.1:" + std::to_string(port_)});
  node_id_ = manager_.must({"info", "--format", "{{.Swarm.NodeID}}"});
}

SwarmMode::~SwarmMode() {
  for (auto* w : workers_) w->docker({"swarm", "leave", "--force"});
  manager_.docker({"swarm", "leave", "--force"});
  // Task containers outlive the swarm they ran in: remove them with it.
  for (auto* e : workers_) e->docker({"container", "prune", "-f", "--filter", "label=com.docker.swarm.task"});
  manager_.docker({"container", "prune", "-f", "--filter", "label=com.docker.swarm.task"});
  // The engines share the host's network namespace and so one docker_gwbridge.
  // A published port made an ingress sandbox, whose endpoint outlives the swarm: Docker's
  // documented way out is to disconnect it by force.
  std::string why;
  bool gone = eventually(
      [&] {
        manager_.docker({"network", "disconnect", "-f", "docker_gwbridge", "gateway_ingress-sbox"});
        auto r = manager_.docker({"network", "rm", "docker_gwbridge"});
        why = r.output;
        return r.code == 0 || r.output.find("No such network") != std::string::npos || r.output.find("not found") != std::string::npos;
      },
      std::chrono::seconds(20));
  if (!gone)
    std::fprintf(stderr, "SwarmMode: docker_gwbridge stays: %s%s\n", why.c_str(),
                 manager_.docker({"network", "inspect", "docker_gwbridge"}).output.c_str());
  if (lock_fd_ >= 0) ::close(lock_fd_);  // lets the next swarm on this machine begin
}

std::string SwarmMode::join_worker(DockerEngine& worker) {
  const auto token = manager_.must({"swarm", "join-token", "-q", "worker"});
  const auto addr = "127.0.0.2:" + std::to_string(free_port());
  worker.must(
      {"swarm", "join", "--token", token, "--listen-addr", addr, "--advertise-addr", "127.0.0.2", "127.0.0.1:" + std::to_string(port_)});
  workers_.push_back(&worker);
  return worker.must({"info", "--format", "{{.Swarm.NodeID}}"});
}

std::string SwarmMode::create_service(const std::string& name, const std::vector<std::string>& flags,
                                      const std::vector<std::string>& command) {
  // --no-resolve-image: the image is local only; resolving it would ask a registry (and warn).
  std::vector<std::string> args = {"service", "create", "-d", "-q", "--no-resolve-image", "--name", name};
  args.insert(args.end(), flags.begin(), flags.end());
  args.push_back(manager_.image());
  args.insert(args.end(), command.begin(), command.end());
  manager_.must(args);
  return manager_.must({"service", "inspect", "--format", "{{.ID}}", name});
}

void SwarmMode::remove_service(const std::string& name) { manager_.docker({"service", "rm", name}); }

int SwarmMode::running_replicas(const std::string& name) const {
  auto r = manager_.docker({"service", "ls", "--filter", "name=" + name, "--format", "{{.Name}} {{.Replicas}}"});
  // "web 2/3" (a global service: "web 1/1"); the filter matches prefixes, so compare the name.
  size_t pos = 0;
  while (pos < r.output.size()) {
    auto nl = r.output.find('\n', pos);
    auto line = r.output.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    if (line.rfind(name + " ", 0) == 0) return std::atoi(line.c_str() + name.size() + 1);
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return -1;
}

namespace {

// Whether any test defined in `file` is going to run in this process; for an engine declared in a
// header (shared by the files of a binary, tests/compose/engine.hpp), any test at all.
bool runs_a_test_of(const std::string& file) {
  const bool shared = !file.ends_with(".cpp");
  const auto& unit = *::testing::UnitTest::GetInstance();
  for (int i = 0; i < unit.total_test_suite_count(); ++i) {
    const auto& suite = *unit.GetTestSuite(i);
    for (int j = 0; j < suite.total_test_count(); ++j) {
      const auto& test = *suite.GetTestInfo(j);
      if (test.should_run() && (shared || file == test.file())) return true;
    }
  }
  return false;
}

class SharedEngine : public ::testing::Environment {
 public:
  SharedEngine(std::function<void(DockerEngine&)> prepare, std::string file) : prepare_(std::move(prepare)), file_(std::move(file)) {}
  void SetUp() override {
    if (!runs_a_test_of(file_) || !DockerEngine::available()) return;
    engine_ = new DockerEngine();
    if (prepare_) prepare_(*engine_);
  }
  void TearDown() override {
    delete engine_;
    engine_ = nullptr;
  }
  DockerEngine*& slot() { return engine_; }

 private:
  std::function<void(DockerEngine&)> prepare_;
  std::string file_;
  DockerEngine* engine_ = nullptr;
};

}  // namespace

DockerEngine*& share_engine(std::function<void(DockerEngine&)> prepare, const char* file) {
  auto* env = new SharedEngine(std::move(prepare), file);
  ::testing::AddGlobalTestEnvironment(env);  // GoogleTest owns it
  return env->slot();
}

}  // namespace orch::test
