// orch rollback --repo against real git repositories made with the git CLI.
#include <gtest/gtest.h>

#include "core/json.hpp"
#include "support/process.hpp"

using namespace orch;
using namespace orch::test;

namespace {

struct GitRepo {
  TempDir dir;
  std::map<std::string, std::string> env = {{"GIT_AUTHOR_NAME", "dev"}, {"GIT_AUTHOR_EMAIL", "dev@example.com"},
                                            {"GIT_COMMITTER_NAME", "dev"}, {"GIT_COMMITTER_EMAIL", "dev@example.com"}};
  int day = 1;
  std::string git(std::vector<std::string> args) {
    args.insert(args.begin(), {"git", "-C", dir.path()});
    auto r = run(args, env);
    if (r.code != 0) throw std::runtime_error("git failed: " + r.output);
    while (!r.output.empty() && r.output.back() == '\n') r.output.pop_back();
    return r.output;
  }
  void release(const std::string& version) {
    write_file(dir.file("app.txt"), "version " + version + "\n");
    // Distinct commit times so releases order by time.
    env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = "2026-01-0" + std::to_string(day++) + "T12:00:00Z";
    git({"add", "app.txt"});
    git({"commit", "-q", "-m", "release " + version});
    git({"tag", version});
  }
  GitRepo() {
    git({"init", "-q", "-b", "main"});
    release("v1");
    release("v2");
    release("v3");
  }
};

RunResult orch_rollback(std::vector<std::string> args) {
  args.insert(args.begin(), {ORCH_BINARY, "rollback"});
  return run(args, {{"REDIS_URL", ""}, {"ORCH_STATE_DIR", "/tmp/orch-rollback-test-state"}});
}

TEST(GitRollback, CheckoutOneReleaseBack) {
  GitRepo repo;
  auto r = orch_rollback({"--repo", repo.dir.path(), "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.output;
  auto j = json::parse(r.output);
  EXPECT_EQ(j["from"], "v3");
  EXPECT_EQ(j["to"], "v2");
  EXPECT_EQ(read_file(repo.dir.file("app.txt")), "version v2\n");
  EXPECT_EQ(repo.git({"rev-parse", "HEAD"}), repo.git({"rev-parse", "v2^{commit}"}));
  EXPECT_EQ(repo.git({"rev-list", "--count", "main"}), "3");  // history untouched
}

TEST(GitRollback, StepsAndExplicitRef) {
  GitRepo repo;
  ASSERT_EQ(orch_rollback({"--repo", repo.dir.path(), "--steps", "2"}).code, 0);
  EXPECT_EQ(read_file(repo.dir.file("app.txt")), "version v1\n");
  GitRepo other;
  ASSERT_EQ(orch_rollback({"--repo", other.dir.path(), "--to", "v1"}).code, 0);
  EXPECT_EQ(read_file(other.dir.file("app.txt")), "version v1\n");
  EXPECT_EQ(orch_rollback({"--repo", other.dir.path(), "--to", "v9"}).code, 64);
  GitRepo third;
  EXPECT_EQ(orch_rollback({"--repo", third.dir.path(), "--steps", "5"}).code, 64);
}

TEST(GitRollback, RevertAddsACommitWithTheReleaseContent) {
  GitRepo repo;
  auto r = orch_rollback({"--repo", repo.dir.path(), "--mode", "revert", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.output;
  auto j = json::parse(r.output);
  EXPECT_EQ(repo.git({"rev-list", "--count", "main"}), "4");
  EXPECT_EQ(repo.git({"rev-parse", "HEAD"}), j["new_commit"]);
  EXPECT_EQ(repo.git({"show", "HEAD:app.txt"}), "version v2");
  EXPECT_EQ(repo.git({"rev-parse", "HEAD^"}), repo.git({"rev-parse", "v3^{commit}"}));  // on top, nothing rewritten
  EXPECT_NE(repo.git({"log", "-1", "--format=%s"}).find("Revert to v2"), std::string::npos);
  EXPECT_EQ(repo.git({"status", "--porcelain"}), "");
  EXPECT_EQ(read_file(repo.dir.file("app.txt")), "version v2\n");
}

TEST(GitRollback, DirtyTreeRefusedUnlessForced) {
  GitRepo repo;
  write_file(repo.dir.file("app.txt"), "local edit\n");
  auto r = orch_rollback({"--repo", repo.dir.path()});
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("uncommitted changes"), std::string::npos);
  EXPECT_EQ(read_file(repo.dir.file("app.txt")), "local edit\n");
  EXPECT_EQ(orch_rollback({"--repo", repo.dir.path(), "--force"}).code, 0);
  EXPECT_EQ(read_file(repo.dir.file("app.txt")), "version v2\n");
}

TEST(GitRollback, DryRunChangesNothing) {
  GitRepo repo;
  auto head = repo.git({"rev-parse", "HEAD"});
  auto r = orch_rollback({"--repo", repo.dir.path(), "--mode", "revert", "--dry-run", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(json::parse(r.output)["to"], "v2");
  EXPECT_EQ(repo.git({"rev-parse", "HEAD"}), head);
  EXPECT_EQ(read_file(repo.dir.file("app.txt")), "version v3\n");
}

TEST(GitRollback, UsageErrors) {
  EXPECT_EQ(orch_rollback({}).code, 64);
  EXPECT_EQ(orch_rollback({"--repo", "/nonexistent"}).code, 64);
  EXPECT_EQ(orch_rollback({"--repo", "/tmp", "--service", "x"}).code, 64);
}

TEST(GitRollback, DeployCommandRunsAfterARollback) {
  GitRepo repo;
  auto r = run({ORCH_BINARY, "rollback", "--repo", repo.dir.path()},
               {{"REDIS_URL", ""}, {"ROLLBACK_DEPLOY_COMMAND", "cp app.txt deployed.txt"}});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(read_file(repo.dir.file("deployed.txt")), "version v2\n");
  GitRepo failing;
  EXPECT_EQ(run({ORCH_BINARY, "rollback", "--repo", failing.dir.path()}, {{"REDIS_URL", ""}, {"ROLLBACK_DEPLOY_COMMAND", "exit 3"}}).code, 2);
}

}  // namespace
