// The crash report (core/crash.hpp): an exception no thread caught ends the process with its type,
// its message and the thrower's stack on stderr, and the process still dies by SIGABRT.
#include <gtest/gtest.h>

#include <csignal>
#include <thread>

#include "core/crash.hpp"
#include "core/error.hpp"

// In a coverage build (scripts/coverage.sh) the child of a death test dies by abort, which writes
// no .gcda: the handler would never count as run. libgcov's dump, which coverage.sh links in with
// `-u __gcov_dump`, writes the child's counts (liborch's too) first; elsewhere the weak symbol is
// null and nothing changes.
extern "C" void __gcov_dump(void) __attribute__((weak));

namespace {

void dump_coverage_then_abort(int) {
  if (__gcov_dump) __gcov_dump();
  std::signal(SIGABRT, SIG_DFL);
  std::raise(SIGABRT);
}

// In the death test's child only: the crash report, and the coverage counts kept at the abort.
void install_in_child() {
  std::signal(SIGABRT, dump_coverage_then_abort);
  orch::install_crash_report();
}

[[gnu::noinline]] void redis_went_away() { throw orch::UnreachableError("redis: Server closed the connection"); }

TEST(CrashReportDeathTest, AnUncaughtExceptionInAThreadNamesItsTypeMessageAndStack) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        install_in_child();
        std::thread([] { redis_went_away(); }).join();
      },
      ::testing::KilledBySignal(SIGABRT),
      "orch: fatal: uncaught orch::UnreachableError: redis: Server closed the connection\n"
      "orch: the stack of the thread that threw \\(please report it\\):\n.*\\[0x[0-9a-f]+\\]");
}

TEST(CrashReportDeathTest, SomethingThatIsNotAStdExceptionAndADirectTerminateAreNamedToo) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        install_in_child();
        std::thread([] { throw 42; }).join();
      },
      ::testing::KilledBySignal(SIGABRT),
      "orch: fatal: uncaught exception: an exception that is not a std::exception\n"
      "orch: the stack of the thread that threw \\(please report it\\):\n");
  EXPECT_EXIT(
      {
        install_in_child();
        std::terminate();
      },
      ::testing::KilledBySignal(SIGABRT),
      "orch: fatal: uncaught exception: no exception \\(std::terminate called directly\\)\n"
      "orch: the stack of the thread that threw \\(please report it\\):\n.*\\[0x[0-9a-f]+\\]");
}

}  // namespace
