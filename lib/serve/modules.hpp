#pragma once
// The composition root of `orch serve`: the one place (with daemon.cpp) that knows every feature.
#include <memory>
#include <vector>

#include "app/module.hpp"

namespace orch {

// The modules of `orch serve`, in start order (stopped in reverse). Add a new concern here.
std::vector<std::unique_ptr<Module>> make_modules(ServeContext& ctx);

}  // namespace orch
