// orch: the control plane of the content stack. Each subcommand lives in its own file in cmd/
// and registers itself; this file parses the command line and maps failures to exit codes.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "cli.hpp"
#include "core/crash.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "core/suggest.hpp"
#include "diagnose/conditions.hpp"
#include "log/log.hpp"
#include "serve/daemon.hpp"

namespace orch::cli {

static std::vector<Command>& registry() {
  static std::vector<Command> r;
  return r;
}
Registrar::Registrar(Command c) { registry().push_back(std::move(c)); }
const std::vector<Command>& commands() { return registry(); }

bool stdout_is_tty() { return isatty(STDOUT_FILENO) == 1; }
bool stderr_is_tty() { return isatty(STDERR_FILENO) == 1; }
// no-color.org: NO_COLOR set to a non-empty value turns colour off; an empty one does not.
bool use_colour() {
  const char* no_colour = std::getenv("NO_COLOR");
  return stdout_is_tty() && (no_colour == nullptr || *no_colour == '\0');
}

Output output_format(const GlobalOptions& g) {
  if (g.output == "json") return Output::json;
  if (g.output == "ndjson") return Output::ndjson;
  return Output::table;
}

bool structured(const GlobalOptions& g) { return output_format(g) != Output::table; }

void print_document(const GlobalOptions& g, const json& doc) {
  std::cout << to_text(doc, output_format(g) == Output::ndjson ? -1 : 2) << "\n" << std::flush;
}

Config load(const GlobalOptions& g, std::map<std::string, std::string> flags, bool daemon, bool default_file) {
  ConfigInputs in;
  if (!g.config_file.empty()) in.file = g.config_file;
  else if (!default_file) in.file = "";  // neither $ORCH_CONFIG nor ./orch.yaml
  if (!g.log_level.empty()) flags["ORCH_LOG_LEVEL"] = g.log_level;
  in.flags = std::move(flags);
  // Bad conditions are reported at their line with the file's other mistakes (exit 78).
  in.check_condition = [](const std::string& condition) { diagnose::parse_conditions({condition}); };
  Config cfg = load_config(in);
  auto opts = log_options_from(cfg.settings);
  if (!daemon && cfg.settings.source("ORCH_LOG_LEVEL") == SettingSource::default_value) opts.level = "warn";
  setup_logging(opts);
  return cfg;
}

std::unique_ptr<Bus> make_cli_bus(const Config& cfg) { return make_bus(cfg, nullptr); }

// A failure: "orch: <message>" on stderr, or under -o json/ndjson a JSON document on stdout (what
// a script parses), {"error": {"message", "exit_code", "kind"}}. Returns the exit code.
static int report_error(const GlobalOptions& g, ExitCode code, const std::string& message) {
  if (g.quiet) return static_cast<int>(code);
  if (structured(g)) {
    static const std::map<ExitCode, const char*> kinds = {{ExitCode::usage, "usage"},         {ExitCode::config, "config"},
                                                          {ExitCode::unknown, "unreachable"}, {ExitCode::critical, "failed"},
                                                          {ExitCode::warning, "warning"},     {ExitCode::ok, "ok"}};
    auto kind = kinds.find(code);
    print_document(
        g,
        {{"error", {{"message", message}, {"exit_code", static_cast<int>(code)}, {"kind", kind == kinds.end() ? "error" : kind->second}}}});
  } else {
    std::cerr << "orch: " << message << "\n";
  }
  return static_cast<int>(code);
}

// The command word of argv (the first argument that is not a global option or its value), or "".
static std::string command_word(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") return i + 1 < argc ? argv[i + 1] : "";
    if (a.empty() || a[0] != '-') return a;
    if (a == "-c" || a == "--config" || a == "-o" || a == "--output" || a == "--log-level") ++i;  // its value follows
  }
  return "";
}

// The -o/--output value of argv as written, for the errors met before CLI11 has parsed it (an
// unknown command, a bad flag): under -o json they are JSON too.
static std::string output_word(int argc, char** argv) {
  std::string out;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") break;
    if ((a == "-o" || a == "--output") && i + 1 < argc) out = argv[++i];
    else if (a.rfind("--output=", 0) == 0) out = a.substr(9);
    else if (a.rfind("-o", 0) == 0 && a.size() > 2 && a[2] != '-') out = a.substr(2);
  }
  return out;
}

