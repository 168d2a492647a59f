// The payload each provider gets, as its own documentation gives it (docs/alerting.md), sent
// through the real Notifier to local receivers; retries, give-up and the bounded queue.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "core/text.hpp"
#include "metrics/metrics.hpp"
#include "notify/notifier.hpp"
#include "support/process.hpp"
#include "support/http_stub.hpp"
#include "support/receivers.hpp"

namespace orch {
namespace {

using namespace std::chrono_literals;
using test::HttpReceiver;
using test::SmtpReceiver;

NotifyProvider provider(const std::string& type, const std::string& url) {
  NotifyProvider p;
  p.name = type;
  p.type = type;
  p.url = url;
  return p;
}

Alert firing() {
  Alert a;
  a.type = "service.down";
  a.status = "firing";
  a.severity = Severity::critical;
  a.subject = a.service = "web";
  a.summary = "web is down (connection refused)";
  a.description = "2 failed check(s) in a row";
  a.incident_id = "service:web@1700000000000";
  a.starts_at = "2023-11-14T22:13:20.000Z";
  return a;
}

NotifierOptions fast() {
  NotifierOptions o;
  o.timeout = 2s;
  o.retry_delay = 50ms;
  o.attempts = 3;
  return o;
}

double metric(const Metrics& m, const std::string& series) {
  const auto text = m.render();
  auto at = text.find(series + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + series.size() + 1));
}

json body_of(const HttpReceiver& r, size_t i = 0) { return json::parse(r.requests().at(i).body); }

TEST(Providers, GenericWebhookIsAlertmanagerVersion4PlusTextAndEvent) {
  HttpReceiver r;
  Notifier n({provider("webhook", r.url())}, fast());
  n.dispatch(firing());
  n.drain();
  ASSERT_EQ(r.count(), 1u);
  auto b = body_of(r);
  EXPECT_EQ(r.requests()[0].header("Content-Type"), "application/json");
  EXPECT_EQ(b["version"], "4");
  EXPECT_EQ(b["status"], "firing");
  EXPECT_EQ(b["receiver"], "orch");
  ASSERT_EQ(b["alerts"].size(), 1u);
  const auto& a = b["alerts"][0];
  EXPECT_EQ(a["status"], "firing");
  EXPECT_EQ(a["labels"]["alertname"], "service.down");
  EXPECT_EQ(a["labels"]["severity"], "critical");
  EXPECT_EQ(a["labels"]["service"], "web");
  EXPECT_EQ(a["annotations"]["summary"], "web is down (connection refused)");
  EXPECT_EQ(a["startsAt"], "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(a["endsAt"], "0001-01-01T00:00:00Z");  // Alertmanager's "still firing"
  EXPECT_EQ(a["fingerprint"].get<std::string>().size(), 16u);
  EXPECT_EQ(b["commonLabels"], a["labels"]);
  EXPECT_EQ(b["text"], "[FIRING] web is down (connection refused)");
  EXPECT_TRUE(b.contains("event"));
  EXPECT_TRUE(b.contains("groupKey"));

  auto resolved = firing();
  resolved.status = "resolved";
  resolved.ends_at = "2023-11-14T22:15:20.000Z";
  n.dispatch(resolved);
  n.drain();
  ASSERT_EQ(r.count(), 2u);
  auto b2 = body_of(r, 1);
  EXPECT_EQ(b2["status"], "resolved");
  EXPECT_EQ(b2["alerts"][0]["endsAt"], "2023-11-14T22:15:20.000Z");
  EXPECT_EQ(b2["alerts"][0]["fingerprint"], a["fingerprint"]);  // the same incident
}

TEST(Providers, SlackIncomingWebhookGetsTextAndOneMrkdwnSection) {
  HttpReceiver r;
  Notifier n({provider("slack", r.url())}, fast());
  auto a = firing();
  a.summary = "web is down (<html> & co)";
  n.dispatch(a);
  n.drain();
  ASSERT_EQ(r.count(), 1u);
  auto b = body_of(r);
  EXPECT_EQ(b["text"], "[FIRING] web is down (&lt;html&gt; &amp; co)\n2 failed check(s) in a row");
  ASSERT_EQ(b["blocks"].size(), 1u);
  EXPECT_EQ(b["blocks"][0]["type"], "section");
  EXPECT_EQ(b["blocks"][0]["text"]["type"], "mrkdwn");
  EXPECT_EQ(b["blocks"][0]["text"]["text"], b["text"]);
}

TEST(Providers, DiscordContentIsCutAt2000CharactersAndMentionsAreOff) {
  HttpReceiver r;
  Notifier n({provider("discord", r.url())}, fast());
  auto a = firing();
  a.description = std::string(3000, 'x');
  n.dispatch(a);
  n.drain();
  ASSERT_EQ(r.count(), 1u);
  auto b = body_of(r);
  const auto content = b["content"].get<std::string>();
  EXPECT_EQ(content.rfind("[FIRING] web is down", 0), 0u);
  // 1999 ASCII characters and one ellipsis (3 bytes, 1 character).
  EXPECT_EQ(content.size(), 1999u + 3u);
  EXPECT_TRUE(content.ends_with("\xE2\x80\xA6"));
  EXPECT_EQ(b["allowed_mentions"]["parse"], json::array());
}

TEST(Providers, TeamsWorkflowsGetsAnAdaptiveCardMessage) {
  HttpReceiver r;
  Notifier n({provider("teams", r.url())}, fast());
  n.dispatch(firing());
  n.drain();
  ASSERT_EQ(r.count(), 1u);
  auto b = body_of(r);
  EXPECT_EQ(b["type"], "message");
  ASSERT_EQ(b["attachments"].size(), 1u);
  const auto& att = b["attachments"][0];
  EXPECT_EQ(att["contentType"], "application/vnd.microsoft.card.adaptive");
  EXPECT_TRUE(att["contentUrl"].is_null());
  EXPECT_EQ(att["content"]["type"], "AdaptiveCard");
  EXPECT_EQ(att["content"]["version"], "1.4");
  EXPECT_EQ(att["content"]["$schema"], "http://adaptivecards.io/schemas/adaptive-card.json");
  const auto& body = att["content"]["body"];
  EXPECT_EQ(body[0]["type"], "TextBlock");
  EXPECT_EQ(body[0]["text"], "[FIRING] web is down (connection refused)");
  EXPECT_EQ(body[0]["color"], "Attention");
  EXPECT_EQ(body.back()["type"], "FactSet");
}

TEST(Providers, NtfyGetsThePlainMessageWithTitlePriorityAndTags) {
  HttpReceiver r;
  Notifier n({provider("ntfy", r.url("/orch-alerts"))}, fast());
  n.dispatch(firing());
  auto resolved = firing();
  resolved.status = "resolved";
  resolved.ends_at = "2023-11-14T22:15:20.000Z";
  n.dispatch(resolved);
  n.drain();
  ASSERT_EQ(r.count(), 2u);
  auto req = r.requests()[0];
  EXPECT_EQ(req.path, "/orch-alerts");
  EXPECT_EQ(req.body, "web is down (connection refused)\n2 failed check(s) in a row");
  EXPECT_EQ(req.header("Title"), "[FIRING] web is down (connection refused)");
  EXPECT_EQ(req.header("Priority"), "5");
  EXPECT_EQ(req.header("Tags"), "rotating_light,orch,service.down");
  auto res = r.requests()[1];
  EXPECT_EQ(res.header("Priority"), "3");
  EXPECT_EQ(res.header("Tags").rfind("white_check_mark,", 0), 0u);
}

TEST(Providers, EmailSpeaksSmtpToTheRelay) {
  SmtpReceiver smtp;
  auto p = provider("email", smtp.url());
  p.from = "orch <orch@example.org>";
  p.to = {"ops@example.org", "oncall@example.org"};
  Notifier n({p}, fast());
  n.dispatch(firing());
  n.drain();
  ASSERT_TRUE(test::eventually([&] { return smtp.mails().size() == 1; }, 5s));
  auto m = smtp.mails()[0];
  EXPECT_EQ(m.mail_from, "<orch@example.org>");
  EXPECT_EQ(m.rcpt_to, (std::vector<std::string>{"<ops@example.org>", "<oncall@example.org>"}));
  EXPECT_NE(m.data.find("Subject: [FIRING] web is down (connection refused)\r\n"), std::string::npos) << m.data;
  EXPECT_NE(m.data.find("From: orch <orch@example.org>\r\n"), std::string::npos);
  EXPECT_NE(m.data.find("To: ops@example.org, oncall@example.org\r\n"), std::string::npos);
  EXPECT_NE(m.data.find("Content-Type: text/plain; charset=utf-8"), std::string::npos);
  EXPECT_NE(m.data.find("\r\n\r\nweb is down (connection refused)\r\n"), std::string::npos) << m.data;
}

TEST(Providers, FiltersByEventPrefixAndSeverity) {
  HttpReceiver heal_only, critical_only;
  auto a = provider("webhook", heal_only.url());
  a.events = {"heal."};
  auto b = provider("slack", critical_only.url());
  b.min_severity = Severity::critical;
  Notifier n({a, b}, fast());
  n.dispatch(firing());  // service.down, critical
  auto warn = firing();
  warn.type = "heal.failed";
  warn.severity = Severity::warning;
  n.dispatch(warn);
  n.drain();
  ASSERT_EQ(heal_only.count(), 1u);
  EXPECT_EQ(body_of(heal_only)["alerts"][0]["labels"]["alertname"], "heal.failed");
  ASSERT_EQ(critical_only.count(), 1u);
  EXPECT_NE(body_of(critical_only)["text"].get<std::string>().find("web is down"), std::string::npos);
}

TEST(Notifier, RetriesOn5xxAnd429ThenSendsOnce) {
  HttpReceiver r;
  r.script({503, 429}, 200, {{"Retry-After", "0"}});
  Metrics m;
  Notifier n({provider("webhook", r.url())}, fast(), &m);
  n.dispatch(firing());
  ASSERT_TRUE(test::eventually([&] { return r.count() == 3; }, 5s));
  n.drain();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(r.count(), 3u);  // two refusals, one success, nothing after
  EXPECT_NE(m.render().find("orch_notifications_total{provider=\"webhook\",result=\"sent\"} 1"), std::string::npos) << m.render();
}

TEST(Notifier, GivesUpAfterItsAttemptsAndOn4xxAtOnce) {
  HttpReceiver r;
  r.script({}, 500);
  HttpReceiver bad;
  bad.script({}, 400);
  Metrics m;
  Notifier n({provider("webhook", r.url()), provider("slack", bad.url())}, fast(), &m);
  n.dispatch(firing());
  n.drain(10s);
  EXPECT_EQ(r.count(), 3u);    // attempts = 3
  EXPECT_EQ(bad.count(), 1u);  // a 400 is not retried: the payload will not get better
  const auto text = m.render();
  EXPECT_NE(text.find("orch_notifications_total{provider=\"webhook\",result=\"failed\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("orch_notifications_total{provider=\"slack\",result=\"failed\"} 1"), std::string::npos) << text;
}

TEST(Notifier, ADeadReceiverNeitherBlocksNorGrowsTheQueue) {
  // A port nobody listens on: every attempt is a transport error, retried with a delay.
  const int dead = test::refused_port();
  auto o = fast();
  o.queue_max = 5;
  o.retry_delay = 10s;  // the retries wait: the queue fills
  Metrics m;
  Notifier n({provider("webhook", "http://127.0.0.1:" + std::to_string(dead) + "/hook")}, o, &m);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 50; ++i) n.dispatch(firing());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);  // dispatch never waits for a send
  EXPECT_LE(n.queued(), 6u);                                   // five waiting, one being sent
  // Everything beyond the bound was dropped and counted (one may have left for the worker first).
  const auto dropped = metric(m, "orch_notifications_total{provider=\"webhook\",result=\"dropped\"}");
  EXPECT_GE(dropped, 44);
  EXPECT_LE(dropped, 45);
}

TEST(Notifier, LegacyUrlConstructorStillSendsTextAndEvent) {
  HttpReceiver r;
  Notifier n(r.url());
  auto e = make_event("heal.quarantined", "h-1", {{"container", "h-1"}, {"reason", "5 restarts"}, {"attempt", 5}});
  n.send(e, "orch quarantined h-1 (5 restarts); lift with: orch heal --reset h-1");
  n.drain();
  ASSERT_EQ(r.count(), 1u);
  auto b = body_of(r);
  EXPECT_EQ(b["event"]["type"], "heal.quarantined");
  EXPECT_NE(b["text"].get<std::string>().find("orch heal --reset h-1"), std::string::npos);
  EXPECT_EQ(b["alerts"][0]["labels"]["severity"], "critical");
}

TEST(Notifier, ARelayRefusingForNowOrUnreachableIsRetriedAndForGoodIsNot) {
  SmtpReceiver busy("451 4.3.0 try again later"), never("550 5.7.1 relaying denied");
  auto a = provider("email", busy.url());
  a.name = "busy";
  auto b = provider("email", never.url());
  b.name = "never";
  for (auto* p : {&a, &b}) {
    p->from = "orch@example.org";
    p->to = {"ops@example.org"};
  }
  auto gone = provider("webhook", test::refused_url() + "/hook");
  gone.name = "gone";
  Metrics m;
  Notifier n({a, b, gone}, fast(), &m);
  n.dispatch(firing());
  n.drain(10s);
  EXPECT_EQ(busy.mail_commands(), 3);   // a 4xx is transient: all three attempts
  EXPECT_EQ(never.mail_commands(), 1);  // a 5xx will not get better
  const auto text = m.render();
  EXPECT_NE(text.find("orch_notifications_total{provider=\"busy\",result=\"failed\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("orch_notifications_total{provider=\"never\",result=\"failed\"} 1"), std::string::npos) << text;
  // Nobody listening is transient too: tried three times, then given up.
  EXPECT_NE(text.find("orch_notifications_total{provider=\"gone\",result=\"failed\"} 1"), std::string::npos) << text;
}

TEST(Notifier, ARetryIsDroppedWhenTheQueueIsFull) {
  // The first alert is answered 503 only once four more wait in a queue of four: its retry does
  // not push one of them out; it is dropped and counted, and the four are sent.
  std::atomic<bool> release{false};
  std::atomic<int> seen{0};
  test::HttpStub receiver([&](const test::ReceivedRequest&) {
    if (seen++ == 0) {
      while (!release) std::this_thread::sleep_for(5ms);
      return test::StubAnswer{503, "{}"};
    }
    return test::StubAnswer{200, "{}"};
  });
  auto o = fast();
  o.queue_max = 4;
  Metrics m;
  Notifier n({provider("webhook", receiver.url())}, o, &m);
  n.dispatch(firing());
  ASSERT_TRUE(test::eventually([&] { return seen == 1; }, 5s));
  for (int i = 0; i < 4; ++i) n.dispatch(firing());
  release = true;
  n.drain(10s);
  EXPECT_EQ(seen.load(), 5);  // the refused one was not tried again
  EXPECT_EQ(metric(m, "orch_notifications_total{provider=\"webhook\",result=\"dropped\"}"), 1) << m.render();
  EXPECT_EQ(metric(m, "orch_notifications_total{provider=\"webhook\",result=\"sent\"}"), 4) << m.render();
}

TEST(Notifier, AnEventTheAlerterDoesNotKnowIsStillSentAsAWarning) {
  HttpReceiver r;
  Notifier n(r.url());
  auto e = make_event("pipeline.custom", "doc-7", {{"note", "made by a script"}});
  n.send(e, "something orch does not page about");
  n.drain();
  ASSERT_EQ(r.count(), 1u);
  auto b = body_of(r);
  EXPECT_EQ(b["alerts"][0]["labels"]["alertname"], "pipeline.custom");
  EXPECT_EQ(b["alerts"][0]["labels"]["severity"], "warning");
  EXPECT_EQ(b["event"]["data"]["note"], "made by a script");
  EXPECT_NE(b["text"].get<std::string>().find("something orch does not page about"), std::string::npos) << b;
}

}  // namespace
}  // namespace orch
