// Incidents, one-shot alerts from the bus, silences and maintenance windows (docs/alerting.md),
// on the real Alerter with the in-process bus, a file state store and a local receiver.
#include <gtest/gtest.h>

#include "bus/bus.hpp"
#include "config/config.hpp"
#include "core/error.hpp"
#include "notify/alerter.hpp"
#include "state/store.hpp"
#include "support/process.hpp"
#include "support/receivers.hpp"

namespace orch {
namespace {

using namespace std::chrono_literals;

notify::Signal probe(bool bad, int failures = 2, int recoveries = 2) {
  notify::Signal s;
  s.key = "service:web";
  s.bad = bad;
  s.type = "service.down";
  s.severity = Severity::critical;
  s.subject = s.service = "web";
  s.what = bad ? "web is down" : "web is up again";
  s.failures = failures;
  s.recoveries = recoveries;
  return s;
}

TEST(Incidents, OneFiringAfterTheThresholdAndOneResolvedAfterTheRecoveries) {
  notify::IncidentTracker t;
  std::vector<Alert> out;
  long long now = 1'700'000'000'000;
  auto feed = [&](bool bad, int n, int failures = 3, int recoveries = 2) {
    for (int i = 0; i < n; ++i)
      if (auto a = t.observe(probe(bad, failures, recoveries), now += 1000)) out.push_back(*a);
  };
  feed(true, 2);  // below the threshold of 3
  EXPECT_TRUE(out.empty());
  feed(false, 1);  // the streak breaks
  feed(true, 2);
  EXPECT_TRUE(out.empty());
  feed(true, 50);  // the third in a row fires; the 49 after it say nothing
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status, "firing");
  EXPECT_TRUE(t.is_open("service:web"));
  feed(false, 1);
  feed(true, 1);  // one good probe between bad ones does not resolve
  feed(false, 1);
  EXPECT_EQ(out.size(), 1u);
  feed(false, 40);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].status, "resolved");
  EXPECT_EQ(out[1].incident_id, out[0].incident_id);
  EXPECT_FALSE(out[1].ends_at.empty());
  EXPECT_FALSE(t.is_open("service:web"));
}

TEST(Incidents, AContainerRemovedWhileUnhealthyResolves) {
  notify::IncidentTracker t;
  auto s = probe(true, 1);
  s.key = "container:web-1";
  ASSERT_TRUE(t.observe(s, 1000));
  auto closed = t.close_missing("container:", {"container:other"}, 2000);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].status, "resolved");
  EXPECT_TRUE(t.close_missing("container:", {}, 3000).empty());
}

TEST(MaintenanceWindows, WeeklyDaysAndMidnight) {
  using namespace std::chrono;
  // 2024-01-07 was a Sunday.
  const auto sunday = sys_days{2024y / 1 / 7};
  auto w = parse_window("Sun 02:00-04:00");
  EXPECT_TRUE(w.active_at(sunday + 2h));
  EXPECT_TRUE(w.active_at(sunday + 3h + 59min));
  EXPECT_FALSE(w.active_at(sunday + 4h));
  EXPECT_FALSE(w.active_at(sunday + days(1) + 3h));  // Monday
  EXPECT_EQ(w.ends_after(sunday + 3h), sunday + 4h);
  auto night = parse_window("Sat 23:00-01:00");  // into Sunday
  EXPECT_TRUE(night.active_at(sunday + 30min));
  EXPECT_FALSE(night.active_at(sunday + 2h));
  auto weekdays = parse_window("Mon-Fri 12:00-13:00");
  EXPECT_TRUE(weekdays.active_at(sunday + days(5) + 12h + 30min));   // Friday
  EXPECT_FALSE(weekdays.active_at(sunday + days(6) + 12h + 30min));  // Saturday
  EXPECT_TRUE(parse_window("daily 03:00-03:15").active_at(sunday + days(3) + 3h + 5min));
  for (const char* bad : {"Sun", "Sun 02:00", "Funday 01:00-02:00", "Sun 25:00-26:00", "Sun 02:00-02:00", "Sun 2:00-4:00"})
    EXPECT_THROW(parse_window(bad), ConfigError) << bad;
}

