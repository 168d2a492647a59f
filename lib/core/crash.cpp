#include "core/crash.hpp"

#include <execinfo.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <typeinfo>

#include <cxxabi.h>

namespace orch {

namespace {

[[noreturn]] void report_and_abort() {
  // An exception that found no handler: GCC calls terminate before unwinding, so the stack
  // below is still the thrower's.
  const char* what = "no exception (std::terminate called directly)";
  const char* type = "";
  std::string kept;
  if (auto e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      kept = x.what();
      what = kept.c_str();
      type = typeid(x).name();
    } catch (...) {
      what = "an exception that is not a std::exception";
    }
  }
  int status = 0;
  char* demangled = *type ? abi::__cxa_demangle(type, nullptr, nullptr, &status) : nullptr;
  std::fprintf(stderr, "orch: fatal: uncaught %s: %s\norch: the stack of the thread that threw (please report it):\n",
               demangled ? demangled : (*type ? type : "exception"), what);
  std::fflush(stderr);
  void* frames[64];
  const int n = ::backtrace(frames, 64);
  ::backtrace_symbols_fd(frames, n, STDERR_FILENO);
  std::abort();
}

}  // namespace

void install_crash_report() { std::set_terminate(report_and_abort); }

}  // namespace orch
