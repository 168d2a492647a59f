// The crash report: an exception no thread caught ends the process with its type, its message and
// the thrower's stack on stderr.
#include <gtest/gtest.h>

#include <thread>

#include "core/crash.hpp"
#include "core/error.hpp"

namespace {

[[gnu::noinline]] void redis_went_away() { throw orch::UnreachableError("redis: Server closed the connection"); }

TEST(CrashReportDeathTest, AnUncaughtExceptionInAThreadNamesItsTypeMessageAndStack) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        orch::install_crash_report();
        std::thread([] { redis_went_away(); }).join();
      },
      "orch: fatal: uncaught orch::UnreachableError: redis: Server closed the connection\n"
      "orch: the stack of the thread that threw \\(please report it\\):\n.*\\[0x[0-9a-f]+\\]");
}

}  // namespace
