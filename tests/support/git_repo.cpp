#include "support/git_repo.hpp"

#include <filesystem>
#include <stdexcept>

namespace orch::test {

GitRepo::GitRepo(const std::string& path) : dir{path.empty() ? tmp.path() : path} {
  std::filesystem::create_directories(dir.path());
  git({"init", "-q", "-b", "main"});
  release("v1");
  release("v2");
  release("v3");
}

std::string GitRepo::git(std::vector<std::string> args) {
  args.insert(args.begin(), {"git", "-C", dir.path()});
  auto r = run(args, env);
  if (r.code != 0) throw std::runtime_error("git failed: " + r.output);
  while (!r.output.empty() && r.output.back() == '\n') r.output.pop_back();
  return r.output;
}

void GitRepo::release(const std::string& version) {
  write_file(dir.file("app.txt"), "version " + version + "\n");
  env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = "2026-01-0" + std::to_string(day++) + "T12:00:00Z";
  git({"add", "app.txt"});
  git({"commit", "-q", "-m", "release " + version});
  git({"tag", version});
}

}  // namespace orch::test
