#include "support/docker_engine.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
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

namespace {

class SharedEngine : public ::testing::Environment {
 public:
  explicit SharedEngine(std::function<void(DockerEngine&)> prepare) : prepare_(std::move(prepare)) {}
  void SetUp() override {
    if (!DockerEngine::available()) return;
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
  DockerEngine* engine_ = nullptr;
};

}  // namespace

DockerEngine*& share_engine(std::function<void(DockerEngine&)> prepare) {
  auto* env = new SharedEngine(std::move(prepare));
  ::testing::AddGlobalTestEnvironment(env);  // GoogleTest owns it
  return env->slot();
}

}  // namespace orch::test
