#include "serve/signals.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>

namespace orch {

static sigset_t termination_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR2);  // internal: release the waiter
  return set;
}

void block_termination_signals() {
  sigset_t set = termination_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client that hangs up must not kill the daemon
}

std::thread spawn_signal_waiter(std::function<void(int)> on_signal) {
  return std::thread([on_signal = std::move(on_signal)] {
    sigset_t set = termination_set();
    int sig = 0;
    if (sigwait(&set, &sig) != 0 || sig == SIGUSR2) return;
    on_signal(sig);
    // A second signal while draining means "now".
    if (sigwait(&set, &sig) == 0 && sig != SIGUSR2) std::_Exit(130);
  });
}

void release_signal_waiter(std::thread& waiter) {
  if (!waiter.joinable()) return;
  pthread_kill(waiter.native_handle(), SIGUSR2);
  waiter.join();
}

}  // namespace orch
