// scripts/coverage-unwind.py, which scripts/coverage.sh uses to take the unwinding-only branches out
// of gcovr's figure: on a small program built with --coverage it counts the branches gcovr counts,
// and sets apart the cleanup a line's exception would run, not the decisions of a catch handler.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "support/process.hpp"
#include "support/require.hpp"

using namespace orch::test;
using json = nlohmann::json;

namespace coverage_test {

const std::string kRoot = std::string(ORCH_TESTS_DIR) + "/..";

// Builds `source` with --coverage, runs it, and answers gcovr's branches (covered, total) and the
// tool's figures for it.
struct Figures {
  int gcovr_taken = -1, gcovr_total = -1;
  json tool;
};

Figures measure(const std::string& source) {
  TempDir dir;
  std::ofstream(dir.file("p.cpp")) << source;
  const std::string d = dir.path();
  auto build = run(
      {"sh", "-c",
       "c++ -std=c++20 --coverage -O0 -c " + d + "/p.cpp -o " + d + "/p.o && c++ --coverage " + d + "/p.o -o " + d + "/p && " + d + "/p"});
  EXPECT_EQ(build.code, 0) << build.output;
  Figures f;
  auto gcovr = run({"gcovr", "--root", d, "--object-directory", d, "--exclude-throw-branches", "--exclude-unreachable-branches",
                    "--json-summary", d + "/s.json", d});
  EXPECT_EQ(gcovr.code, 0) << gcovr.output;
  auto summary = json::parse(std::ifstream(d + "/s.json"));
  f.gcovr_taken = summary["branch_covered"];
  f.gcovr_total = summary["branch_total"];
  auto tool = run({"python3", kRoot + "/scripts/coverage-unwind.py", d, d, "p.cpp"});
  EXPECT_EQ(tool.code, 0) << tool.output;
  f.tool = json::parse(tool.output).value("p.cpp", json::object());
  return f;
}

const char* kProgram = R"(#include <stdexcept>
#include <string>
#include <vector>
int pick(int x) {
  try {
    std::vector<std::string> v = {"a", std::to_string(x)};
    if (x > 100) throw std::runtime_error("big");
    return static_cast<int>(v.size());
  } catch (const std::exception& e) {
    std::string m = e.what();
    DECISION
    return -2;
  }
}
int main(int argc, char**) { return pick(argc) == 2 && pick(argc + 200) < 0 ? 0 : 1; }
)";

std::string program(const std::string& decision) { return std::regex_replace(kProgram, std::regex("DECISION"), decision); }

TEST(CoverageTool, CountsGcovrsBranchesAndSetsApartOnlyTheUnwindingOnes) {
  ORCH_REQUIRE(run({"sh", "-c", "command -v gcovr c++"}).code == 0) << "gcovr and c++ (scripts/install-deps.sh installs them)";
  // With a decision in the catch handler and without it.
  auto with = measure(program("if (m.size() > 2) return -1;"));
  auto without = measure(program("m.clear();"));
  for (const auto* f : {&with, &without}) {
    // The same branches as gcovr's, so that what is taken out is taken out of gcovr's figure.
    EXPECT_EQ(f->tool.value("branches", -1), f->gcovr_total) << f->tool;
    EXPECT_EQ(f->tool.value("taken", -1), f->gcovr_taken) << f->tool;
    // The cleanup of the vector's initializer list, which only an exception at that line runs.
    EXPECT_GE(f->tool.value("unwind", 0), 2) << f->tool;
  }
  // The handler's if is two branches more, both orch's (one taken), none of them unwinding.
  EXPECT_EQ(with.gcovr_total - without.gcovr_total, 2);
  EXPECT_EQ(with.gcovr_taken - without.gcovr_taken, 1);
  EXPECT_EQ(with.tool["unwind"], without.tool["unwind"]);
  EXPECT_EQ(with.tool["unwind_taken"], without.tool["unwind_taken"]);
}

}  // namespace coverage_test
