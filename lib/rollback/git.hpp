#pragma once
// Rolling a deploy repository back to a previous release with libgit2 (SPEC `orch rollback
// --repo`). Releases are tags matching a pattern (default v*), newest first by commit time, or
// plain commits when there are no tags. History is never rewritten: `checkout` moves the worktree
// (detached HEAD) to the release, `revert` adds a commit on top whose tree is the release's.
#include <string>
#include <vector>

#include "core/json.hpp"

namespace orch::rollback {

struct GitOptions {
  std::string repo;
  std::string to;       // a ref, tag or commit; empty = --steps
  int steps = 1;
  std::string mode = "checkout";  // checkout | revert
  bool dry_run = false;
  bool force = false;   // checkout/revert over uncommitted changes
  std::string tag_pattern = "v*";
  std::string author_name = "orch", author_email = "orch@localhost";
};

struct GitResult {
  std::string repo, from, to, mode;
  std::string from_commit, to_commit, new_commit;  // new_commit: the revert commit
  bool dry_run = false;
  json to_json() const;
};

// Throws UsageError (bad options, unknown ref, no earlier release) or OperationError (dirty tree,
// libgit2 failure).
GitResult rollback_repo(const GitOptions& o);

// Releases (tag names) matching the pattern, newest first.
std::vector<std::string> list_releases(const std::string& repo, const std::string& pattern);

}  // namespace orch::rollback
