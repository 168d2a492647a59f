#pragma once
// A git repository made with the git CLI for tests that roll back or deploy (tests/rollback,
// tests/serve): releases v1..v3, each a commit changing app.txt with its own commit time and a tag.
#include <map>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace orch::test {

struct GitRepo {
  TempDir tmp;
  struct Dir {
    std::string p;
    const std::string& path() const { return p; }
    std::string file(const std::string& name) const { return p + "/" + name; }
  } dir;
  std::map<std::string, std::string> env = {{"GIT_AUTHOR_NAME", "dev"},
                                            {"GIT_AUTHOR_EMAIL", "dev@example.com"},
                                            {"GIT_COMMITTER_NAME", "dev"},
                                            {"GIT_COMMITTER_EMAIL", "dev@example.com"}};
  int day = 1;
  // At `path` (made if missing), else in a fresh temp dir.
  explicit GitRepo(const std::string& path = "");
  // Runs git in the repository; its output without the trailing newline. Throws when git fails.
  std::string git(std::vector<std::string> args);
  // One more release: a commit (distinct commit times, so releases order by time) tagged `version`.
  void release(const std::string& version);
};

}  // namespace orch::test
