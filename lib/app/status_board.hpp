#pragma once
// What `/health`, `/readyz` and the status page report: the latest state of each component
// (redis, docker, ...) and each service, written by the loops that observe them.
#include <map>
#include <mutex>
#include <string>

#include "core/json.hpp"

namespace orch {

enum class Health { ok, degraded, down, off };
const char* to_string(Health h);

class StatusBoard {
 public:
  // `gates_readiness`: /readyz answers 503 while this component is not ok.
  void set_component(const std::string& name, Health health, json detail = json::object(), bool gates_readiness = true);
  void set_service(const std::string& name, Health health, json detail = json::object());

  bool ready() const;
  // {"status": ok|degraded|down, "components": {name: {...}, "services": {name: {...}}}}
  json snapshot() const;

 private:
  struct Entry {
    Health health = Health::off;
    json detail;
    bool gates_readiness = false;
  };
  mutable std::mutex mu_;
  std::map<std::string, Entry> components_;
  std::map<std::string, Entry> services_;
};

}  // namespace orch
