#include "support/images.hpp"

#include <filesystem>
#include <map>
#include <mutex>

namespace orch::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string docker_cli() { return fs::exists("/usr/bin/docker") ? "/usr/bin/docker" : "docker"; }

static std::string make_images(const DockerEngine& engine) {
  const std::string& repo = kRepo;
  const std::map<std::string, std::string> env = {{"DOCKER_HOST", engine.host()}};
  // orch's image: the repository's Dockerfile, verbatim, in a context holding only it and the root.
  TempDir ctx;
  fs::copy_file(repo + "/Dockerfile", ctx.path() + "/Dockerfile");
  auto r = run({repo + "/packaging/image-rootfs.sh", ctx.path() + "/build/image-rootfs", ORCH_BINARY}, env, 300s);
  if (r.code != 0) return "image-rootfs.sh (orch): " + r.output;
  r = run({docker_cli(), "build", "-q", "--build-arg", "ROOTFS=prebuilt", "-t", kOrchImage, ctx.path()},
          {{"DOCKER_HOST", engine.host()}, {"DOCKER_BUILDKIT", "1"}}, 300s);
  if (r.code != 0) return "docker build: " + r.output;
  TempDir fx;
  const auto root = fx.path() + "/out/root";
  r = run({"sh", "-c",
           repo + "/packaging/image-rootfs.sh " + fx.path() + "/out $(command -v redis-server) $(command -v redis-cli) " + ORCH_STANDINS +
               " /bin/busybox && ln -s busybox " + root + "/usr/bin/wget && tar -C " + root + " -cf " + fx.path() +
               "/root.tar . && docker import " + fx.path() + "/root.tar " + kFixturesImage},
          env, 300s);
  if (r.code != 0) return "fixtures image: " + r.output;
  return std::string();
}

const std::string& build_images(const DockerEngine& engine) {
  static std::mutex mu;
  static std::map<std::string, std::string> made;  // engine socket -> "" or what failed
  std::lock_guard lock(mu);
  auto it = made.find(engine.host());
  if (it == made.end()) it = made.emplace(engine.host(), make_images(engine)).first;
  return it->second;
}

}  // namespace orch::test
