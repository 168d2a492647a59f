#pragma once
// Which deploy repositories orch may roll back (ROLLBACK_REPOS): `POST /rollback` names one by its
// configured name or by its exact path, and nothing else on the host is reachable through it (no
// `..`, no relative paths, no other repository). Entries are `name=/path` or a plain `/path`
// (named by its last component), comma-separated; a JSON list or object is accepted too, so the
// config file may write `rollback_repos:` as a YAML list or mapping.
#include <string>
#include <vector>

namespace orch {
class Settings;
}

namespace orch::rollback {

struct RepoEntry {
  std::string name;
  std::string path;  // absolute, as configured (lexically normal, no trailing slash)
};

// The configured repositories. Throws ConfigError for a malformed value or a repeated name.
std::vector<RepoEntry> configured_repos(const Settings& s);

// The canonical path of the configured repository `requested` names: its name, or its path as
// configured or in canonical form, character for character. Throws UsageError for anything else.
std::string resolve_repo(const Settings& s, const std::string& requested);

}  // namespace orch::rollback
