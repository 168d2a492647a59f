#include "config/config.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "support/orch_server.hpp"
#include "support/process.hpp"

using namespace orch;
using orch::test::TempDir;
using orch::test::write_file;

namespace {
Config load_with(std::map<std::string, std::string> env, std::optional<std::string> file = std::nullopt,
                 std::map<std::string, std::string> flags = {}) {
  ConfigInputs in;
  in.env = std::move(env);
  in.file = std::move(file);
  in.flags = std::move(flags);
  return load_config(in);
}
}  // namespace

TEST(Config, DefaultsWhenNothingIsSet) {
  auto c = load_with({});
  EXPECT_EQ(c.settings.integer("PORT"), 9000);
  EXPECT_EQ(c.settings.str("BIND"), "127.0.0.1");
  EXPECT_EQ(c.settings.source("PORT"), SettingSource::default_value);
  EXPECT_EQ(c.settings.duration("HEALTH_INTERVAL").count(), 30'000);
  EXPECT_TRUE(c.services.empty());
}

TEST(Config, FlagBeatsEnvBeatsFileBeatsDefault) {
  TempDir d;
  write_file(d.file("orch.yaml"), "port: 7001\nbind: 0.0.0.0\nhealth_interval: 5s\norch_log_level: debug\n");
  auto c = load_with({{"PORT", "7002"}, {"BIND", "10.0.0.1"}}, d.file("orch.yaml"), {{"PORT", "7003"}});
  EXPECT_EQ(c.settings.integer("PORT"), 7003);
  EXPECT_EQ(c.settings.source("PORT"), SettingSource::flag);
  EXPECT_EQ(c.settings.str("BIND"), "10.0.0.1");
  EXPECT_EQ(c.settings.source("BIND"), SettingSource::env);
  EXPECT_EQ(c.settings.duration("HEALTH_INTERVAL").count(), 5000);
  EXPECT_EQ(c.settings.source("HEALTH_INTERVAL"), SettingSource::file);
  EXPECT_EQ(c.settings.str("ORCH_LOG_FORMAT"), "text");
  EXPECT_EQ(c.settings.source("ORCH_LOG_FORMAT"), SettingSource::default_value);
}

TEST(Config, SecretFromFileAndMasked) {
  TempDir d;
  write_file(d.file("secret"), "s3cr3t-value-0123456789\n");
  auto c = load_with({{"TRUSTED_WEBHOOK_SECRET_FILE", d.file("secret")}, {"REDIS_URL", "redis://:hunter22@redis:6379/1"}});
  EXPECT_EQ(c.settings.str("TRUSTED_WEBHOOK_SECRET"), "s3cr3t-value-0123456789");
  EXPECT_EQ(c.settings.display("TRUSTED_WEBHOOK_SECRET"), "***");
  EXPECT_EQ(c.settings.display("REDIS_URL"), "redis://:***@redis:6379/1");
  auto dumped = c.to_json().dump();
  EXPECT_EQ(dumped.find("s3cr3t-value-0123456789"), std::string::npos);
  EXPECT_EQ(dumped.find("hunter22"), std::string::npos);
}

// The mask hides what the Redis client reads as the password (the config fuzz harness checks it too).
TEST(Config, RedisPasswordsAreMaskedAsTheClientReadsThem) {
  EXPECT_EQ(mask_url_secret("redis://secretpw@redis:6379"), "redis://***@redis:6379");    // a password without a user
  EXPECT_EQ(mask_url_secret("redis://:p@ss@redis:6379/2"), "redis://:***@redis:6379/2");  // an '@' inside it
  EXPECT_EQ(mask_url_secret("redis://user:pw@redis"), "redis://user:***@redis");
  EXPECT_EQ(mask_url_secret("redis://redis:6379"), "redis://redis:6379");
  EXPECT_EQ(mask_url_secret("http://web:3000/a"), "http://web:3000/a");
}

// A bad file is a ConfigError (exit 78), never yaml-cpp's own exception, and aliases cannot
// expand without end nor refer to themselves (a cycle overflowed the stack).
TEST(Config, OddYamlIsAConfigError) {
  TempDir d;
  for (const std::string text : {"? [complex, key]\n: value\n", "services:\n  ? {a: 1}\n  : {url: x}\n",
                                 "a: &a [x, depends_on: , *a]\nservis: {}\n",  // found by the config fuzz harness
                                 "services:\n  web: &w {url: x, heal: *w}\n",
                                 "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                                 "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                                 "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                                 "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"}) {
    write_file(d.file("orch.yaml"), text);
    EXPECT_THROW(load_with({}, d.file("orch.yaml")), ConfigError) << text;
  }
}

TEST(Config, EnvValueBeatsSecretFile) {
  TempDir d;
  write_file(d.file("secret"), "from-file");
  auto c = load_with({{"ORCH_API_TOKEN", "from-env-0123456789"}, {"ORCH_API_TOKEN_FILE", d.file("secret")}});
  EXPECT_EQ(c.settings.str("ORCH_API_TOKEN"), "from-env-0123456789");
}

TEST(Config, MissingSecretFileIsAConfigError) {
  EXPECT_THROW(load_with({{"ORCH_API_TOKEN_FILE", "/nonexistent/token"}}), ConfigError);
}

TEST(Config, ServicesDerivedFromEnvironment) {
  auto c = load_with({{"WEB_API_URL", "http://web:3000"}, {"RAG_API_URL", "http://rag:8001"}});
  ASSERT_EQ(c.services.size(), 2u);
  EXPECT_EQ(c.services[0].name, "web");
  EXPECT_EQ(c.services[0].container, "web");
  EXPECT_EQ(c.services[0].health, "/health");
  EXPECT_EQ(c.services[1].name, "rag_service");
  EXPECT_EQ(c.services[1].source, SettingSource::env);
}

TEST(Config, ServicesFromFile) {
  TempDir d;
  write_file(d.file("orch.yaml"), R"(
services:
  rag_service:
    url: http://rag_service:8001
    health: /healthz
    expect: ["[STATUS] == 200", "[RESPONSE_TIME] < 500"]
    container: rag
    heal: { max_restarts: 3, window: 10m, backoff: 5s:60s }
    depends_on: [redis]
)");
  auto c = load_with({}, d.file("orch.yaml"));
  const auto* s = c.service("rag_service");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->health, "/healthz");
  EXPECT_EQ(s->expect.size(), 2u);
  EXPECT_EQ(s->container, "rag");
  EXPECT_EQ(*s->heal.max_restarts, 3);
  EXPECT_EQ(s->heal.window->count(), 600'000);
  EXPECT_EQ(s->heal.backoff->min.count(), 5000);
  EXPECT_EQ(s->depends_on, std::vector<std::string>{"redis"});
}

TEST(Config, BadValuesAreConfigErrors) {
  TempDir d;
  write_file(d.file("bad.yaml"), "port: [1, 2\n");
  EXPECT_THROW(load_with({}, d.file("bad.yaml")), ConfigError);
  write_file(d.file("unknown.yaml"), "no_such_setting: 1\n");
  EXPECT_THROW(load_with({}, d.file("unknown.yaml")), ConfigError);
  EXPECT_THROW(load_with({{"PORT", "ninety"}}), ConfigError);
  EXPECT_THROW(load_with({{"HEALTH_INTERVAL", "soon"}}), ConfigError);
  EXPECT_THROW(load_with({}, std::string("/nonexistent/orch.yaml")), ConfigError);
}

// One strict parser per kind, for the environment and the config file alike: the whole text or
// nothing, within the setting's range; every refusal is a ConfigError (exit 78) naming the key.
TEST(Config, NumbersAreReadStrictlyFromEveryPath) {
  TempDir d;
  auto refused = [&](const std::string& yaml, const std::string& key) {
    write_file(d.file("c.yaml"), yaml);
    try {
      load_with({}, d.file("c.yaml")).settings.validate();
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
      return true;
    }
    return false;
  };
  EXPECT_TRUE(refused("port: 5x\n", "PORT"));
  EXPECT_TRUE(refused("port: -1\n", "PORT"));
  EXPECT_TRUE(refused("port: 70000\n", "PORT"));
  EXPECT_TRUE(refused("orch_outbox_max: 99999999999999999999999\n", "ORCH_OUTBOX_MAX"));
  EXPECT_TRUE(refused("pipeline_workers: -2\n", "PIPELINE_WORKERS"));
  EXPECT_TRUE(refused("orch_mcp_read_only: maybe\n", "ORCH_MCP_READ_ONLY"));
  EXPECT_TRUE(refused("services:\n  web: { heal: { max_restarts: 5x } }\n", "services.web.heal.max_restarts"));
  EXPECT_TRUE(refused("services:\n  web: { heal: { max_restarts: -1 } }\n", "services.web.heal.max_restarts"));
  EXPECT_TRUE(refused("services:\n  web: { heal: { max_restarts: 99999999999999999999 } }\n", "services.web.heal.max_restarts"));
  EXPECT_FALSE(refused("port: 0\npipeline_workers: 3\norch_mcp_read_only: YES\n", ""));
  EXPECT_THROW(load_with({{"PORT", "9000 "}}).settings.validate(), ConfigError);
  EXPECT_THROW(load_with({{"ORCH_RATE_LIMIT", "-5"}}).settings.validate(), ConfigError);
  EXPECT_EQ(load_with({{"PORT", "65535"}}).settings.integer("PORT"), 65535);
}

TEST(ConfigCommand, OutOfRangeNumberInTheFileExits78) {
  TempDir d;
  for (const std::string yaml : {"port: 5x\n", "port: -1\n", "services:\n  web: { heal: { max_restarts: 99999999999999999999 } }\n"}) {
    write_file(d.file("c.yaml"), yaml);
    auto r = orch::test::run({ORCH_BINARY, "config", "--check", "--config", d.file("c.yaml")});
    EXPECT_EQ(r.code, 78) << yaml << r.output;
  }
}

// The CLI: `orch config` prints sources, masks secrets, and --check exits 0 / 78.
TEST(ConfigCommand, PrintsJsonWithSourcesAndMasksSecrets) {
  auto r = orch::test::run({ORCH_BINARY, "config", "-o", "json"},
                           {{"TRUSTED_WEBHOOK_SECRET", "topsecret-1-0123456789"}, {"PORT", "9100"}, {"ORCH_CONFIG", ""}});
  ASSERT_EQ(r.code, 0) << r.output;
  auto j = json::parse(r.output);
  EXPECT_EQ(j["settings"]["PORT"]["value"], "9100");
  EXPECT_EQ(j["settings"]["PORT"]["source"], "env");
  EXPECT_EQ(j["settings"]["TRUSTED_WEBHOOK_SECRET"]["value"], "***");
  EXPECT_EQ(r.output.find("topsecret-1-0123456789"), std::string::npos);
}

TEST(ConfigCommand, UrlsThatAreSecretsShowOnlySchemeAndHost) {
  // A Slack incoming-webhook URL is a secret in its path; a `?token=` in its query.
  const std::string slack = "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX";
  const std::string rebuild = "https://ci.example.com:8443/hook?token=ci-secret-token";
  auto r = orch::test::run({ORCH_BINARY, "config", "-o", "json"},
                           {{"NOTIFY_WEBHOOK_URL", slack}, {"REBUILD_WEBHOOK_URL", rebuild}, {"ORCH_CONFIG", ""}});
  ASSERT_EQ(r.code, 0) << r.output;
  auto j = json::parse(r.output);
  EXPECT_EQ(j["settings"]["NOTIFY_WEBHOOK_URL"]["value"], "https://hooks.slack.com/***");
  EXPECT_EQ(j["settings"]["REBUILD_WEBHOOK_URL"]["value"], "https://ci.example.com:8443/***");
  EXPECT_EQ(r.output.find("XXXXSECRETXXXX"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("ci-secret-token"), std::string::npos) << r.output;
  auto table = orch::test::run({ORCH_BINARY, "config"}, {{"NOTIFY_WEBHOOK_URL", slack}, {"ORCH_CONFIG", ""}});
  EXPECT_EQ(table.output.find("XXXXSECRETXXXX"), std::string::npos) << table.output;
  EXPECT_EQ(mask_url_beyond_host("https://user:pw@hooks.example.com/x?y=1"), "https://***@hooks.example.com/***");
  EXPECT_EQ(mask_url_beyond_host("https://hooks.example.com"), "https://hooks.example.com");
  EXPECT_EQ(mask_url_beyond_host("not a url"), "***");
}

TEST(ConfigCommand, CheckExitCodes) {
  TempDir d;
  write_file(d.file("good.yaml"), "health_interval: 10s\n");
  write_file(d.file("bad.yaml"), "health_interval: whenever\n");
  EXPECT_EQ(orch::test::run({ORCH_BINARY, "config", "--check", "--config", d.file("good.yaml")}).code, 0);
  auto bad = orch::test::run({ORCH_BINARY, "config", "--check", "--config", d.file("bad.yaml")});
  EXPECT_EQ(bad.code, 78);
  EXPECT_NE(bad.output.find("HEALTH_INTERVAL"), std::string::npos) << bad.output;
}

TEST(Cli, UsageErrorsExit64AndVersionWorks) {
  EXPECT_EQ(orch::test::run({ORCH_BINARY, "no-such-command"}).code, 64);
  EXPECT_EQ(orch::test::run({ORCH_BINARY, "config", "--no-such-flag"}).code, 64);
  auto v = orch::test::run({ORCH_BINARY, "--version"});
  EXPECT_EQ(v.code, 0);
  EXPECT_NE(v.output.find("orch 0."), std::string::npos);
  EXPECT_EQ(orch::test::run({ORCH_BINARY, "version", "-o", "json"}).code, 0);
}

// Issue 23: a misspelt command is named, with the nearest command (core/suggest.hpp), exit 64.
TEST(Cli, UnknownCommandSuggestsTheNearest) {
  auto r = orch::test::run({ORCH_BINARY, "diagnos"});
  EXPECT_EQ(r.code, 64);
  EXPECT_EQ(r.output.rfind("orch: unknown command \"diagnos\"; did you mean \"diagnose\"?\nUsage: orch", 0), 0u) << r.output;
  EXPECT_NE(r.output.find("sync-test"), std::string::npos) << r.output;  // the commands are listed
  // After global options and their values, too; under -o json the error is JSON, as every error.
  auto after = orch::test::run({ORCH_BINARY, "-o", "json", "--config", "/nonexistent", "rollbak", "--dry-run"});
  EXPECT_EQ(after.code, 64);
  const auto j = json::parse(after.output);
  EXPECT_EQ(j["error"]["message"], "unknown command \"rollbak\"; did you mean \"rollback\"?") << after.output;
  EXPECT_EQ(j["error"]["kind"], "usage");
  // A flag CLI11 refuses, under -o ndjson: one compact line of JSON; --help still prints help.
  auto flag = orch::test::run({ORCH_BINARY, "--output=ndjson", "heal", "--frobnicate"});
  EXPECT_EQ(flag.code, 64);
  EXPECT_EQ(flag.output.find('\n'), flag.output.size() - 1) << flag.output;
  EXPECT_EQ(json::parse(flag.output)["error"]["exit_code"], 64) << flag.output;
  auto help = orch::test::run({ORCH_BINARY, "-o", "json", "heal", "--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.output.find("Usage: orch heal"), std::string::npos) << help.output;
  auto far = orch::test::run({ORCH_BINARY, "frobnicate"});
  EXPECT_EQ(far.code, 64);
  EXPECT_EQ(far.output.find("did you mean"), std::string::npos) << far.output;
  EXPECT_EQ(orch::test::run({ORCH_BINARY, "-q", "version"}).code, 0);  // a real command still runs
}

// README: the config file is --config, else $ORCH_CONFIG, else ./orch.yaml if present; secrets may
// name a file in it (`trusted_webhook_secret_file:`), and orch serve uses what that file holds.
TEST(ConfigCommand, TheFileIsFlagThenOrchConfigThenDotSlashOrchYamlAndItsSecretFilesAreRead) {
  TempDir d;
  write_file(d.file("secret"), "file-held-secret-0123456789\n");
  write_file(d.file("orch.yaml"), "port: 7101\ntrusted_webhook_secret_file: " + d.file("secret") + "\n");
  write_file(d.file("env.yaml"), "port: 7102\n");
  write_file(d.file("flag.yaml"), "port: 7103\n");
  auto config_in = [&](const std::string& flags, std::map<std::string, std::string> env) {
    auto r = orch::test::run({"sh", "-c", "cd '" + d.path() + "' && exec " + ORCH_BINARY + " config -o json " + flags}, env);
    EXPECT_EQ(r.code, 0) << r.output;
    return json::parse(r.output.substr(r.output.find('{')));
  };
  auto found = config_in("", {{"ORCH_CONFIG", ""}});
  EXPECT_EQ(found["settings"]["PORT"]["value"], "7101");
  EXPECT_EQ(found["settings"]["PORT"]["source"], "file");
  EXPECT_EQ(found["settings"]["TRUSTED_WEBHOOK_SECRET"]["value"], "***");
  EXPECT_EQ(found["settings"]["TRUSTED_WEBHOOK_SECRET"]["source"], "file");
  EXPECT_EQ(found.dump().find("file-held-secret"), std::string::npos);
  EXPECT_EQ(config_in("", {{"ORCH_CONFIG", d.file("env.yaml")}})["settings"]["PORT"]["value"], "7102");
  EXPECT_EQ(config_in("--config " + d.file("flag.yaml"), {{"ORCH_CONFIG", d.file("env.yaml")}})["settings"]["PORT"]["value"], "7103");
  // Elsewhere, without the file, the default.
  TempDir empty;
  auto r = orch::test::run({"sh", "-c", "cd '" + empty.path() + "' && exec " + ORCH_BINARY + " config -o json"}, {{"ORCH_CONFIG", ""}});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(json::parse(r.output)["settings"]["PORT"]["source"], "default");

  // orch serve takes the secret from the file the YAML names.
  orch::test::OrchServer orch({{"REDIS_URL", ""}, {"ORCH_CONFIG", d.file("orch.yaml")}, {"DOCKER_HOST", "unix:///nonexistent.sock"}});
  const std::string body = R"({"modelName":"page","operation":"publish","newValue":{"id":"cfg-1","lastUpdated":1}})";
  EXPECT_EQ(orch.post("/webhook/builder", body, {{"x-builder-secret", "file-held-secret-0123456789"}}).status, 202);
  EXPECT_EQ(orch.post("/webhook/builder", body, {{"x-builder-secret", "another-secret-0123456789"}}).status, 401);
}
