#include "state/store.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/settings.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "redis/client.hpp"

namespace orch {

void StateStore::update(const std::string& name, const std::function<void(json&)>& change) {
  std::lock_guard lock(update_mu_);
  json doc = load(name);
  change(doc);
  save(name, doc);
}

namespace {

class FileStateStore final : public StateStore {
 public:
  explicit FileStateStore(std::string dir) : dir_(std::move(dir)) {}
  json load(const std::string& name) override {
    const auto p = path(name);
    std::error_code ec;
    if (!std::filesystem::exists(p, ec)) return nullptr;
    // A document that is there but cannot be read is an error, as Redis down is (docs/live.md:
    // /status says why), never an empty document: a quarantine must not vanish unnoticed.
    std::ifstream in(p);
    if (!in || !std::filesystem::is_regular_file(p, ec)) throw UnreachableError("state: cannot read " + p);
    std::stringstream ss;
    ss << in.rdbuf();
    auto j = parse_json(ss.str());
    return j.is_discarded() ? json(nullptr) : j;
  }
  void save(const std::string& name, const json& doc) override {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    const auto tmp = path(name) + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << to_text(doc, 2);
      if (!out) throw Error(ExitCode::unknown, "cannot write state file " + tmp);
    }
    std::filesystem::rename(tmp, path(name));
  }

 private:
  std::string path(const std::string& name) const { return dir_ + "/" + name + ".json"; }
  std::string dir_;
};

class RedisStateStore final : public StateStore {
 public:
  explicit RedisStateStore(const std::string& url) : client_(redis::parse_url(url)) {}
  json load(const std::string& name) override {
    std::lock_guard lock(mu_);
    auto r = client_.command({"GET", "orch:state:" + name});
    if (r.is_nil()) return nullptr;
    auto j = parse_json(r.str);
    return j.is_discarded() ? json(nullptr) : j;
  }
  void save(const std::string& name, const json& doc) override {
    std::lock_guard lock(mu_);
    client_.command({"SET", "orch:state:" + name, to_text(doc)});
  }

 private:
  std::mutex mu_;
  redis::Client client_;  // under mu_
};

}  // namespace

std::unique_ptr<StateStore> make_file_state_store(std::string dir) { return std::make_unique<FileStateStore>(std::move(dir)); }
std::unique_ptr<StateStore> make_redis_state_store(std::string url) { return std::make_unique<RedisStateStore>(std::move(url)); }
std::unique_ptr<StateStore> make_state_store(const Settings& s) {
  if (s.has("REDIS_URL")) return make_redis_state_store(s.str("REDIS_URL"));
  return make_file_state_store(state_dir(s));
}

}  // namespace orch
