#pragma once
// SIGTERM/SIGINT become a clean shutdown: the signals are blocked in every thread (call this
// before starting any) and one waiter thread turns them into a callback.
#include <functional>
#include <thread>

namespace orch {

void block_termination_signals();
// Calls on_signal(signo) from a dedicated thread for the first SIGTERM/SIGINT; a second
// SIGTERM/SIGINT while shutting down exits at once (status 130).
std::thread spawn_signal_waiter(std::function<void(int)> on_signal);
// Wakes the waiter thread so it can be joined when shutdown came from elsewhere.
void release_signal_waiter(std::thread& waiter);

}  // namespace orch