// Each YAML is refused with a ConfigError holding `want` (its "file:line:column: message") and,
// when given, never `secret`.
template <typename Cases>
void expect_each_refused(const std::string& path, const ConfigInputs& in, const Cases& bad, const std::string& secret = "") {
  for (const auto& [yaml, want] : bad) {
    test::write_file(path, yaml);
    try {
      load_config(in);
      ADD_FAILURE() << "accepted: " << yaml;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
      if (!secret.empty()) {
        EXPECT_EQ(std::string(e.what()).find(secret), std::string::npos) << e.what();
      }
    }
  }
}

TEST(AlertConfig, ProvidersAndWindowsFromTheFileWithTheirLines) {
  test::TempDir dir;
  const auto path = dir.file("orch.yaml");
  test::write_file(path, R"(services:
  web:
    url: http://127.0.0.1:1
    alert: {failures: 3, recoveries: 1}
notify:
  - type: slack
    url: https://hooks.slack.com/services/T000/B000/XXXXSECRET
    events: ["service.*", heal.]
    min_severity: warning
  - type: email
    url: smtp://127.0.0.1:2525
    from: orch@example.org
    to: [ops@example.org]
maintenance:
  - services: [web]
    window: "Sun 02:00-04:00"
    reason: backups
)");
  ConfigInputs in;
  in.file = path;
  in.env = std::map<std::string, std::string>{};
  auto cfg = load_config(in);
  ASSERT_EQ(cfg.alerting.providers.size(), 2u);
  EXPECT_EQ(cfg.alerting.providers[0].name, "slack-1");
  EXPECT_EQ(cfg.alerting.providers[0].events, (std::vector<std::string>{"service.", "heal."}));
  EXPECT_EQ(cfg.alerting.providers[0].line, 6);
  EXPECT_EQ(*cfg.service("web")->alert_failures, 3);
  ASSERT_EQ(cfg.alerting.maintenance.size(), 1u);
  EXPECT_EQ(cfg.alerting.maintenance[0].reason, "backups");
  // The URL is a secret: `orch config -o json` shows scheme and host only.
  const auto shown = cfg.to_json().dump();
  EXPECT_EQ(shown.find("XXXXSECRET"), std::string::npos);
  EXPECT_NE(shown.find("https://hooks.slack.com/***"), std::string::npos);

  // Fail closed, with the line, never quoting the URL.
  // Each problem is "file:line:column: message" (the config's one form for every mistake).
  const std::pair<const char*, const char*> bad[] = {
      {"notify:\n  - type: slack\n    url: hooks.slack.com/services/SECRET\n", ":2:5: notify[0].url: no scheme"},
      {"notify:\n  - type: slack\n", ":2:5: notify[0].url: empty"},
      {"notify:\n  - type: pager\n    url: https://x\n", "notify[0].type"},
      {"notify:\n  - type: email\n    url: https://x\n    from: a@b\n    to: c@d\n", "is not smtp://"},
      {"\nmaintenance:\n  - window: \"Sun 02:00\"\n", ":3:5: maintenance: window 'Sun 02:00'"},
  };
  expect_each_refused(path, in, bad, "SECRET");
  in.env = std::map<std::string, std::string>{{"NOTIFY_WEBHOOK_URL", "example.org/hook"}};
  test::write_file(path, "");
  EXPECT_THROW(load_config(in), ConfigError);
}

