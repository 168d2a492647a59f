// Every flag the CLI has is in the three completion files and in the subcommand's man page, and
// every man page renders without warnings. Regenerate with: scripts/gen-docs.py build/cmd/orch
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <sstream>

#include "support/process.hpp"
#include "support/require.hpp"

using namespace orch::test;

namespace {

const std::string kRoot = std::string(ORCH_TESTS_DIR) + "/..";

std::vector<std::string> subcommands() {
  auto help = run({ORCH_BINARY, "--help"}).output;
  std::vector<std::string> out;
  bool in_subs = false;
  std::istringstream lines(help);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("Subcommands:", 0) == 0) in_subs = true;
    else if (in_subs && line.size() > 2 && line[0] == ' ') out.push_back(line.substr(2, line.find(' ', 2) - 2));
  }
  return out;
}

std::set<std::string> long_flags(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {ORCH_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--help");
  auto help = run(argv).output;
  std::set<std::string> flags;
  std::regex flag(R"((^|[ ,])(--[a-z][a-z0-9-]*))");
  std::istringstream lines(help);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("  -", 0) != 0) continue;
    auto spec = line.substr(0, std::min<size_t>(line.size(), 30));
    for (std::sregex_iterator it(spec.begin(), spec.end(), flag), end; it != end; ++it) flags.insert((*it)[2]);
  }
  return flags;
}

std::string escaped_for_man(const std::string& flag) { return std::regex_replace(flag, std::regex("-"), "\\-"); }

TEST(Docs, EverySubcommandAndFlagIsInCompletionsAndManPages) {
  const auto bash = read_file(kRoot + "/completions/orch.bash");
  const auto zsh = read_file(kRoot + "/completions/_orch");
  const auto fish = read_file(kRoot + "/completions/orch.fish");
  const auto subs = subcommands();
  ASSERT_GE(subs.size(), 9u);
  const std::string fix = " — run scripts/gen-docs.py build/cmd/orch and commit completions/ and man/";
  for (const auto& cmd : subs) {
    EXPECT_NE(bash.find(cmd), std::string::npos) << "bash completion lacks subcommand " << cmd << fix;
    EXPECT_NE(zsh.find("'" + cmd + ":"), std::string::npos) << "zsh completion lacks subcommand " << cmd << fix;
    EXPECT_NE(fish.find("-a " + cmd + " "), std::string::npos) << "fish completion lacks subcommand " << cmd << fix;
    const auto man = read_file(kRoot + "/man/orch-" + cmd + ".1");
    ASSERT_FALSE(man.empty()) << "man/orch-" << cmd << ".1 is missing" << fix;
    for (const auto& f : long_flags({cmd})) {
      if (f == "--help") continue;
      EXPECT_NE(bash.find(f), std::string::npos) << "bash completion lacks orch " << cmd << " " << f << fix;
      EXPECT_NE(zsh.find("'" + f + "["), std::string::npos) << "zsh completion lacks orch " << cmd << " " << f << fix;
      EXPECT_NE(fish.find("__fish_seen_subcommand_from " + cmd + "' -l " + f.substr(2)), std::string::npos)
          << "fish completion lacks orch " << cmd << " " << f << fix;
      EXPECT_NE(man.find(escaped_for_man(f)), std::string::npos) << "man/orch-" << cmd << ".1 lacks " << f << fix;
    }
  }
  const auto top = read_file(kRoot + "/man/orch.1");
  for (const auto& f : long_flags({})) {
    if (f == "--help") continue;
    EXPECT_NE(top.find(escaped_for_man(f)), std::string::npos) << "man/orch.1 lacks " << f << fix;
    EXPECT_NE(bash.find(f), std::string::npos) << "bash completion lacks " << f << fix;
  }
}

TEST(Docs, ManPagesRenderWithoutWarnings) {
  ORCH_REQUIRE(run({"sh", "-c", "command -v man"}).code == 0) << "man-db not installed";
  for (const auto& cmd : subcommands()) {
    for (const auto& page : {std::string("orch.1"), "orch-" + cmd + ".1"}) {
      auto r = run({"sh", "-c", "MANWIDTH=80 man -l --warnings '" + kRoot + "/man/" + page + "' 2>&1 >/dev/null"});
      EXPECT_EQ(r.code, 0) << page;
      EXPECT_TRUE(r.output.empty()) << page << ": " << r.output;
    }
  }
  auto rendered = run({"sh", "-c", "MANWIDTH=80 man -l '" + kRoot + "/man/orch.1'"}).output;
  EXPECT_NE(rendered.find("EXIT STATUS"), std::string::npos);
  EXPECT_NE(rendered.find("TRUSTED_WEBHOOK_SECRET"), std::string::npos);
}

}  // namespace
