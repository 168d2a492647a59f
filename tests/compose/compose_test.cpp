// The container image and the compose stack, built and run for real (docs/image.md): orch's image
// from the repository's Dockerfile (tests/support/images.hpp); then packaging/docker-compose.example.yml
// brought up with docker-compose (Debian's 1.29) on the test dockerd, redis and the stand-ins swapped
// in by tests/compose/docker-compose.test.yml, and driven from the host as a user would.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "core/json.hpp"
#include "compose/engine.hpp"
#include "support/images.hpp"
#include "support/process.hpp"
#include "support/webhook_sender.hpp"

using namespace orch;
using namespace orch::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const std::string kSecret =
    "whsec_"
    "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";  // Standard Webhooks' own test key
// The image holds the orch of this build: a sanitizer build's carries its runtime and instrumented
// code (260 MB under ASan), so the size bar holds for the plain build only; it is printed always.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSizeMeasurable = false;
#else
constexpr bool kSizeMeasurable = true;
#endif
const std::string kToken = "compose-test-token-0123456789abcdef";  // control endpoints from off the host need one

RunResult sh(const std::string& script) { return run({"sh", "-c", script}, {{"DOCKER_HOST", engine->host()}}, 300s); }

std::string inspect(const std::string& what, const std::string& format) { return engine->must({"inspect", "--format", format, what}); }

// GET on the host; status 0 when nothing answered.
std::pair<int, std::string> get(int port, const std::string& path) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(2s);
  c.set_read_timeout(10s);
  auto r = c.Get(path);
  return r ? std::pair{r->status, r->body} : std::pair{0, std::string()};
}

}  // namespace

