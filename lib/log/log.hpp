#pragma once
// Logging through spdlog, as text or one JSON object per line (ORCH_LOG_FORMAT). Every value
// registered with redact() is replaced by *** in every line, whichever sink writes it: a guard
// behind the rule that secrets are never logged in the first place.
#include <string>

namespace orch {

class Settings;

struct LogOptions {
  std::string format = "text";  // text | json
  std::string level = "info";
  std::string file;             // optional rotating file
  bool to_stderr = true;        // `orch mcp` keeps stdout for the protocol
};

LogOptions log_options_from(const Settings& s);
void setup_logging(const LogOptions& opts);
void redact(const std::string& secret);
// Applies the registered redactions to `text` (used by the formatter; exposed for tests).
std::string redacted(std::string text);

}  // namespace orch
