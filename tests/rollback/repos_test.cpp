// ROLLBACK_REPOS: the list's forms (env text, a YAML list or mapping in the config file) and what a
// request may name (lib/rollback/repos).
#include "rollback/repos.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "config/config.hpp"
#include "core/error.hpp"
#include "support/process.hpp"

using namespace orch;
using namespace orch::rollback;
using orch::test::TempDir;

namespace {

Config with_repos(const std::string& value) {
  ConfigInputs in;
  in.env = std::map<std::string, std::string>{{"ROLLBACK_REPOS", value}};
  return load_config(in);
}

TEST(RollbackRepos, ListForms) {
  auto repos = configured_repos(with_repos(" deploy=/srv/deploy/ , /srv/site,web=/srv/x/../web ").settings);
  ASSERT_EQ(repos.size(), 3u);
  EXPECT_EQ(repos[0].name, "deploy");
  EXPECT_EQ(repos[0].path, "/srv/deploy");
  EXPECT_EQ(repos[1].name, "site");
  EXPECT_EQ(repos[2].path, "/srv/web");
  EXPECT_TRUE(configured_repos(with_repos("").settings).empty());
  for (const char* bad : {"relative/path", "a=/x,a=/y", "b c=/x", "=", "[1]", "{\"a\": 2}", "[not json"})
    EXPECT_THROW(configured_repos(with_repos(bad).settings), ConfigError) << bad;
}

TEST(RollbackRepos, YamlListOrMappingInTheConfigFile) {
  TempDir dir;
  test::write_file(dir.file("list.yaml"), "rollback_repos:\n  - /srv/site\n  - deploy=/srv/deploy\n");
  test::write_file(dir.file("map.yaml"), "rollback_repos:\n  deploy: /srv/deploy\n");
  ConfigInputs in;
  in.env = std::map<std::string, std::string>{};
  in.file = dir.file("list.yaml");
  auto list = configured_repos(load_config(in).settings);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1].name, "deploy");
  in.file = dir.file("map.yaml");
  auto map = configured_repos(load_config(in).settings);
  ASSERT_EQ(map.size(), 1u);
  EXPECT_EQ(map[0].path, "/srv/deploy");
}

TEST(RollbackRepos, RequestsNameAListedRepositoryExactly) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("real/deploy"));
  std::filesystem::create_directory_symlink(dir.file("real/deploy"), dir.file("deploy"));
  const auto s = with_repos("app=" + dir.file("deploy")).settings;
  const auto canonical = std::filesystem::canonical(dir.file("real/deploy")).string();
  EXPECT_EQ(resolve_repo(s, "app"), canonical);
  EXPECT_EQ(resolve_repo(s, dir.file("deploy")), canonical);
  EXPECT_EQ(resolve_repo(s, dir.file("deploy") + "/"), canonical);
  EXPECT_EQ(resolve_repo(s, canonical), canonical);  // the canonical form of a listed path
  for (const std::string& bad : std::vector<std::string>{"other", "deploy", dir.file("real/../deploy"), dir.file("deploy/."),
                                                         dir.file("deploy/.."), "../deploy", "./app", ""})
    EXPECT_THROW(resolve_repo(s, bad), UsageError) << bad;
  EXPECT_THROW(resolve_repo(with_repos("").settings, "app"), UsageError);
}

}  // namespace
