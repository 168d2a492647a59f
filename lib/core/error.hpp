#pragma once
// One rule for errors in liborch: a failure the caller cannot carry on from is an exception
// derived from orch::Error; an outcome the caller is expected to branch on (an HTTP status, a
// service that is down, a duplicate webhook) is a value. Each Error carries the exit code that
// SPEC §3 assigns to it, so the CLI maps any failure to an exit code in one place.
#include <stdexcept>
#include <string>

namespace orch {

enum class ExitCode : int {
  ok = 0,
  warning = 1,
  critical = 2,
  unknown = 3,
  usage = 64,
  cant_create = 73,  // sysexits' EX_CANTCREAT
  config = 78,
};

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const noexcept { return code_; }

 private:
  ExitCode code_;
};

// Bad configuration (file, environment, flags): exit 78.
struct ConfigError : Error {
  explicit ConfigError(const std::string& m) : Error(ExitCode::config, m) {}
};
// Bad command-line usage: exit 64.
struct UsageError : Error {
  explicit UsageError(const std::string& m) : Error(ExitCode::usage, m) {}
};
// An output file that cannot be written, or exists and may not be replaced (orch init without
// --force): exit 73.
struct OutputError : Error {
  explicit OutputError(const std::string& m) : Error(ExitCode::cant_create, m) {}
};
// A dependency (Docker engine, Redis, a service) could not be reached: exit 3.
struct UnreachableError : Error {
  explicit UnreachableError(const std::string& m) : Error(ExitCode::unknown, m) {}
};
// An operation ran and failed (a restart refused, a rollback that did not take): exit 2.
struct OperationError : Error {
  explicit OperationError(const std::string& m) : Error(ExitCode::critical, m) {}
};
// What a request names does not exist (a container, an image): exit 2; 404 from a control endpoint.
struct NotFoundError : OperationError {
  explicit NotFoundError(const std::string& m) : OperationError(m) {}
};

}  // namespace orch
