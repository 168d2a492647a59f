// Every setting the code reads by name is one the table declares, read as its kind: a misspelt
// name or `integer("X")` of a duration fails here, naming the file and the line, instead of at
// run time in one path of one command (settings_table.cpp is the one table; Settings' accessors
// parse each kind strictly, core/number.hpp and core/duration.hpp).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "config/settings.hpp"

namespace {

namespace fs = std::filesystem;
using orch::SettingKind;

// The kinds an accessor may read: str() and has() any.
bool readable_as(const std::string& accessor, SettingKind kind) {
  if (accessor == "integer") return kind == SettingKind::integer;
  if (accessor == "boolean") return kind == SettingKind::boolean;
  if (accessor == "duration") return kind == SettingKind::duration;
  return true;
}

TEST(SettingsUse, EveryNameReadIsDeclaredAndReadAsItsKind) {
  const fs::path root = fs::path(ORCH_TESTS_DIR).parent_path();
  const std::regex read(R"re(\.(str|has|integer|boolean|duration|source|display)\("([A-Z][A-Z0-9_]*)"\))re");
  std::string broken;
  int reads = 0;
  for (const char* top : {"lib", "cmd"}) {
    for (const auto& entry : fs::recursive_directory_iterator(root / top)) {
      const auto ext = entry.path().extension();
      if (!entry.is_regular_file() || (ext != ".cpp" && ext != ".hpp")) continue;
      std::ifstream in(entry.path());
      int n = 0;
      for (std::string line; std::getline(in, line);) {
        ++n;
        for (std::sregex_iterator it(line.begin(), line.end(), read), end; it != end; ++it) {
          ++reads;
          const std::string accessor = (*it)[1], name = (*it)[2];
          const auto where = fs::relative(entry.path(), root).generic_string() + ":" + std::to_string(n) + ": ";
          const auto* spec = orch::find_setting(name);
          if (!spec) broken += where + name + " is not in settings_table.cpp\n";
          else if (!readable_as(accessor, spec->kind)) broken += where + accessor + "(\"" + name + "\") reads a setting of another kind\n";
        }
      }
    }
  }
  EXPECT_GT(reads, 100);  // the pattern still finds the reads
  EXPECT_TRUE(broken.empty()) << broken;
}

}  // namespace
