#pragma once
// Shared pieces of the command line: global options, output selection, config loading, and the
// registry each subcommand file adds itself to.
#include <CLI/CLI.hpp>

#include <functional>
#include <map>
#include <string>

#include "bus/bus.hpp"
#include "config/config.hpp"
#include "core/json.hpp"

namespace orch::cli {

struct GlobalOptions {
  std::string config_file;
  std::string output;  // "", table, json, ndjson
  bool quiet = false;
  std::string log_level;
};

enum class Output { table, json, ndjson };

// -o wins; otherwise a table (on a TTY and elsewhere: scripts ask for json explicitly).
Output output_format(const GlobalOptions& g);
// -o json or -o ndjson: what a script asked for, errors included.
bool structured(const GlobalOptions& g);
// One document on stdout: indented under -o json, one compact line under -o ndjson (so a stream of
// them is one JSON document per line).
void print_document(const GlobalOptions& g, const json& doc);
bool stdout_is_tty();
bool stderr_is_tty();
bool use_colour();  // stdout is a TTY and NO_COLOR is unset
const char* git_commit();  // cmd/commit.cpp

// Loads the configuration with the global --config and the command's own flag overrides
// (setting env name -> value), and sets up logging to stderr. One-shot commands log warnings and
// worse unless a level is asked for (--log-level, ORCH_LOG_LEVEL); the daemon logs at info.
// `default_file` false reads a config file only when --config names one (orch init writes
// ./orch.yaml, and must not need the one it replaces).
Config load(const GlobalOptions& g, std::map<std::string, std::string> flags = {}, bool daemon = false, bool default_file = true);

// The bus a one-shot command publishes to: Redis (with the outbox) when REDIS_URL is set, else
// an in-process bus nobody else reads (events of a one-shot command without Redis stay local).
std::unique_ptr<Bus> make_cli_bus(const Config& cfg);

// A subcommand: `setup` adds it to the root app and returns the function that runs it; the
// function returns the process exit code (SPEC §3) or throws orch::Error.
struct Command {
  std::string name;
  int order;  // position in `orch --help`
  std::function<std::function<int()>(CLI::App& root, GlobalOptions& g, CLI::App*& sub)> setup;
};

struct Registrar {
  explicit Registrar(Command c);
};
const std::vector<Command>& commands();

}  // namespace orch::cli
