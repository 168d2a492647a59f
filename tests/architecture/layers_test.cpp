// The layers of ARCHITECTURE.md, enforced: every `#include "folder/..."` in lib/ and cmd/ must
// point into its own folder or to a lower layer; a feature never includes another feature (nor
// mcp, serve or cmd), and of serve/ only the composition root (modules.cpp, daemon.cpp) includes
// features. A broken rule fails here naming the file, the line and the rule.
//
// ORCH_SOURCE_DIR, when set, checks another checkout (to list the violations of an older tree).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

namespace {

namespace fs = std::filesystem;

// ARCHITECTURE.md's layers, lowest first. Within layers 0-4 (infrastructure and the module
// contract) a folder may include a folder of its own layer; features (5) may not.
const std::map<std::string, int> kLayer = {{"core", 0},   {"config", 1},  {"metrics", 1}, {"log", 1},      {"http", 2},     {"redis", 2},
                                           {"docker", 3}, {"bus", 3},     {"state", 3},   {"notify", 3},   {"history", 3},  {"content", 3},
                                           {"app", 4},    {"webhook", 5}, {"heal", 5},    {"rollback", 5}, {"diagnose", 5}, {"pipeline", 5},
                                           {"live", 5},   {"watch", 5},   {"mcp", 6},     {"serve", 7},    {"cmd", 8}};
constexpr int kFeatures = 5;
const std::set<std::string> kCompositionRoot = {"lib/serve/modules.cpp", "lib/serve/daemon.cpp"};

fs::path source_root() {
  if (const char* dir = std::getenv("ORCH_SOURCE_DIR"); dir && *dir) return dir;
  return fs::path(ORCH_TESTS_DIR).parent_path();
}

struct Include {
  std::string file;  // relative to the root
  int line;
  std::string from, to;  // folders
};

std::vector<Include> includes_in(const fs::path& root) {
  std::vector<Include> out;
  const std::regex include(R"re(^\s*#\s*include\s*"([A-Za-z0-9_]+)/)re");
  for (const char* top : {"lib", "cmd"}) {
    for (const auto& entry : fs::recursive_directory_iterator(root / top)) {
      const auto ext = entry.path().extension();
      if (!entry.is_regular_file() || (ext != ".cpp" && ext != ".hpp")) continue;
      const auto rel = fs::relative(entry.path(), root).generic_string();
      const std::string from = std::string(top) == "cmd" ? "cmd" : rel.substr(4, rel.find('/', 4) - 4);
      std::ifstream in(entry.path());
      int n = 0;
      std::smatch m;
      for (std::string line; std::getline(in, line);) {
        ++n;
        if (std::regex_search(line, m, include)) out.push_back({rel, n, from, m[1]});
      }
    }
  }
  return out;
}

// Why `inc` breaks the layers, or "" when it does not.
std::string violation(const Include& inc) {
  const auto from = kLayer.find(inc.from), to = kLayer.find(inc.to);
  if (from == kLayer.end()) return "folder '" + inc.from + "' has no layer (add it to ARCHITECTURE.md and this test)";
  if (to == kLayer.end()) return "folder '" + inc.to + "' has no layer (add it to ARCHITECTURE.md and this test)";
  if (inc.from == inc.to) return "";
  const int a = from->second, b = to->second;
  if (b > a) return "upward: " + inc.from + " (layer " + std::to_string(a) + ") includes " + inc.to + " (layer " + std::to_string(b) + ")";
  if (b == a && a >= kFeatures) return "sideways between features: " + inc.from + " includes " + inc.to;
  if (inc.from == "serve" && b >= kFeatures && !kCompositionRoot.count(inc.file))
    return "only the composition root (serve/modules.cpp, serve/daemon.cpp) includes features; " + inc.file + " includes " + inc.to;
  return "";
}

TEST(Layers, EveryIncludeKeepsToTheLayers) {
  const auto root = source_root();
  ASSERT_TRUE(fs::exists(root / "lib")) << root;
  const auto all = includes_in(root);
  ASSERT_GT(all.size(), 100u) << "too few includes found under " << root;
  std::string broken;
  for (const auto& inc : all)
    if (auto why = violation(inc); !why.empty()) broken += inc.file + ":" + std::to_string(inc.line) + ": " + why + "\n";
  EXPECT_TRUE(broken.empty()) << "includes that break ARCHITECTURE.md's layers:\n" << broken;
}

TEST(Layers, NoTwoFoldersIncludeEachOther) {
  std::map<std::string, std::set<std::string>> edges;
  for (const auto& inc : includes_in(source_root()))
    if (inc.from != inc.to) edges[inc.from].insert(inc.to);
  for (const auto& [a, targets] : edges)
    for (const auto& b : targets) EXPECT_FALSE(edges[b].count(a)) << a << " and " << b << " include each other";
}

TEST(Layers, TheRuleCatchesWhatItShould) {
  EXPECT_NE(violation({"lib/heal/x.cpp", 1, "heal", "mcp"}), "");
  EXPECT_NE(violation({"lib/live/x.cpp", 1, "live", "heal"}), "");
  EXPECT_NE(violation({"lib/docker/x.cpp", 1, "docker", "app"}), "");
  EXPECT_NE(violation({"lib/heal/x.hpp", 1, "heal", "serve"}), "");
  EXPECT_NE(violation({"lib/serve/health_endpoints.cpp", 1, "serve", "heal"}), "");
  EXPECT_NE(violation({"lib/nowhere/x.cpp", 1, "nowhere", "core"}), "");
  EXPECT_EQ(violation({"lib/serve/modules.cpp", 1, "serve", "heal"}), "");
  EXPECT_EQ(violation({"lib/mcp/tools.cpp", 1, "mcp", "heal"}), "");
  EXPECT_EQ(violation({"lib/bus/redis_bus.cpp", 1, "bus", "metrics"}), "");
  EXPECT_EQ(violation({"cmd/watch.cpp", 1, "cmd", "live"}), "");
}

}  // namespace