TEST(AlertConfig, SecretsFromFilesAndVariablesAndTheirMistakes) {
  test::TempDir dir;
  const auto path = dir.file("orch.yaml");
  // Docker secrets end with a newline; the value is what is between the blanks.
  test::write_file(dir.file("hook-url"), "  https://hooks.example.org/T000/FILESECRET\n");
  test::write_file(dir.file("smtp-password"), "mail-pass\n");
  ::setenv("ORCH_TEST_NTFY_URL", "https://ntfy.example.org/ENVSECRET", 1);
  test::write_file(path,
                   "notify:\n"
                   "  - type: webhook\n"
                   "    url_file: " +
                       dir.file("hook-url") +
                       "\n"
                       "  - type: ntfy\n"
                       "    name: phone\n"
                       "    url_env: ORCH_TEST_NTFY_URL\n"
                       "    min_severity: critical\n"
                       "  - type: email\n"
                       "    url: smtp://127.0.0.1:2525\n"
                       "    from: orch@example.org\n"
                       "    to: ops@example.org\n"
                       "    username: orch\n"
                       "    password_file: " +
                       dir.file("smtp-password") +
                       "\n"
                       "    starttls: true\n");
  ConfigInputs in;
  in.file = path;
  in.env = std::map<std::string, std::string>{};
  auto cfg = load_config(in);
  ASSERT_EQ(cfg.alerting.providers.size(), 3u);
  EXPECT_EQ(cfg.alerting.providers[0].url, "https://hooks.example.org/T000/FILESECRET");
  EXPECT_EQ(cfg.alerting.providers[1].name, "phone");
  EXPECT_EQ(cfg.alerting.providers[1].url, "https://ntfy.example.org/ENVSECRET");
  EXPECT_FALSE(cfg.alerting.providers[1].wants("service.down", Severity::warning));
  EXPECT_TRUE(cfg.alerting.providers[1].wants("service.down", Severity::critical));
  const auto& mail = cfg.alerting.providers[2];
  EXPECT_EQ(mail.to, std::vector<std::string>{"ops@example.org"});
  EXPECT_EQ(mail.password, "mail-pass");
  EXPECT_TRUE(mail.starttls);
  const auto shown = cfg.to_json().dump();
  for (const char* secret : {"FILESECRET", "ENVSECRET", "mail-pass"}) EXPECT_EQ(shown.find(secret), std::string::npos) << secret;

  ::unsetenv("ORCH_TEST_NTFY_URL");
  const std::pair<std::string, const char*> bad[] = {
      {"notify:\n  - type: webhook\n    url_file: " + dir.file("missing") + "\n", ":2:5: notify[0].url_file: cannot read '"},
      {"notify:\n  - type: ntfy\n    url_env: ORCH_TEST_NTFY_URL\n", ":2:5: notify[0].url_env: ORCH_TEST_NTFY_URL is not set"},
      {"notify:\n  - type: slack\n    url: https://x\n    min_severity: loud\n",
       ":2:5: notify[0].min_severity: must be info, warning or critical, got 'loud'"},
      {"notify:\n  - type: email\n    url: smtp://x\n    from: a@b\n    to: c@d\n    starttls: maybe\n",
       ":2:5: notify[0].starttls: must be true or false"},
      {"notify:\n  - type: slack\n    url: https://x\n    chanel: ops\n", "unknown key 'chanel'"},
      {"notify:\n  - type: slack\n    url: https://x\n    to: [ops@example.org]\n",
       ":2:5: notify[0]: from, to, password and starttls are for type email only"},
      {"maintenance:\n  - window: \"Sun 02:00-04:00\"\n    service: [web]\n", "unknown key 'service'"},
  };
  expect_each_refused(path, in, bad);
}

struct AlerterTest : ::testing::Test {
  test::TempDir dir;
  test::HttpReceiver receiver;
  std::unique_ptr<Bus> bus = make_memory_bus();
  std::unique_ptr<StateStore> state = make_file_state_store(dir.path());
  Config cfg;
  std::unique_ptr<Notifier> notifier;
  std::unique_ptr<notify::Alerter> alerter;

