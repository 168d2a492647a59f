// orch rollback --repo and POST /rollback against real git repositories made with the git CLI.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/json.hpp"
#include "core/text.hpp"
#include "support/git_repo.hpp"
#include "support/orch_server.hpp"
#include "support/process.hpp"

using namespace orch;
using namespace orch::test;

namespace {

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

TEST(GitRollback, WithoutMatchingTagsHeadTildeNTheTagPatternAndTheRevertAuthor) {
  // docs/rollback.md: releases are tags matching ROLLBACK_TAG_PATTERN (v*); with none, HEAD~N;
  // a revert commit is authored by ROLLBACK_GIT_AUTHOR.
  GitRepo untagged;
  for (const auto& t : {"v1", "v2", "v3"}) untagged.git({"tag", "-d", t});
  auto r = orch_rollback({"--repo", untagged.dir.path(), "--steps", "2", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(json::parse(r.output)["to"], "HEAD~2");
  EXPECT_EQ(read_file(untagged.dir.file("app.txt")), "version v1\n");

  GitRepo patterned;  // v1..v3, plus release-* tags on v1 and v2 only
  patterned.git({"tag", "release-1", "v1"});
  patterned.git({"tag", "release-2", "v2"});
  auto env = std::map<std::string, std::string>{{"REDIS_URL", ""}, {"ROLLBACK_TAG_PATTERN", "release-*"}};
  auto p = run({ORCH_BINARY, "rollback", "--repo", patterned.dir.path(), "-o", "json", "--dry-run"}, env);
  ASSERT_EQ(p.code, 0) << p.output;
  EXPECT_EQ(json::parse(p.output)["to"], "release-2");
  // HEAD is v3, which matches no release-* tag: one step back is release-2, two are release-1.
  auto two = run({ORCH_BINARY, "rollback", "--repo", patterned.dir.path(), "--steps", "2", "-o", "json", "--dry-run"}, env);
  ASSERT_EQ(two.code, 0) << two.output;
  EXPECT_EQ(json::parse(two.output)["to"], "release-1");

  GitRepo authored;
  auto a = run({ORCH_BINARY, "rollback", "--repo", authored.dir.path(), "--mode", "revert"},
               {{"REDIS_URL", ""}, {"ROLLBACK_GIT_AUTHOR", "Release Bot <bot@example.com>"}});
  ASSERT_EQ(a.code, 0) << a.output;
  EXPECT_EQ(authored.git({"log", "-1", "--format=%an <%ae>"}), "Release Bot <bot@example.com>");
  GitRepo by_default;
  ASSERT_EQ(orch_rollback({"--repo", by_default.dir.path(), "--mode", "revert"}).code, 0);
  EXPECT_EQ(by_default.git({"log", "-1", "--format=%an <%ae>"}), "orch <orch@localhost>");
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

// The request's repo path is never shell text: a repository whose path is a shell injection
// payload is rolled back and deployed, and the payload runs nothing (it used to: `cd '<repo>' && …`).
TEST(RepoRollback, AnInjectionPayloadInTheRepoPathRunsNothing) {
  TempDir base;
  const std::string pwned = base.file("PWNED");
  GitRepo repo(base.path() + "/x';touch " + pwned + ";'");
  const std::map<std::string, std::string> env = {
      {"REDIS_URL", ""}, {"DOCKER_HOST", "unix:///nonexistent.sock"}, {"ROLLBACK_REPOS", "evil=" + repo.dir.path()},
      {"ROLLBACK_DEPLOY_COMMAND", "pwd > deployed-in.txt"}};
  OrchServer orch(env);
  auto r = orch.post("/rollback", to_text(json{{"repo", repo.dir.path()}}));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["deploy_exit_code"], 0) << r.body;
  EXPECT_FALSE(std::filesystem::exists(pwned));
  EXPECT_EQ(read_file(repo.dir.file("deployed-in.txt")), repo.dir.path() + "\n");

  // The CLI, too (with and without ROLLBACK_REPOS).
  GitRepo again(base.path() + "/y';touch " + pwned + ";'");
  auto cli = run({ORCH_BINARY, "rollback", "--repo", again.dir.path()},
                 {{"REDIS_URL", ""}, {"ROLLBACK_DEPLOY_COMMAND", "pwd > deployed-in.txt"}});
  EXPECT_EQ(cli.code, 0) << cli.output;
  EXPECT_FALSE(std::filesystem::exists(pwned));
  EXPECT_EQ(read_file(again.dir.file("deployed-in.txt")), again.dir.path() + "\n");
}

// POST /rollback reaches only the repositories in ROLLBACK_REPOS: by name or exact path. Other
// repositories, `..` forms and relative paths are 400 and nothing changes.
TEST(RepoRollback, OnlyListedRepositoriesByNameOrExactPath) {
  TempDir base;
  GitRepo listed(base.path() + "/deploy"), other(base.path() + "/other");
  const auto listed_head = listed.git({"rev-parse", "HEAD"}), other_head = other.git({"rev-parse", "HEAD"});
  std::map<std::string, std::string> env = {{"REDIS_URL", ""}, {"DOCKER_HOST", "unix:///nonexistent.sock"},
                                            {"ROLLBACK_DEPLOY_COMMAND", "pwd > deployed-in.txt; echo deploy-output-line"}};
  {
    OrchServer unconfigured(env);  // no ROLLBACK_REPOS: no repository over HTTP
    auto r = unconfigured.post("/rollback", to_text(json{{"repo", listed.dir.path()}}));
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.body.find("ROLLBACK_REPOS"), std::string::npos) << r.body;
  }
  env["ROLLBACK_REPOS"] = "app=" + listed.dir.path();
  OrchServer orch(env);
  for (const std::string& bad : std::vector<std::string>{other.dir.path(), listed.dir.path() + "/../other", listed.dir.path() + "/../deploy",
                                listed.dir.path() + "/.", "deploy/../other", "../other", "other", "/", listed.dir.path() + "/.."}) {
    auto r = orch.post("/rollback", to_text(json{{"repo", bad}}));
    EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
  }
  EXPECT_EQ(listed.git({"rev-parse", "HEAD"}), listed_head);
  EXPECT_EQ(other.git({"rev-parse", "HEAD"}), other_head);
  EXPECT_FALSE(std::filesystem::exists(other.dir.file("deployed-in.txt")));

  auto by_name = orch.post("/rollback", to_text(json{{"repo", "app"}}));
  ASSERT_EQ(by_name.status, 200) << by_name.body;
  EXPECT_EQ(json::parse(by_name.body)["to"], "v2");
  EXPECT_EQ(read_file(listed.dir.file("app.txt")), "version v2\n");
  EXPECT_EQ(read_file(listed.dir.file("deployed-in.txt")), listed.dir.path() + "\n");  // ran in the repository
  EXPECT_TRUE(eventually([&] { return orch.log().find("rollback deploy: deploy-output-line") != std::string::npos; })) << orch.log();
  auto by_path = orch.post("/rollback", to_text(json{{"repo", listed.dir.path() + "/"}, {"to", "v1"}}));
  EXPECT_EQ(by_path.status, 200) << by_path.body;
  EXPECT_EQ(read_file(listed.dir.file("app.txt")), "version v1\n");

  // The CLI with ROLLBACK_REPOS set: the same list (a usage error outside it); names work.
  std::map<std::string, std::string> cli_env = {{"REDIS_URL", ""}, {"ROLLBACK_REPOS", "app=" + listed.dir.path()}};
  EXPECT_EQ(run({ORCH_BINARY, "rollback", "--repo", other.dir.path()}, cli_env).code, 64);
  EXPECT_EQ(other.git({"rev-parse", "HEAD"}), other_head);
  auto cli = run({ORCH_BINARY, "rollback", "--repo", "app", "--to", "v3", "-o", "json"}, cli_env);
  EXPECT_EQ(cli.code, 0) << cli.output;
  EXPECT_EQ(read_file(listed.dir.file("app.txt")), "version v3\n");
  // A malformed list is a configuration error.
  EXPECT_EQ(run({ORCH_BINARY, "rollback", "--repo", "app"}, {{"REDIS_URL", ""}, {"ROLLBACK_REPOS", "app=relative/path"}}).code, 78);
}

// The deploy command is stopped after ROLLBACK_DEPLOY_TIMEOUT (exit 2, reported as timed out).
TEST(RepoRollback, DeployCommandTimesOut) {
  GitRepo repo;
  const auto started = std::chrono::steady_clock::now();
  auto r = run({ORCH_BINARY, "rollback", "--repo", repo.dir.path(), "-o", "json"},
               {{"REDIS_URL", ""}, {"ROLLBACK_DEPLOY_COMMAND", "echo started; sleep 30"}, {"ROLLBACK_DEPLOY_TIMEOUT", "1s"}});
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(15));
  EXPECT_NE(r.output.find("\"deploy_timed_out\": true"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("deploy: started"), std::string::npos) << r.output;
}

// A deploy command killed by a signal exits 128 + the signal, as a shell reports it; one that
// ignores the SIGTERM of the timeout is killed 5 s later (docs/rollback.md).
TEST(RepoRollback, ADeployCommandKilledBySignalOrDeafToTermIsReportedAndStopped) {
  GitRepo killed;
  auto r = run({ORCH_BINARY, "rollback", "--repo", killed.dir.path(), "-o", "json"},
               {{"REDIS_URL", ""}, {"ROLLBACK_DEPLOY_COMMAND", "kill -9 $$"}});
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("\"deploy_exit_code\": 137"), std::string::npos) << r.output;

  GitRepo deaf;
  const auto started = std::chrono::steady_clock::now();
  r = run({ORCH_BINARY, "rollback", "--repo", deaf.dir.path(), "-o", "json"},
          {{"REDIS_URL", ""}, {"ROLLBACK_DEPLOY_COMMAND", "trap '' TERM; echo started; sleep 30"}, {"ROLLBACK_DEPLOY_TIMEOUT", "1s"}});
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("\"deploy_timed_out\": true"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"deploy_exit_code\": 124"), std::string::npos) << r.output;
  EXPECT_GE(took, std::chrono::seconds(5)) << "SIGKILL only after the grace";
  EXPECT_LT(took, std::chrono::seconds(15));
}

}  // namespace
