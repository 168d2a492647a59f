// orch watch in a real terminal (issue 23: driven as a person would, through tmux): each event
// once although the engine and Redis both carry it, a kill's signal named, colour unless NO_COLOR,
// and one line, not one per retry, while the engine is unreachable.
#include <gtest/gtest.h>

#include <thread>

#include "support/docker_engine.hpp"
#include "support/orch_server.hpp"
#include "support/redis_server.hpp"
#include "support/require.hpp"
#include "support/terminal.hpp"

using namespace orch::test;
using namespace std::chrono_literals;

namespace {

DockerEngine*& engine = share_engine();

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(WatchTerminal, AnUnreachableEngineIsOneLineNotOnePerRetry) {
  ORCH_REQUIRE(have_tmux()) << "tmux (scripts/install-deps.sh installs it)";
  Terminal term({ORCH_BINARY, "watch", "--no-bus"}, {{"DOCKER_HOST", "unix:///nonexistent/docker.sock"}, {"ORCH_CONFIG", ""}});
  const std::string said = "docker: unreachable at unix:///nonexistent/docker.sock";
  ASSERT_TRUE(eventually([&] { return term.screen().find(said) != std::string::npos; }, 10s)) << term.screen();
  std::this_thread::sleep_for(2500ms);  // the watcher retries meanwhile
  EXPECT_EQ(count(term.screen(), said), 1u) << term.screen();
  EXPECT_NE(term.screen().find("(retrying)"), std::string::npos) << term.screen();
  term.keys({"C-c"});
  ASSERT_TRUE(eventually([&] { return term.exited(); }, 10s)) << term.screen();
  EXPECT_EQ(term.exit_status(), 0) << term.screen();
}

TEST(WatchTerminal, EachEventOnceWithTheSignalOfAKillInColour) {
  REQUIRE_ENGINE();
  ORCH_REQUIRE(have_tmux()) << "tmux (scripts/install-deps.sh installs it)";
  RedisServer redis;
  const std::map<std::string, std::string> env = {
      {"REDIS_URL", redis.url()}, {"DOCKER_HOST", engine->host()}, {"ORCH_CONFIG", ""}, {"NO_COLOR", "\x01unset"}};
  OrchServer orch(env);  // copies the engine's container events to orch:events: the second source
  ASSERT_TRUE(eventually([&] { return orch.get("/readyz").status == 200; }, 20s)) << orch.log();
  engine->docker({"rm", "-f", "w-kill"});
  Terminal term({ORCH_BINARY, "watch"}, env, 160, 40);
  std::this_thread::sleep_for(1500ms);  // both sources connected: no line says so when all is well
  engine->must({"run", "-d", "--network", "none", "--name", "w-kill", engine->image(), "sleep", "300"});
  engine->must({"kill", "w-kill"});
  // The died event on the bus: orch's copy has arrived too, so a double would show by now.
  ASSERT_TRUE(eventually([&] { return !redis.events("container.died").empty(); }, 10s)) << orch.log();
  ASSERT_TRUE(eventually([&] { return term.screen().find("container.died") != std::string::npos; }, 10s)) << term.screen();
  std::this_thread::sleep_for(500ms);
  const auto screen = term.screen();
  EXPECT_EQ(count(screen, "container.died"), 1u) << screen;
  EXPECT_EQ(count(screen, "container.started"), 1u) << screen;
  EXPECT_NE(screen.find("exit_code=137 (SIGKILL)"), std::string::npos) << screen;
  EXPECT_NE(term.screen(true).find("\033[31mcontainer.died"), std::string::npos) << term.screen(true);
  term.keys({"C-c"});
  EXPECT_TRUE(eventually([&] { return term.exited(); }, 10s)) << term.screen();
  engine->docker({"rm", "-f", "w-kill"});
}

}  // namespace
