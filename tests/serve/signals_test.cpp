// orch serve's shutdown signals (README, lib/serve/signals.hpp): SIGTERM/SIGINT drain, waiting for
// requests running on workers; a second SIGTERM/SIGINT meanwhile exits at once (status 130).
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "support/git_repo.hpp"
#include "support/orch_server.hpp"

using namespace orch;
using namespace orch::test;
using namespace std::chrono_literals;

namespace {

struct SecondSignal : ::testing::TestWithParam<int> {};

TEST_P(SecondSignal, DuringTheDrainExitsAtOnce) {
  const int sig = GetParam();
  GitRepo repo;
  TempDir tmp;
  const auto pid_file = tmp.file("deploy.pid");
  // A deploy command that outlasts the test: the POST /rollback running it holds the drain.
  OrchServer orch({{"REDIS_URL", ""},
                   {"ROLLBACK_REPOS", "app=" + repo.dir.path()},
                   {"ROLLBACK_DEPLOY_COMMAND", "echo $$ > " + pid_file + "; exec sleep 60"}});
  std::thread request([&] {
    try {
      orch.post("/rollback", R"({"repo":"app"})");
    } catch (const std::exception&) {  // the connection ends with the process
    }
  });
  ASSERT_TRUE(eventually([&] { return !read_file(pid_file).empty(); }, 10s)) << orch.log();
  // The deploy's own process group, which an exit at once leaves behind: stopped by the test.
  struct Group {
    pid_t id;
    ~Group() { ::kill(-id, SIGKILL); }
  } deploy{std::stoi(read_file(pid_file))};

  orch.process().signal(sig);
  ASSERT_TRUE(eventually([&] { return orch.log().find("shutting down") != std::string::npos; }, 5s)) << orch.log();
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(orch.process().running()) << "the first signal drains: the request running the deploy is waited for\n" << orch.log();

  const auto t0 = std::chrono::steady_clock::now();
  orch.process().signal(sig);
  EXPECT_EQ(orch.process().wait(5s), 130) << orch.log();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  request.join();
}

INSTANTIATE_TEST_SUITE_P(Serve, SecondSignal, ::testing::Values(SIGTERM, SIGINT),
                         [](const auto& info) { return info.param == SIGTERM ? "SIGTERM" : "SIGINT"; });

}  // namespace
