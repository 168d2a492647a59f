#include "rollback/repos.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include "config/settings.hpp"
#include "core/error.hpp"
#include "core/json.hpp"

namespace orch::rollback {

namespace fs = std::filesystem;

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

bool valid_name(const std::string& n) {
  return !n.empty() && n != "." && n != ".." &&
         std::all_of(n.begin(), n.end(), [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_' || c == '.'; });
}

std::string normal_path(const std::string& p) {
  std::string n = fs::path(p).lexically_normal().string();
  while (n.size() > 1 && n.back() == '/') n.pop_back();
  return n;
}

RepoEntry entry(std::string name, const std::string& path) {
  name = trim(name);
  const std::string p = trim(path);
  if (p.empty() || p[0] != '/') throw ConfigError("ROLLBACK_REPOS: '" + p + "' is not an absolute path");
  RepoEntry e{name, normal_path(p)};
  if (e.name.empty()) e.name = fs::path(e.path).filename().string();
  if (!valid_name(e.name)) throw ConfigError("ROLLBACK_REPOS: '" + e.name + "' is not a name (letters, digits, - _ .)");
  return e;
}

RepoEntry entry(const std::string& item) {
  const auto eq = item.find('=');
  return eq == std::string::npos ? entry("", item) : entry(item.substr(0, eq), item.substr(eq + 1));
}

}  // namespace

std::vector<RepoEntry> configured_repos(const Settings& s) {
  const std::string value = trim(s.str("ROLLBACK_REPOS"));
  std::vector<RepoEntry> out;
  if (value.empty()) return out;
  if (value[0] == '[' || value[0] == '{') {
    auto j = parse_json(value);
    if (j.is_array()) {
      for (const auto& v : j) {
        if (!v.is_string()) throw ConfigError("ROLLBACK_REPOS: list entries must be paths or name=path");
        out.push_back(entry(v.get<std::string>()));
      }
    } else if (j.is_object()) {
      for (const auto& [k, v] : j.items()) {
        if (!v.is_string()) throw ConfigError("ROLLBACK_REPOS: '" + k + "' must map to a path");
        out.push_back(entry(k, v.get<std::string>()));
      }
    } else {
      throw ConfigError("ROLLBACK_REPOS: not a list of repositories");
    }
  } else {
    size_t pos = 0;
    while (pos <= value.size()) {
      auto comma = value.find(',', pos);
      auto item = trim(value.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
      if (!item.empty()) out.push_back(entry(item));
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
  }
  std::set<std::string> names;
  for (const auto& e : out)
    if (!names.insert(e.name).second) throw ConfigError("ROLLBACK_REPOS: the name '" + e.name + "' is given twice");
  return out;
}

std::string resolve_repo(const Settings& s, const std::string& requested) {
  const auto repos = configured_repos(s);
  if (repos.empty()) throw UsageError("no repository may be rolled back here: list them in ROLLBACK_REPOS");
  const RepoEntry* found = nullptr;
  if (requested.find('/') == std::string::npos) {
    for (const auto& e : repos)
      if (e.name == requested) found = &e;
  } else {
    // The request is compared as text: it is never resolved on the filesystem, so `..`,
    // symlinks and relative forms cannot reach another directory.
    std::string want = requested;
    while (want.size() > 1 && want.back() == '/') want.pop_back();
    for (const auto& e : repos) {
      std::error_code ec;
      const auto canonical = fs::canonical(e.path, ec);
      if (want == e.path || (!ec && want == canonical.string())) found = &e;
    }
  }
  if (!found) throw UsageError("'" + requested + "' is not a repository listed in ROLLBACK_REPOS");
  std::error_code ec;
  const auto canonical = fs::canonical(found->path, ec);
  if (ec) throw UsageError("repository '" + found->name + "' (" + found->path + "): " + ec.message());
  return canonical.string();
}

}  // namespace orch::rollback