// `orch stauts`: CLI11 would say "The following arguments were not expected"; this names the word
// and the nearest command (core/suggest.hpp, as config keys do). 64 (usage), or -1 when it is a command.
static int unknown_command(const GlobalOptions& g, const std::string& word, const std::vector<std::string>& names) {
  if (word.empty() || std::find(names.begin(), names.end(), word) != names.end()) return -1;
  std::string all;
  for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
  std::string message = "unknown command \"" + word + "\"";
  if (word == "help") message += "; did you mean \"orch --help\"?";
  else if (auto near = nearest(word, names)) message += "; did you mean \"" + *near + "\"?";
  if (structured(g)) return report_error(g, ExitCode::usage, message);
  std::cerr << "orch: " << message << "\nUsage: orch [OPTIONS] COMMAND [ARGS]; commands: " << all << " (orch --help tells more)\n";
  return static_cast<int>(ExitCode::usage);
}

}  // namespace orch::cli

int main(int argc, char** argv) {
  using namespace orch;
  using namespace orch::cli;
  install_crash_report();
  CLI::App app{"orch: control plane for a Docker + Redis content stack (CMS, frontend, Docling, RAG)", "orch"};
  app.set_version_flag("--version", std::string("orch ") + ORCH_VERSION + " (" + git_commit() + ")");
  app.require_subcommand(1);
  app.fallthrough();
  GlobalOptions g;
  app.add_option("-c,--config", g.config_file, "Config file (default: $ORCH_CONFIG, else ./orch.yaml if present)");
  app.add_option("-o,--output", g.output, "Output format")->check(CLI::IsMember({"table", "json", "ndjson"}));
  app.add_flag("-q,--quiet", g.quiet, "Print nothing; the exit code tells the result");
  app.add_option("--log-level", g.log_level, "trace, debug, info, warn, error, critical")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));

  std::vector<Command> sorted = commands();
  std::sort(sorted.begin(), sorted.end(), [](const Command& a, const Command& b) { return a.order < b.order; });
  std::vector<std::pair<CLI::App*, std::function<int()>>> runners;
  for (const auto& c : sorted) {
    CLI::App* sub = nullptr;
    auto run = c.setup(app, g, sub);
    runners.emplace_back(sub, std::move(run));
  }

  std::vector<std::string> names;
  for (const auto& [sub, run] : runners) names.push_back(sub->get_name());
  GlobalOptions as_written;  // -o as written, for the errors before the parse has set g
  as_written.output = output_word(argc, argv);
  if (int rc = unknown_command(as_written, command_word(argc, argv), names); rc >= 0) return rc;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" that exit 0; a real one is 64, as JSON under -o json.
    if (e.get_exit_code() != 0 && structured(as_written)) return report_error(as_written, ExitCode::usage, e.what());
    int rc = app.exit(e);
    return rc == 0 ? 0 : static_cast<int>(ExitCode::usage);
  }
  try {
    for (auto& [sub, run] : runners)
      if (sub->parsed()) return run();
  } catch (const ConfigProblems& e) {
    if (g.quiet) return static_cast<int>(e.code());
    if (structured(g)) {
      // As any error under -o json, with each mistake as {file, line, column, message}.
      json problems = json::array();
      for (const auto& p : e.problems) {
        auto j = p.to_json();
        j["message"] = redacted(p.message);
        problems.push_back(std::move(j));
      }
      print_document(
          g, {{"error",
               {{"message", redacted(e.what())}, {"exit_code", static_cast<int>(e.code())}, {"kind", "config"}, {"problems", problems}}}});
      return static_cast<int>(e.code());
    }
    // One line each, as compilers do (file:line:column: message), so editors can jump to them.
    for (const auto& p : e.problems) std::cerr << (p.file.empty() ? "orch: " : "") << redacted(p.text()) << "\n";
    return static_cast<int>(e.code());
  } catch (const orch::Error& e) {
    return report_error(g, e.code(), redacted(e.what()));
  } catch (const std::exception& e) {
    return report_error(g, ExitCode::unknown, "unexpected error: " + redacted(e.what()));
  }
  return static_cast<int>(ExitCode::usage);
}
