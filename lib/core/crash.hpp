#pragma once
// What a process of orch leaves on stderr when it dies of a bug (an exception nobody caught, a
// failed check): the reason and the stack of the thread at that moment, so a crash in the field
// names its place. It still dies (abort): a daemon in an unknown state restarts rather than limps.
namespace orch {

// Installs the std::terminate handler; once, early in main.
void install_crash_report();

}  // namespace orch
