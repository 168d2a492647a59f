#include "support/terminal.hpp"

#include <unistd.h>

#include <atomic>
#include <stdexcept>

#include "support/process.hpp"

namespace orch::test {

bool have_tmux() { return run({"sh", "-c", "command -v tmux"}).code == 0; }

static std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

Terminal::Terminal(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env, int width, int height) {
  static std::atomic<int> n{0};
  socket_ = "orch-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
  // As test::run: the value "\x01unset" removes a variable.
  std::string command = "env", set;
  for (const auto& [k, v] : env) {
    if (v == "\x01unset") command += " -u " + quoted(k);
    else set += " " + quoted(k + "=" + v);
  }
  command += set;
  for (const auto& a : argv) command += " " + quoted(a);
  // The exit status through a file: tmux 3.3 often marks the pane dead without its status. The
  // shell's trap (not an ignore, which the command would inherit) defers Ctrl-C until the command
  // has ended, so the status written is the command's own.
  command = "trap : INT TERM; " + command + "; echo $? > " + quoted(dir_.file("status"));
  // A shell first, then remain-on-exit, then the command: a command that ends at once still
  // leaves its screen to read.
  tmux({"-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", std::to_string(width), "-y", std::to_string(height), "sleep 600"});
  tmux({"set-option", "-t", "t", "remain-on-exit", "on"});
  tmux({"respawn-pane", "-k", "-t", "t", command});
}

Terminal::~Terminal() { run({"tmux", "-L", socket_, "kill-server"}); }

std::string Terminal::tmux(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"tmux", "-L", socket_};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run(argv);
  if (r.code != 0) throw std::runtime_error("tmux " + args.at(0) + ": " + r.output);
  return r.output;
}

std::string Terminal::screen(bool escapes) const {
  // -J: a line longer than the terminal comes back as the one line the program wrote.
  std::vector<std::string> args = {"capture-pane", "-p", "-J", "-t", "t"};
  if (escapes) args.push_back("-e");
  return tmux(args);
}

void Terminal::keys(const std::vector<std::string>& keys) const {
  std::vector<std::string> args = {"send-keys", "-t", "t"};
  args.insert(args.end(), keys.begin(), keys.end());
  tmux(args);
}

bool Terminal::exited() const { return !read_file(dir_.file("status")).empty(); }

int Terminal::exit_status() const { return std::stoi(read_file(dir_.file("status"))); }

}  // namespace orch::test
