// The config file (config/config.hpp): YAML read by yaml-cpp, its settings and `services:` with
// their heal overrides and health conditions (diagnose/conditions.hpp). Input: the file's text.
// Beyond "no crash": a bad file is a ConfigError (exit 78) and never another exception, and what
// `orch config` prints shows no secret (SPEC §2).
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "config/config.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "diagnose/conditions.hpp"
#include "redis/connection.hpp"
#include "support/fuzz.hpp"

using namespace orch;

namespace {

std::string file_path() {
  static const std::string path = fuzz::scratch_dir("config-fuzz") + "/orch.yaml";
  return path;
}

void check_shown(const Config& cfg) {
  const auto& s = cfg.settings;
  for (const auto& spec : setting_specs()) {
    const auto shown = s.display(spec.env);
    if ((spec.kind == SettingKind::secret || spec.kind == SettingKind::credential) && s.has(spec.env))
      FUZZ_CHECK(shown == "***", spec.env + " shown as " + shown);
  }
  // REDIS_URL: shown as the Redis client reads it (credentials up to the last '@', the user before
  // the first ':' of them) with the password, and only it, replaced: `redis://[user:]***@rest`.
  // (A "password not in the text shown" check is wrong: the user name or host may hold its text.)
  if (s.has("REDIS_URL")) {
    try {
      const auto& raw = s.str("REDIS_URL");
      const auto url = redis::parse_url(raw);
      const auto at = raw.rfind('@');
      if (at != std::string::npos) {
        const auto cred = raw.substr(8, at - 8);  // after "redis://", which parse_url demands
        const std::string expected = "redis://" + (cred.find(':') == std::string::npos ? "" : url.username + ":") + "***" + raw.substr(at);
        FUZZ_CHECK(s.display("REDIS_URL") == expected, s.display("REDIS_URL") + " instead of " + expected);
      } else {
        FUZZ_CHECK(s.display("REDIS_URL") == raw);
      }
    } catch (const ConfigError&) {}
  }
  const auto text = to_text(cfg.to_json(), 2);
  FUZZ_CHECK(parse_json(text).is_object());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (fuzz::quiet_logs(), true);
  (void)quiet;
  {
    std::ofstream out(file_path(), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  Config cfg;
  try {
    cfg = load_config({.file = file_path(), .flags = {}, .env = std::map<std::string, std::string>{}});
  } catch (const ConfigError&) {
    return 0;
  } catch (const std::exception& e) {
    FUZZ_CHECK(false, std::string("a bad config file must be a ConfigError (exit 78), not: ") + e.what());
  }
  check_shown(cfg);
  for (const auto& svc : cfg.services) {
    FUZZ_CHECK(cfg.service(svc.name) != nullptr);
    try {
      diagnose::parse_conditions(svc.expect);
    } catch (const ConfigError&) {}
    if (svc.heal.backoff) FUZZ_CHECK(svc.heal.backoff->min <= svc.heal.backoff->max);
  }
  return 0;
}
