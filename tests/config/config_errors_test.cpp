// Issue 23: a config file people can fix in one go. Every mistake is reported at once with its
// file, line and column; unknown keys at every level get the nearest known key; URLs need their
// scheme; `orch config --check` exits 78 with one line per mistake, or a JSON array with -o json.
#include <gtest/gtest.h>

#include <sstream>

#include "config/config.hpp"
#include "core/error.hpp"
#include "support/process.hpp"

using namespace orch;
using orch::test::TempDir;
using orch::test::write_file;

namespace {

// The problems load_config reports for `yaml` (and `env`); none when it loads.
std::vector<ConfigProblem> problems_of(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  TempDir d;
  write_file(d.file("orch.yaml"), yaml);
  ConfigInputs in;
  in.env = std::move(env);
  in.file = d.file("orch.yaml");
  try {
    load_config(in);
  } catch (const ConfigProblems& e) {
    return e.problems;
  }
  return {};
}

std::string messages(const std::vector<ConfigProblem>& all) {
  std::string out;
  for (const auto& p : all) out += p.text() + "\n";
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

}  // namespace

TEST(ConfigErrors, ThreeMistakesAreThreeLinesWithTheirPlaces) {
  TempDir d;
  const std::string file = d.file("orch.yaml");
  write_file(file,
             "services:\n"
             "  web:\n"
             "    url: localhost:3000/health\n"  // 3:10 no scheme
             "    contianer: web\n"              // 4:5 unknown key
             "health_interval: 10s\n"
             "helth_interval: 5s\n");  // 6:1 unknown key
  auto r = orch::test::run({ORCH_BINARY, "config", "--check", "-c", file}, {{"ORCH_CONFIG", ""}});
  EXPECT_EQ(r.code, 78) << r.output;
  const auto lines = lines_of(r.output);
  ASSERT_EQ(lines.size(), 3u) << r.output;
  EXPECT_EQ(lines[0], file +
                          ":3:10: services.web.url: URL \"localhost:3000/health\" has no scheme (http:// or https://); write "
                          "\"http://localhost:3000/health\"");
  EXPECT_EQ(lines[1], file + ":4:5: unknown key \"contianer\" under services.web; did you mean \"container\"?");
  EXPECT_EQ(lines[2], file + ":6:1: unknown key \"helth_interval\"; did you mean \"health_interval\"?");

  // -o json: the same three as {file, line, column, message}, and nothing else on stdout.
  auto j = orch::test::run({ORCH_BINARY, "-o", "json", "config", "--check", "-c", file}, {{"ORCH_CONFIG", ""}});
  EXPECT_EQ(j.code, 78);
  auto arr = json::parse(j.output);
  ASSERT_TRUE(arr.is_array()) << j.output;
  ASSERT_EQ(arr.size(), 3u);
  EXPECT_EQ(arr[1]["file"], file);
  EXPECT_EQ(arr[1]["line"], 4);
  EXPECT_EQ(arr[1]["column"], 5);
  EXPECT_EQ(arr[1]["message"], "unknown key \"contianer\" under services.web; did you mean \"container\"?");
  EXPECT_EQ(arr[2]["line"], 6);
}

TEST(ConfigErrors, UnknownKeysAtEveryLevelGetTheNearestKnownOne) {
  auto all = problems_of(
      "servics: {}\n"                   // top level: a section
      "redis_ur: redis://redis:6379\n"  // top level: a setting
      "services:\n"
      "  rag:\n"
      "    helth: /health\n"                        // a service key
      "    heal: { max_restart: 3, windw: 10m }\n"  // heal keys
      "    image: rag:latest\n");                   // nothing near: no suggestion
  ASSERT_EQ(all.size(), 6u) << messages(all);
  EXPECT_EQ(all[0].message, "unknown key \"servics\"; did you mean \"services\"?");
  EXPECT_EQ(all[0].line, 1);
  EXPECT_EQ(all[1].message, "unknown key \"redis_ur\"; did you mean \"redis_url\"?");
  EXPECT_EQ(all[2].message, "unknown key \"helth\" under services.rag; did you mean \"health\"?");
  EXPECT_EQ(all[2].line, 5);
  EXPECT_EQ(all[3].message, "unknown key \"max_restart\" under services.rag.heal; did you mean \"max_restarts\"?");
  EXPECT_EQ(all[3].line, 6);
  EXPECT_EQ(all[3].column, 13);
  EXPECT_EQ(all[4].message, "unknown key \"windw\" under services.rag.heal; did you mean \"window\"?");
  EXPECT_EQ(all[5].message, "unknown key \"image\" under services.rag");  // nothing near
}

TEST(ConfigErrors, ValuesOfTheWrongKindAreReportedAtTheirLineTogether) {
  auto all = problems_of(
      "port: 5x\n"
      "health_interval: soon\n"
      "services:\n"
      "  web:\n"
      "    url: http://web:3000\n"
      "    health: health\n"
      "    heal: { max_restarts: -1, backoff: fast }\n"
      "    expect: { a: 1 }\n"
      "orch_mcp_read_only: maybe\n"
      "port: 9001\n");  // written twice
  const auto text = messages(all);
  ASSERT_EQ(all.size(), 8u) << text;
  EXPECT_EQ(all[0].line, 1);
  EXPECT_NE(all[0].message.find("PORT"), std::string::npos);
  EXPECT_EQ(all[1].line, 2);
  EXPECT_NE(all[1].message.find("HEALTH_INTERVAL"), std::string::npos);
  EXPECT_EQ(all[2].line, 6);
  EXPECT_EQ(all[2].message, "services.web.health: a path starting with /, as \"/health\"");
  EXPECT_NE(all[3].message.find("services.web.heal.max_restarts"), std::string::npos);
  EXPECT_NE(all[4].message.find("services.web.heal.backoff"), std::string::npos);
  EXPECT_EQ(all[5].line, 8);
  EXPECT_NE(all[5].message.find("services.web.expect: expected a list"), std::string::npos);
  EXPECT_NE(all[6].message.find("ORCH_MCP_READ_ONLY"), std::string::npos);
  EXPECT_EQ(all[7].message, "duplicate key \"port\" (first at line 1)");
  EXPECT_EQ(all[7].line, 10);
}

TEST(ConfigErrors, UrlsNeedTheirScheme) {
  auto file = problems_of(
      "web_api_url: web:3000\n"
      "redis_url: localhost:6379\n"
      "services:\n"
      "  docs:\n"
      "    url: ftp://docs.example.com\n"
      "  api:\n"
      "    url: http://\n");
  ASSERT_EQ(file.size(), 4u) << messages(file);
  EXPECT_EQ(file[0].message, "WEB_API_URL: URL \"web:3000\" has no scheme (http:// or https://); write \"http://web:3000\"");
  EXPECT_EQ(file[1].message, "REDIS_URL: URL has no scheme (redis://)");  // may hold a password: not quoted
  EXPECT_EQ(file[2].message, "services.docs.url: URL \"ftp://docs.example.com\" has the scheme ftp://, expected http:// or https://");
  EXPECT_EQ(file[3].message, "services.api.url: URL \"http://\" has no host");

  // From the environment too (no file, no line), and a secret URL is never shown.
  auto env = problems_of("", {{"RAG_API_URL", "rag:8001"}, {"NOTIFY_WEBHOOK_URL", "hooks.slack.com/services/T0/B0/SECRETPART"}});
  ASSERT_EQ(env.size(), 2u) << messages(env);
  EXPECT_EQ(env[0].line, 0);
  EXPECT_NE(env[0].message.find("RAG_API_URL"), std::string::npos);
  EXPECT_NE(env[1].message.find("NOTIFY_WEBHOOK_URL: URL has no scheme"), std::string::npos);
  EXPECT_EQ(messages(env).find("SECRETPART"), std::string::npos);
  EXPECT_TRUE(problems_of("web_api_url: https://web.example.com\nredis_url: redis://:pw@redis:6379/0\n").empty());
}

TEST(ConfigErrors, SectionsOwnedElsewhereAreKnownAndKept) {
  TempDir d;
  write_file(d.file("orch.yaml"),
             "notify:\n  - type: webhook\n    url: https://hooks.example.com/x\nmaintenance:\n  - window: \"Sun 02:00-04:00\"\n    "
             "services: [web]\n");
  ConfigInputs in;
  in.env = std::map<std::string, std::string>{};
  in.file = d.file("orch.yaml");
  auto cfg = load_config(in);
  ASSERT_EQ(cfg.sections.count("notify"), 1u);
  EXPECT_EQ(cfg.sections["notify"][0]["url"], "https://hooks.example.com/x");
  EXPECT_EQ(cfg.sections["maintenance"][0]["services"][0], "web");
  // Read by their owner (config/alerting.hpp), each entry checked at its own line.
  ASSERT_EQ(cfg.alerting.providers.size(), 1u);
  ASSERT_EQ(cfg.alerting.maintenance.size(), 1u);
  auto bad =
      problems_of("notify:\n  - type: webhook\n    url: https://ok.example.com/x\n  - type: pager\n    url: https://x.example.com\n");
  ASSERT_EQ(bad.size(), 1u) << messages(bad);
  EXPECT_EQ(bad[0].line, 4) << messages(bad);
  EXPECT_EQ(bad[0].message.rfind("line ", 0), std::string::npos) << messages(bad);
  EXPECT_EQ(problems_of("notfy: []\n")[0].message, "unknown key \"notfy\"; did you mean \"notify\"?");
}

TEST(ConfigErrors, YamlSyntaxAndBadConditionsCarryTheirLine) {
  auto syntax = problems_of("port: 9000\nservices:\n  web: [unclosed\n");
  ASSERT_EQ(syntax.size(), 1u);
  EXPECT_GT(syntax[0].line, 0);
  EXPECT_NE(syntax[0].message.find("YAML"), std::string::npos);

  // Conditions are diagnose's: the CLI checks them at their line with the rest of the file.
  TempDir d;
  write_file(
      d.file("orch.yaml"),
      "services:\n  web:\n    url: http://web:3000\n    expect:\n      - \"[STATUS] == 200\"\n      - \"[STATUS] ~~ 2\"\n    helth: /\n");
  auto r = orch::test::run({ORCH_BINARY, "config", "--check", "-c", d.file("orch.yaml")}, {{"ORCH_CONFIG", ""}});
  EXPECT_EQ(r.code, 78);
  const auto lines = lines_of(r.output);
  ASSERT_EQ(lines.size(), 2u) << r.output;
  EXPECT_EQ(lines[0].rfind(d.file("orch.yaml") + ":6:9: services.web.expect: ", 0), 0u) << lines[0];
  EXPECT_EQ(lines[1].rfind(d.file("orch.yaml") + ":7:5: unknown key \"helth\"", 0), 0u) << lines[1];
}

TEST(ConfigErrors, ValuesOfTheWrongShapeAreReportedAtTheirLine) {
  const std::pair<std::string, std::pair<int, std::string>> cases[] = {
      {"services:\n  web:\n    url: [http://a, http://b]\n", {3, "services.web.url: expected a single value, not a list"}},
      {"services:\n  web: [a, b]\n", {2, "services.web: expected a mapping (url:, health:, container:, ...)"}},
      {"services:\n  web:\n    url: http://127.0.0.1:1\n    alert: {failures: 0}\n", {4, "services.web.alert.failures: "}},
      {"- health_interval: 10s\n", {1, "the top level must be a mapping of key: value"}},
  };
  for (const auto& [yaml, want] : cases) {
    auto all = problems_of(yaml);
    ASSERT_EQ(all.size(), 1u) << yaml << messages(all);
    EXPECT_EQ(all[0].line, want.first) << messages(all);
    EXPECT_EQ(all[0].message.rfind(want.second, 0), 0u) << messages(all);
  }
}

TEST(ConfigErrors, AServicesHealOverridesAreShownAsWritten) {
  TempDir d;
  write_file(d.file("orch.yaml"), "services:\n  web:\n    url: http://127.0.0.1:1\n    heal: {backoff: \"2s:1m\", max_restarts: 3}\n");
  ConfigInputs in;
  in.env = std::map<std::string, std::string>{};
  in.file = d.file("orch.yaml");
  auto shown = load_config(in).to_json();
  ASSERT_EQ(shown["services"].size(), 1u) << shown;
  EXPECT_EQ(shown["services"][0]["heal"]["backoff"], "2s:1m") << shown;
  EXPECT_EQ(shown["services"][0]["heal"]["max_restarts"], 3) << shown;
  EXPECT_EQ(shown["services"][0]["source"], "file") << shown;
}
