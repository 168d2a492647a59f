// orch.example.yaml (issue 23) cannot rot: it loads as it is, it loads with every setting it shows
// uncommented, and it names every key of config.cpp's tables and every setting of the table.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <sstream>

#include "config/config.hpp"
#include "config/init.hpp"
#include "support/process.hpp"

using namespace orch;
using orch::test::TempDir;

namespace {

std::string example_path() { return std::string(ORCH_TESTS_DIR) + "/../orch.example.yaml"; }

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The example with each commented-out setting line ("# key: value", key a setting's name) made a
// real one; prose that happens to start "# word:" stays a comment.
std::string uncommented(const std::string& text, std::set<std::string>& keys) {
  std::set<std::string> settings;
  for (const auto& spec : setting_specs()) settings.insert(lower(spec.env));
  const std::regex setting(R"(^# ([a-z_]+):( .*)?$)");
  std::istringstream in(text);
  std::string out;
  std::smatch m;
  for (std::string line; std::getline(in, line);) {
    if (std::regex_match(line, m, setting) && settings.count(m[1])) {
      keys.insert(m[1]);
      line = line.substr(2);
    }
    out += line + "\n";
  }
  return out;
}

Config load_text(const std::string& text) {
  TempDir d;
  test::write_file(d.file("orch.yaml"), text);
  ConfigInputs in;
  in.env = std::map<std::string, std::string>{};
  in.file = d.file("orch.yaml");
  return load_config(in);
}

}  // namespace

TEST(Example, LoadsWithConfigCheck) {
  auto r = test::run({ORCH_BINARY, "config", "--check", "-c", example_path()}, {{"ORCH_CONFIG", ""}});
  EXPECT_EQ(r.code, 0) << r.output;
  auto cfg = load_text(test::read_file(example_path()));
  EXPECT_EQ(cfg.services.size(), 3u);
}

TEST(Example, ShowsEverySettingAndEveryKeyAndAllOfThemLoad) {
  const std::string text = test::read_file(example_path());
  std::set<std::string> shown;
  const std::string all = uncommented(text, shown);
  for (const auto& spec : setting_specs()) {
    const std::string key = lower(spec.env);
    EXPECT_TRUE(shown.count(key)) << key << " is not in orch.example.yaml (as \"# " << key << ": ...\")";
  }
  // Every setting shown, uncommented, is a valid value of its kind.
  Config cfg;
  try {
    cfg = load_text(all);
  } catch (const ConfigError& e) {
    FAIL() << "orch.example.yaml with its settings uncommented: " << e.what();
  }
  EXPECT_EQ(cfg.settings.source("REDIS_URL"), SettingSource::file);
  for (const auto& key : service_keys())
    EXPECT_TRUE(std::regex_search(text, std::regex("\n    " + key + ":"))) << "service key " << key << " is not in orch.example.yaml";
  for (const auto& key : heal_keys())
    EXPECT_TRUE(std::regex_search(text, std::regex("\n      " + key + ":"))) << "heal key " << key << " is not in orch.example.yaml";
  for (const auto& key : top_level_sections())
    EXPECT_NE(text.find(key + ":"), std::string::npos) << "section " << key << " is not in orch.example.yaml";
}

// What orch init writes loads, with what it found; names YAML would misread stay strings.
TEST(InitRender, WritesYamlThatLoadsWithWhatWasFound) {
  InitProject p;
  p.name = "shop";
  p.generated_at = "2026-07-30T08:00:00Z";
  InitService web;
  web.name = "web";
  web.container = "web";
  web.containers = {"shop-web-1", "shop-web-2"};
  web.url = "http://127.0.0.1:3000";
  web.health = "/";
  web.url_from = "published port 3000 -> 3000";
  web.notes = {"inside the compose network: url: http://web:3000"};
  web.labels = {"orch.heal=true"};
  InitService odd;
  odd.name = "on";  // YAML 1.1 reads a plain `on` as true
  odd.container = "on";
  odd.label_advice = {"orch.heal=true to have orch restart it\nsecond line"};
  p.services = {web, odd};
  const std::string text = render_init_yaml(p);
  EXPECT_EQ(text.rfind("# orch.yaml written by `orch init` from the compose project \"shop\" at 2026-07-30T08:00:00Z.\n", 0), 0u) << text;
  EXPECT_NE(text.find("REVIEW"), std::string::npos);
  auto cfg = load_text(text);
  ASSERT_EQ(cfg.services.size(), 2u) << text;
  EXPECT_EQ(cfg.services[0].name, "web");
  EXPECT_EQ(cfg.services[0].url, "http://127.0.0.1:3000");
  EXPECT_EQ(cfg.services[0].health, "/");
  EXPECT_EQ(cfg.services[1].name, "on");
  EXPECT_EQ(cfg.services[1].url, "");
  EXPECT_EQ(cfg.services[1].container, "on");
  EXPECT_NE(text.find("# add label orch.heal=true to have orch restart it second line\n"), std::string::npos) << text;
  EXPECT_TRUE(load_text(render_init_yaml({"empty", "2026-07-30T08:00:00Z", {}})).services.empty());
}
