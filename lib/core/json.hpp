#pragma once
#include <nlohmann/json.hpp>

namespace orch {
using json = nlohmann::json;
}
