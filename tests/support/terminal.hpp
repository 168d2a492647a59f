#pragma once
// A real terminal for the CLI's human output (issue 23: tests drive it as a person would): one
// detached tmux session of a fixed size, on its own server socket, running one command; the screen
// is read back with capture-pane. The pane stays after the command exits, so its last words can
// be read; its exit status is written to a file by the shell around it. The destructor kills the
// session's tmux server.
#include <map>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace orch::test {

bool have_tmux();

class Terminal {
 public:
  // `env` is added to the command's environment (NO_COLOR, DOCKER_HOST, ...); "\x01unset" removes one.
  Terminal(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {}, int width = 100, int height = 40);
  ~Terminal();
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  // The visible screen, lines joined by '\n' (a line wider than the terminal as one line); with
  // `escapes`, the SGR colour sequences too.
  std::string screen(bool escapes = false) const;
  void keys(const std::vector<std::string>& keys) const;  // tmux send-keys, e.g. {"C-c"}
  bool exited() const;
  int exit_status() const;  // valid once exited()

 private:
  std::string tmux(const std::vector<std::string>& args) const;
  TempDir dir_;  // the command's exit status, written by the shell around it
  std::string socket_;
};

}  // namespace orch::test