// The image: small, orch at /usr/bin with no shell beside it, the user orch, `docker run IMAGE orch
// --version`; with a read-only root and no capabilities its HEALTHCHECK (`orch healthcheck`) turns
// it healthy.
TEST(Image, SmallNonRootReadOnlyWithoutCapabilitiesAndHealthy) {
  REQUIRE_ENGINE();
  ASSERT_EQ(build_images(*engine), "");
  const long long size = std::stoll(inspect(kOrchImage, "{{.Size}}"));
  std::printf("orch image: %.1f MB\n", static_cast<double>(size) / 1e6);
  if (kSizeMeasurable) {
    EXPECT_LT(size, 60'000'000);
  }
  EXPECT_EQ(inspect(kOrchImage, "{{.Config.User}}"), "orch");
  EXPECT_EQ(inspect(kOrchImage, "{{json .Config.Healthcheck.Test}}"), R"(["CMD","orch","healthcheck"])");
  auto version = engine->docker({"run", "--rm", "--network", "none", kOrchImage, "orch", "--version"});
  EXPECT_EQ(version.code, 0) << version.output;
  EXPECT_EQ(version.output.rfind("orch ", 0), 0u) << version.output;
  auto shell = engine->docker({"run", "--rm", "--network", "none", kOrchImage, "sh", "-c", "true"});
  EXPECT_NE(shell.code, 0) << "the image has a shell: " << shell.output;
  auto id = engine->must({"run", "-d", "--network", "none", "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
                          "--health-interval", "1s", "--health-start-period", "1s", kOrchImage});
  EXPECT_TRUE(eventually([&] { return inspect(id, "{{.State.Health.Status}}") == "healthy"; }, 30s))
      << inspect(id, "{{json .State.Health}}") << engine->docker({"logs", id}).output;
  EXPECT_EQ(inspect(id, "{{.Config.User}}"), "orch");
  // The process runs as uid 10001, not root.
  const auto pid = std::stoi(inspect(id, "{{.State.Pid}}"));
  struct stat st {};
  ASSERT_EQ(::stat(("/proc/" + std::to_string(pid)).c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 10001u);
  engine->must({"rm", "-f", id});
  // With no orch serve to answer, `orch healthcheck` says unhealthy: Docker's exit 1.
  auto alone = engine->docker({"run", "--rm", "--network", "none", kOrchImage, "orch", "healthcheck"});
  EXPECT_EQ(alone.code, 1) << alone.output;
}

// The compose example on the test dockerd: `docker-compose up -d`; then from the host, `orch
// sync-test` passes through the stack, a webhook signed by the Standard Webhooks reference library
// and posted to the published port reaches the docling stand-in, and a labelled stand-in whose process
// is killed is restarted by orch through the mounted Docker socket.
TEST(Compose, TheExampleStackRunsSyncTestPassesWebhooksFlowAndOrchHeals) {
  REQUIRE_ENGINE();
  ASSERT_EQ(build_images(*engine), "");
  TempDir project;
  fs::copy_file(kRepo + "/packaging/docker-compose.example.yml", project.path() + "/docker-compose.yml");
  fs::copy_file(kRepo + "/tests/compose/docker-compose.test.yml", project.path() + "/docker-compose.test.yml");
  const int orch_port = free_port(), docling_port = free_port();
  const std::string socket = engine->host().substr(std::string("unix://").size());
  struct stat sock {};
  ASSERT_EQ(::stat(socket.c_str(), &sock), 0);
  {
    // As a user fills .env in from .env.template (+ what the test's compose file reads).
    std::ofstream env(project.path() + "/.env");
    env << "TRUSTED_WEBHOOK_SECRET=" << kSecret << "\nORCH_API_TOKEN=" << kToken << "\nORCH_IMAGE=" << kOrchImage
        << "\nFIXTURES_IMAGE=" << kFixturesImage << "\nORCH_PORT=" << orch_port << "\nDOCLING_PORT=" << docling_port
        << "\nDOCKER_SOCKET_PATH=" << socket << "\nDOCKER_GID=" << sock.st_gid << "\nBIND=0.0.0.0\nPORT=9000\nORCH_LOG_LEVEL=debug\n";
  }
  const std::string compose = "cd " + project.path() + " && docker-compose -p orchtest -f docker-compose.yml -f docker-compose.test.yml ";
  struct Down {
    std::string compose;
    ~Down() { sh(compose + "down -v --remove-orphans"); }
  } down{compose};
  auto up = sh(compose + "up -d");
  ASSERT_EQ(up.code, 0) << up.output;
  const auto logs = [&] { return sh(compose + "logs --no-color --tail 60 orch").output; };
  ASSERT_TRUE(eventually([&] { return get(orch_port, "/readyz").first == 200; }, 60s)) << logs();
  // orch's own HEALTHCHECK, in the stack.
  // (compose's own `ps -q` prints its warnings into the same output: ask the engine.)
  const auto container_of = [&](const std::string& service) {
    return engine->must({"ps", "-q", "--no-trunc", "--filter", "label=com.docker.compose.project=orchtest", "--filter",
                         "label=com.docker.compose.service=" + service});
  };
  const auto orch_id = container_of("orch");
  EXPECT_TRUE(eventually([&] { return inspect(orch_id, "{{.State.Health.Status}}") == "healthy"; }, 60s)) << logs();

  // sync-test from the host, through the published port (no REDIS_URL here: orch serve runs it).
  auto sync =
      run({ORCH_BINARY, "sync-test", "--orch-url", "http://127.0.0.1:" + std::to_string(orch_port), "--timeout", "60s", "-o", "json"},
          {{"ORCH_API_TOKEN", kToken}, {"REDIS_URL", "\x01unset"}, {"ORCH_CONFIG", "\x01unset"}}, 120s);
  EXPECT_EQ(sync.code, 0) << sync.output << logs();

  // A webhook signed by the reference library reaches the docling stand-in through the pipeline.
  const auto d = sign_deliveries(kSecret, "compose", 1, 1).at(0);
  httplib::Client c("127.0.0.1", orch_port);
  auto res = c.Post("/webhook/builder", {{"webhook-id", d.id}, {"webhook-timestamp", d.timestamp}, {"webhook-signature", d.signature}},
                    d.body, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 202) << res->body;
  EXPECT_TRUE(eventually(
      [&] {
        auto calls = get(docling_port, "/_calls");
        return calls.first == 200 && calls.second.find("http://web:3000/chaos/compose-1") != std::string::npos;
      },
      30s))
      << get(docling_port, "/_calls").second << logs();

  // The web stand-in (labelled orch.heal=true, no restart policy: Docker itself would leave it)
  // crashes: orch restarts it.
  const auto web = container_of("web");
  const auto started = inspect(web, "{{.State.StartedAt}}");
  ASSERT_EQ(::kill(std::stoi(inspect(web, "{{.State.Pid}}")), SIGKILL), 0);
  EXPECT_TRUE(
      eventually([&] { return inspect(web, "{{.State.Running}}") == "true" && inspect(web, "{{.State.StartedAt}}") != started; }, 30s))
      << logs();
  const auto policy = inspect(web, "{{.HostConfig.RestartPolicy.Name}}");  // compose leaves it unset
  EXPECT_TRUE(policy.empty() || policy == "no") << policy;
}
