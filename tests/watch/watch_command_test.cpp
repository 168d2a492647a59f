// `orch watch` on a terminal (docs/heal.md "orch watch"): human lines coloured on a TTY unless
// NO_COLOR is set. The real binary on a pseudo-terminal, following a stand-in's GET /events.
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "support/http_stub.hpp"
#include "support/process.hpp"

using namespace orch::test;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kFrame =
    "id: 7-0\nevent: heal.quarantined\ndata: "
    R"({"specversion":"1.0","id":"e-1","source":"orch://h","type":"heal.quarantined","time":"2026-11-30T09:41:02.123Z",)"
    R"("subject":"web-1","datacontenttype":"application/json","data":{"container":"web-1","reason":"crash loop"}})"
    "\n\n";

// Runs `orch watch --remote` on a pseudo-terminal until its first event line has been printed,
// then stops it with SIGTERM (exit 0, docs/heal.md) and returns what the terminal showed.
std::string watch_on_a_terminal(const std::string& remote, bool no_color, int* exit_code) {
  // The child's environment is made before the fork: after it only async-signal-safe calls.
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "NO_COLOR=", 9) != 0 && std::strncmp(*e, "ORCH_CONFIG=", 12) != 0) env.emplace_back(*e);
  env.emplace_back("ORCH_CONFIG=");  // no orch.yaml from the working directory
  if (no_color) env.emplace_back("NO_COLOR=1");
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string binary = ORCH_BINARY, watch = "watch", flag = "--remote", url = remote;
  char* argv[] = {binary.data(), watch.data(), flag.data(), url.data(), nullptr};
  int master = -1;
  const pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
  if (pid == 0) {
    ::execve(argv[0], argv, envp.data());
    ::_exit(127);
  }
  if (pid < 0) return "forkpty failed";
  std::string shown;
  const auto until = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < until && shown.find("crash loop") == std::string::npos) {
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(master, buf, sizeof buf);
    if (n <= 0) break;
    shown.append(buf, static_cast<size_t>(n));
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  ::close(master);
  return shown;
}

TEST(WatchCommand, ColouredOnATerminalAndPlainUnderNoColor) {
  HttpStub orch([](const ReceivedRequest&) { return StubAnswer{200, kFrame, "text/event-stream"}; });
  int code = -1;
  const auto coloured = watch_on_a_terminal(orch.url(), false, &code);
  EXPECT_EQ(code, 0);
  // A quarantine is red; the terminal turns "\n" into "\r\n".
  EXPECT_NE(coloured.find("09:41:02.123  \033[31mheal.quarantined    \033[0m  web-1  reason=crash loop\r\n"), std::string::npos)
      << coloured;
  const auto plain = watch_on_a_terminal(orch.url(), true, &code);
  EXPECT_EQ(code, 0);
  EXPECT_NE(plain.find("09:41:02.123  heal.quarantined      web-1  reason=crash loop\r\n"), std::string::npos) << plain;
  EXPECT_EQ(plain.find('\033'), std::string::npos) << plain;
  ASSERT_FALSE(orch.requests().empty());
  EXPECT_EQ(orch.requests()[0].path, "/events");
}

}  // namespace