  void start(std::vector<MaintenanceWindow> windows = {}) {
    NotifyProvider p;
    p.name = p.type = "webhook";
    p.url = receiver.url();
    cfg.alerting.providers = {p};
    cfg.alerting.maintenance = std::move(windows);
    NotifierOptions o;
    o.retry_delay = 50ms;
    notifier = std::make_unique<Notifier>(cfg.alerting.providers, o);
    alerter = std::make_unique<notify::Alerter>(cfg, *bus, *state, *notifier, SystemClock::instance());
    alerter->start();
  }
  std::vector<std::string> received() {
    notifier->drain();
    std::vector<std::string> out;
    for (const auto& r : receiver.requests()) {
      auto b = json::parse(r.body);
      out.push_back(b["alerts"][0]["labels"]["alertname"].get<std::string>() + " " + b["status"].get<std::string>());
    }
    return out;
  }
};

TEST_F(AlerterTest, ServiceProbesMakeOneFiringAndOneResolved) {
  start();
  for (int i = 0; i < 20; ++i) alerter->observe_service("web", "down", "connection refused");
  for (int i = 0; i < 20; ++i) alerter->observe_service("web", "up", "HTTP 200");
  EXPECT_EQ(received(), (std::vector<std::string>{"service.down firing", "service.down resolved"}));
  EXPECT_TRUE(alerter->status()["incidents"].empty());
}

TEST_F(AlerterTest, OneShotEventsFromTheBus) {
  start();
  bus->publish(
      make_event("heal.quarantined", "web-1", {{"container", "web-1"}, {"service", "web"}, {"reason", "5 restarts"}, {"attempt", 5}}));
  bus->publish(make_event("heal.restarted", "web-1", {{"container", "web-1"}}));                              // not paged on
  bus->publish(make_event("ingest.failed", "page/1", {{"stage", "rag"}, {"attempt", 1}, {"final", false}}));  // a retry follows
  bus->publish(make_event("ingest.failed", "page/1", {{"stage", "rag"}, {"attempt", 5}, {"final", true}, {"error", "HTTP 500"}}));
  bus->publish(make_event("rollback.failed", "web", {{"service", "web"}, {"error", "no image"}}));
  bus->publish(make_event("synctest.failed", "page/x",
                          {{"stages", json::array({{{"name", "webhook"}, {"ok", true}}, {{"name", "rag"}, {"ok", false}}})}}));
  EXPECT_EQ(received(), (std::vector<std::string>{"heal.quarantined firing", "ingest.failed firing", "rollback.failed firing",
                                                  "synctest.failed firing"}));
  auto q = json::parse(receiver.requests()[0].body);
  EXPECT_EQ(q["text"], "[CRITICAL] orch quarantined web-1 (5 restarts); lift with: orch heal --reset web-1");
  auto s = json::parse(receiver.requests()[3].body);
  EXPECT_NE(s["text"].get<std::string>().find("at stage rag"), std::string::npos) << s["text"];
}

TEST_F(AlerterTest, OnlyTheLeaderSendsAndANewLeaderResolves) {
  start();
  bool leading = false;
  alerter->set_leader_check([&] { return leading; });
  for (int i = 0; i < 5; ++i) alerter->observe_service("web", "down", "refused");
  bus->publish(make_event("heal.failed", "web-1", {{"container", "web-1"}, {"error", "x"}}));
  EXPECT_TRUE(received().empty());
  leading = true;  // took over: it resolves the incident the old leader announced
  for (int i = 0; i < 5; ++i) alerter->observe_service("web", "up", "HTTP 200");
  EXPECT_EQ(received(), (std::vector<std::string>{"service.down resolved"}));
}

