#pragma once
// Small JSON documents that must outlive a process and be shared between `orch serve` and the
// one-shot commands (quarantine list, release history): in Redis when REDIS_URL is set
// (key orch:state:<name>), else one file per document under ORCH_STATE_DIR.
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "core/json.hpp"

namespace orch {

class Settings;

class StateStore {
 public:
  virtual ~StateStore() = default;
  // The document, or null when there is none. Throws UnreachableError when the store is down.
  virtual json load(const std::string& name) = 0;
  virtual void save(const std::string& name, const json& doc) = 0;
  // load → change → save under the store's lock (a process-local lock for files, WATCH/MULTI-free
  // last-writer-wins for Redis: the documents are small and changes rare).
  void update(const std::string& name, const std::function<void(json&)>& change);

 private:
  std::mutex update_mu_;
};

std::unique_ptr<StateStore> make_file_state_store(std::string dir);
std::unique_ptr<StateStore> make_redis_state_store(std::string redis_url);
// Redis when REDIS_URL is set, else files under state_dir().
std::unique_ptr<StateStore> make_state_store(const Settings& s);

}  // namespace orch