TEST_F(AlerterTest, ASilenceHoldsTheFiringAndItsResolved) {
  start();
  auto sil = alerter->silences().add("web", 1h, "deploying", SystemClock::instance().now().time_since_epoch().count());
  auto st = alerter->status();
  ASSERT_EQ(st["silences"].size(), 1u);
  EXPECT_EQ(st["silences"][0]["service"], "web");
  EXPECT_EQ(st["silences"][0]["reason"], "deploying");
  EXPECT_EQ(st["silences"][0]["source"], "silence");
  for (int i = 0; i < 5; ++i) alerter->observe_service("web", "down", "refused");
  bus->publish(make_event("heal.failed", "web-1", {{"container", "web-1"}, {"service", "web"}, {"error", "x"}}));
  for (int i = 0; i < 5; ++i) alerter->observe_service("web", "up", "HTTP 200");
  EXPECT_TRUE(received().empty());
  // Another service is not silenced.
  for (int i = 0; i < 2; ++i) alerter->observe_service("rag_service", "down", "refused");
  EXPECT_EQ(received(), (std::vector<std::string>{"service.down firing"}));
  // A silence lifted while the service is still down: the next bad probe sends the firing.
  for (int i = 0; i < 2; ++i) alerter->observe_service("web", "down", "refused");
  EXPECT_EQ(alerter->silences().remove(sil.id, 0), 1);
  alerter->observe_service("web", "down", "refused");
  EXPECT_EQ(received(), (std::vector<std::string>{"service.down firing", "service.down firing"}));
}

TEST_F(AlerterTest, ARestartInTheMiddleOfAnIncidentNeitherPagesAgainNorForgetsToResolve) {
  ServiceSpec web;
  web.name = "web";
  cfg.services = {web};
  start();
  for (int i = 0; i < 3; ++i) alerter->observe_service("web", "down", "refused");
  for (int i = 0; i < 3; ++i) alerter->observe_service("old", "down", "refused");  // not configured after the restart
  EXPECT_EQ(received(), (std::vector<std::string>{"service.down firing", "service.down firing"}));
  // orch restarts (the same state store, as Redis or ORCH_STATE_DIR keeps it).
  alerter.reset();
  notifier.reset();
  cfg.services = {web};
  start();
  const auto open = alerter->status()["incidents"];
  ASSERT_EQ(open.size(), 1u) << open;  // "old" has no probe left to resolve it: dropped
  EXPECT_EQ(open[0]["subject"], "web");
  for (int i = 0; i < 5; ++i) alerter->observe_service("web", "down", "refused");
  EXPECT_EQ(received().size(), 2u) << "paged again after the restart";
  for (int i = 0; i < 2; ++i) alerter->observe_service("web", "up", "HTTP 200");
  EXPECT_EQ(received(), (std::vector<std::string>{"service.down firing", "service.down firing", "service.down resolved"}));
  auto resolved = json::parse(receiver.requests()[2].body);
  EXPECT_EQ(resolved["alerts"][0]["labels"]["alertname"], "service.down");
  // Resolved is kept too: a third start has nothing open.
  alerter.reset();
  notifier.reset();
  start();
  EXPECT_TRUE(alerter->status()["incidents"].empty());
}

TEST_F(AlerterTest, AMaintenanceWindowSilencesItsServices) {
  // A window in force now: every day, from a minute ago for two hours (UTC).
  const auto now = std::chrono::system_clock::now() - std::chrono::minutes(1);
  const long long tod = std::chrono::duration_cast<std::chrono::minutes>(now - std::chrono::floor<std::chrono::days>(now)).count();
  char spec[64];
  std::snprintf(spec, sizeof spec, "daily %02lld:%02lld-%02lld:%02lld", tod / 60, tod % 60, ((tod + 120) / 60) % 24, (tod + 120) % 60);
  auto w = parse_window(spec);
  w.services = {"web"};
  w.reason = "backups";
  start({w});
  auto st = alerter->status();
  ASSERT_EQ(st["silences"].size(), 1u) << st;
  EXPECT_EQ(st["silences"][0]["source"], "maintenance");
  EXPECT_EQ(st["silences"][0]["reason"], "backups");
  for (int i = 0; i < 5; ++i) alerter->observe_service("web", "down", "refused");
  EXPECT_TRUE(received().empty());
}

}  // namespace
}  // namespace orch
