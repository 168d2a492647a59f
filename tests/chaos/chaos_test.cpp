// Chaos under load (issue 19): orch promises "a 202 means the event is stored" and "the daemon never
// crashes on input". Each scenario drives at least 20,000 distinct deliveries, signed by the Standard
// Webhooks reference library (tests/node/sign_deliveries.mjs), into a real `orch serve` on a real
// redis-server while a fault happens mid-stream:
//   (a) redis-server is SIGKILLed and restarted,
//   (b) `orch serve` is SIGKILLed and restarted on the same state dir (also with Redis down, so it
//       dies holding an outbox), with the pipeline working through the load,
//   (c) the outbox fills (small ORCH_OUTBOX_MAX) while Redis is down,
//   (d) dockerd restarts under the watcher.
// The sender retries what got no answer or 503, same webhook-id, as relays do. Afterwards every
// delivery's answers are held against orch:events (XRANGE): every 202's event id is stored, under
// its delivery; a delivery answered 200 {"duplicate":true} is stored; no content event is stored
// twice (docs/webhook.md: webhook events keep their dedupe key through the outbox); other events
// stored twice are the documented at-least-once case and are counted. Redis runs with
// appendfsync always, so what it acknowledged survives its SIGKILL: anything missing is orch's.
// Then the healer must still restart a crashed container, and the pipeline must have taken over the
// jobs killed workers held and indexed every change it has passed. One line per scenario:
// accepted=… stored=… lost=… duplicated=… (and how many were retried, unanswered, refused).
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "core/json.hpp"
#include "docker/client.hpp"
#include "redis/connection.hpp"
#include "support/docker_engine.hpp"
#include "support/orch_server.hpp"
#include "support/redis_server.hpp"
#include "support/standins.hpp"
#include "support/webhook_sender.hpp"

using namespace orch;
using namespace orch::test;
using namespace std::chrono_literals;

namespace {

using Env = std::map<std::string, std::string>;
DockerEngine*& engine = share_engine();

// A Standard Webhooks secret (whsec_ + base64 of 24 bytes), as a relay would hold it.
const std::string kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr long long kDeliveries = 24'000;  // per scenario
constexpr double kRate = 4'000;            // new deliveries per second: about 6 s of load, faults inside it

// A stream entry id ("<ms>-<seq>") as a comparable pair.
using StreamId = std::pair<long long, long long>;
StreamId stream_id(const std::string& id) {
  const auto dash = id.find('-');
  return {std::atoll(id.c_str()), dash == std::string::npos ? 0 : std::atoll(id.c_str() + dash + 1)};
}

// What orch:events holds, read once (XRANGE in pages).
struct Stream {
  std::unordered_map<std::string, int> by_event_id;                   // CloudEvent id -> times stored
  std::vector<std::pair<StreamId, std::string>> content_order;        // (stream id, entry id) of content events, oldest first
  std::unordered_map<std::string, std::vector<std::string>> content;  // entry id (data.id) -> event ids
  std::unordered_map<std::string, std::string> type_of;               // event id -> type
  size_t entries = 0;
};

Stream read_stream(const RedisServer& redis) {
  Stream s;
  for (const auto& entry : redis.entries()) {
    ++s.entries;
    const auto& e = entry.event;
    if (!e.is_object()) continue;
    const std::string id = e.value("id", ""), type = e.value("type", "");
    ++s.by_event_id[id];
    s.type_of[id] = type;
    if (type.rfind("content.", 0) == 0 && e.contains("data")) {
      s.content[e["data"].value("id", "")].push_back(id);
      s.content_order.emplace_back(stream_id(entry.id), e["data"].value("id", ""));
    }
  }
  return s;
}

// Every answer each delivery got, in order (written on the sender's thread only).
struct Ledger {
  explicit Ledger(const std::vector<SignedDelivery>& deliveries) : deliveries(deliveries), answers(deliveries.size()) {}
  const std::vector<SignedDelivery>& deliveries;
  std::vector<std::vector<SendAnswer>> answers;
};

// The entry id inside a delivery's body (sign_deliveries.mjs: the same as its webhook-id).
const std::string& entry_id(const SignedDelivery& d) { return d.id; }

struct Tally {
  long long deliveries = 0, accepted = 0, stored = 0, lost = 0, duplicated = 0;
  long long retried = 0, no_answer = 0, answered_503 = 0, duplicate_200 = 0, stored_without_202 = 0, other_twice = 0, unexplained = 0;
  std::vector<std::string> problems;  // the first few, for the failure message
  void problem(const std::string& p) {
    if (problems.size() < 10) problems.push_back(p);
  }
  std::string line(const std::string& name) const {
    return "chaos " + name + ": accepted=" + std::to_string(accepted) + " stored=" + std::to_string(stored) +
           " lost=" + std::to_string(lost) + " duplicated=" + std::to_string(duplicated) + " | deliveries=" + std::to_string(deliveries) +
           " retried=" + std::to_string(retried) + " no_answer=" + std::to_string(no_answer) +
           " answered_503=" + std::to_string(answered_503) + " duplicate_200=" + std::to_string(duplicate_200) +
           " stored_without_202=" + std::to_string(stored_without_202) + " other_events_twice=" + std::to_string(other_twice);
  }
};

Tally reconcile(const Ledger& ledger, const Stream& stream) {
  Tally t;
  t.deliveries = static_cast<long long>(ledger.deliveries.size());
  for (size_t i = 0; i < ledger.deliveries.size(); ++i) {
    const auto& d = ledger.deliveries[i];
    const auto& answers = ledger.answers[i];
    const auto found = stream.content.find(entry_id(d));
    const size_t copies = found == stream.content.end() ? 0 : found->second.size();
    if (copies > 0) ++t.stored;
    if (copies > 1) {
      t.duplicated += static_cast<long long>(copies - 1);
      t.problem(d.id + " is stored " + std::to_string(copies) + " times");
    }
    if (answers.size() > 1) ++t.retried;
    bool accepted = false, unsure = false;  // unsure: an attempt whose outcome the sender never learnt
    for (const auto& a : answers) {
      if (a.status == 0) ++t.no_answer, unsure = true;
      if (a.status == 503) ++t.answered_503, unsure = true;
      if (a.status == 200) ++t.duplicate_200;
      if (a.status == 202) {
        ++t.accepted;
        accepted = true;
        // The 202 names the event: it must be in the stream, as this delivery's.
        const bool here = copies > 0 && std::find(found->second.begin(), found->second.end(), a.event_id) != found->second.end();
        if (!here) {
          ++t.lost;
          t.problem(d.id + " was answered 202 with event " + a.event_id + " which is not stored as its event");
        }
      }
    }
    const int last = answers.empty() ? -1 : answers.back().status;
    if (last != 202 && last != 200) t.problem(d.id + " ended without a 2xx answer (last " + std::to_string(last) + ")");
    if (last == 200 && copies == 0) {
      ++t.lost;  // "a duplicate" of something orch never stored
      t.problem(d.id + " was answered 200 duplicate but is not stored");
    }
    if (copies > 0 && !accepted) {
      ++t.stored_without_202;
      // Stored without a 202 is the at-least-once window only: an earlier attempt's answer was lost
      // (the connection broke, orch was killed) or was a 503 after Redis had executed the batch.
      if (!unsure) {
        ++t.unexplained;
        t.problem(d.id + " is stored but no attempt was left unanswered or refused, and none was answered 202");
      }
    }
  }
  for (const auto& [id, n] : stream.by_event_id) {
    if (n < 2) continue;
    const auto& type = stream.type_of.at(id);
    if (type.rfind("content.", 0) == 0) {
      t.problem("content event " + id + " stored " + std::to_string(n) + " times");
      continue;  // counted per delivery above
    }
    t.other_twice += n - 1;
  }
  return t;
}

// A counter or gauge without labels from /metrics (0 when absent).
double metric(const OrchServer& orch, const std::string& name) {
  const auto body = orch.get("/metrics").body;
  const auto at = body.find("\n" + name + " ");
  return at == std::string::npos ? 0 : std::atof(body.c_str() + at + name.size() + 2);
}

json health(const OrchServer& orch) {
  try {
    auto r = orch.get("/health");
    return r.status == 200 ? json::parse(r.body, nullptr, false) : json();
  } catch (const std::exception&) {
    return json();
  }
}

// Redis connected and nothing left in the outbox.
bool settled(const OrchServer& orch) {
  auto h = health(orch);
  if (!h.is_object()) return false;
  const auto& r = h["components"]["redis"];
  return r.value("connected", false) && r.value("outbox_depth", 1) == 0;
}

docker::Client docker_client() { return docker::Client(docker::Endpoint{engine->socket(), "http://localhost", std::nullopt}); }

// A labelled container that crashes on its first run only (a restart finds /tmp/ran): orch's healer
// must bring it back, which needs the watcher (or a reconcile) and the leader lease working again.
void expect_healed(const std::string& name) {
  engine->must({"run", "-d", "--network", "none", "--stop-timeout", "1", "--name", name, "--label", "orch.heal=true", engine->image(), "sh",
                "-c", "test -f /tmp/ran && exec sleep 3600; touch /tmp/ran; sleep 1; exit 3"});
  const auto first = docker_client().inspect(name).started_at;
  EXPECT_TRUE(eventually(
      [&] {
        auto c = docker_client().inspect(name);
        return c.status == "running" && c.started_at != first;
      },
      30s))
      << name << " was not restarted: " << docker_client().inspect(name).status;
}

bool has_event(const RedisServer& redis, const std::string& type, const std::string& subject) {
  redis::Connection c(redis::Url{"127.0.0.1", redis.port()}, 2s);
  for (const auto& entry : c.command({"XREVRANGE", "orch:events", "+", "-", "COUNT", "2000"}).elements) {
    const auto& f = entry.elements[1].elements;
    for (size_t i = 0; i + 1 < f.size(); i += 2) {
      if (f[i].str != "event") continue;
      auto e = json::parse(f[i + 1].str, nullptr, false);
      if (e.is_object() && e.value("type", "") == type && e.value("subject", "") == subject) return true;
    }
  }
  return false;
}

// One scenario: the stack, the load, and the check.
struct Chaos : ::testing::Test {
  RedisServer redis{0, /*durable=*/true};
  std::unique_ptr<StandinServers> standins;
  std::unique_ptr<OrchServer> orch;
  std::vector<SignedDelivery> deliveries;
  std::unique_ptr<Ledger> ledger;
  std::unique_ptr<WebhookSender> sender;
  Stream stream;  // orch:events once the load is over
  std::chrono::steady_clock::time_point began = std::chrono::steady_clock::now();

  Env env(Env extra = {}) {
    Env e{{"REDIS_URL", redis.url()},  {"TRUSTED_WEBHOOK_SECRET", kSecret},
          {"ORCH_LOG_LEVEL", "warn"},  // 24,000 info lines would cost the two cores more than the check
          {"ORCH_LEADER_LEASE", "3s"}, {"ORCH_HEAL_BACKOFF", "1s:2s"},
          {"HEALTH_INTERVAL", "1h"},   {"DOCKER_HOST", engine ? engine->host() : "\x01unset"}};
    for (auto& [k, v] : extra) e[k] = v;
    return e;
  }

  void start_orch(Env extra = {}) {
    orch = std::make_unique<OrchServer>(env(std::move(extra)));
    ASSERT_TRUE(eventually([&] { return orch->get("/readyz").status == 200; }, 30s)) << orch->log();
  }

  // Signs this scenario's deliveries and starts sending them at kRate.
  void start_load(const std::string& prefix) {
    deliveries = sign_deliveries(kSecret, prefix, 0, kDeliveries);
    ledger = std::make_unique<Ledger>(deliveries);
    auto next = std::make_shared<size_t>(0);
    WebhookSender::Options o;
    o.connections = 16;
    o.rate = kRate;
    sender = std::make_unique<WebhookSender>(
        orch->port(),
        [this, next]() -> std::optional<SignedDelivery> {
          if (*next >= deliveries.size()) return std::nullopt;
          return deliveries[(*next)++];
        },
        [this](const SignedDelivery& d, const SendAnswer& a) { ledger->answers[static_cast<size_t>(d.seq)].push_back(a); }, o);
  }

  // Blocks until `n` deliveries have their final answer (the fault then lands mid-stream). Throws
  // (ending the test) when the load stalls.
  void at(long long n) {
    if (!eventually([&] { return sender->finished() >= n; }, 60s))
      throw std::runtime_error("the load stalled: " + std::to_string(sender->finished()) + " of " + std::to_string(n) + " answered\n" +
                               orch->log());
  }

  // The load is over, the outbox flushed; then the ledger is held against the stream.
  Tally finish(const std::string& name) {
    EXPECT_TRUE(sender->wait(180s)) << "the sender did not finish: " << sender->finished() << " of " << kDeliveries;
    EXPECT_EQ(sender->abandoned(), 0);
    EXPECT_EQ(sender->finished(), kDeliveries);
    EXPECT_TRUE(eventually([&] { return settled(*orch); }, 60s)) << health(*orch).dump() << "\n" << orch->log();
    stream = read_stream(redis);
    auto tally = reconcile(*ledger, stream);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    std::cout << tally.line(name) << " (" << static_cast<int>(seconds) << " s)\n";
    std::string problems;
    for (const auto& p : tally.problems) problems += "  " + p + "\n";
    EXPECT_EQ(tally.lost, 0) << problems;
    EXPECT_EQ(tally.duplicated, 0) << problems;
    EXPECT_EQ(tally.unexplained, 0) << problems;
    EXPECT_EQ(tally.stored, kDeliveries) << problems;
    EXPECT_TRUE(tally.problems.empty()) << problems;
    // The daemon never crashed on its own: whatever it ran through, it is still serving.
    EXPECT_TRUE(orch->process().running()) << orch->log();
    return tally;
  }

  void TearDown() override {
    sender.reset();
    orch.reset();
  }
};

// (a) Redis dies twice under load: once for a while (the outbox takes the load, then is flushed),
// once for a moment (the batches in flight at the kill are re-sent from the outbox).
TEST_F(Chaos, RedisKilledAndRestartedUnderLoad) {
  start_orch();
  start_load("chaos-a");
  at(kDeliveries / 4);
  redis.kill();
  std::this_thread::sleep_for(1500ms);
  redis.start();
  at(kDeliveries * 2 / 3);
  redis.kill();
  redis.start();
  finish("(a) redis SIGKILL");
  EXPECT_GT(metric(*orch, "orch_events_outboxed_total"), 0) << "Redis was never missed: the kills missed the load";
  if (engine) {
    expect_healed("chaos-a-crash");
    EXPECT_TRUE(eventually([&] { return has_event(redis, "heal.restarted", "chaos-a-crash"); }));
  }
}

// The pipeline's consumer group: how far it has read, and who holds what it has not acknowledged.
struct PipelineGroup {
  StreamId last{0, 0};
  std::map<StreamId, std::string> pending;  // entry -> consumer (<host>-<pid>-<n>)
};

PipelineGroup pipeline_group(const RedisServer& redis) {
  redis::Connection c(redis::Url{"127.0.0.1", redis.port()}, 2s);
  PipelineGroup g;
  for (const auto& info : c.command({"XINFO", "GROUPS", "orch:events"}).elements)
    for (size_t i = 0; i + 1 < info.elements.size(); i += 2)
      if (info.elements[i].str == "last-delivered-id") g.last = stream_id(info.elements[i + 1].str);
  for (const auto& p : c.command({"XPENDING", "orch:events", "orch-pipeline", "-", "+", "10000"}).elements)
    g.pending[stream_id(p.elements[0].str)] = p.elements[1].str;
  return g;
}

// The consumers of the `orch serve` with this pid are named <host>-<pid>-<n>.
bool of_process(const std::string& consumer, pid_t pid) { return consumer.find("-" + std::to_string(pid) + "-") != std::string::npos; }

// (b) orch serve is killed three times on the same state dir: with Redis up, with Redis down (it
// dies holding an outbox, which the next run flushes), and again with Redis up. The pipeline works
// through the load meanwhile; what a killed worker held is taken over by the next run.
TEST_F(Chaos, OrchKilledAndRestartedOnTheSameStateDir) {
  standins = std::make_unique<StandinServers>();
  {
    // The group exists before the first delivery, so the pipeline sees every one (it is created at `$`).
    redis::Connection c(redis::Url{"127.0.0.1", redis.port()}, 2s);
    c.command({"XGROUP", "CREATE", "orch:events", "orch-pipeline", "$", "MKSTREAM"});
  }
  start_orch({{"RAG_API_URL", standins->url(standins->rag)}, {"PIPELINE_CLAIM_IDLE", "2s"}, {"PIPELINE_BACKOFF", "100ms:200ms"}});
  start_load("chaos-b");
  // The jobs the killed runs' workers were holding (read when Redis is up to tell).
  std::set<StreamId> held;
  auto kill_holding_jobs = [&](bool redis_up) {
    const pid_t pid = orch->process().pid();
    orch->kill();
    if (!redis_up) return;
    for (const auto& [entry, consumer] : pipeline_group(redis).pending)
      if (of_process(consumer, pid)) held.insert(entry);
  };
  at(kDeliveries / 5);
  kill_holding_jobs(true);
  orch->restart();
  at(kDeliveries * 2 / 5);
  redis.kill();
  at(kDeliveries / 2);
  const auto outbox = health(*orch)["components"]["redis"].value("outbox_depth", 0);
  EXPECT_GT(outbox, 0) << "orch should be holding events in its outbox now";
  kill_holding_jobs(false);
  orch->restart();
  // The new run found the outbox the killed one left and holds it until Redis is back.
  EXPECT_NE(orch->log().find("from a previous run"), std::string::npos) << orch->log();
  at(kDeliveries * 3 / 5);
  redis.start();
  at(kDeliveries * 4 / 5);
  kill_holding_jobs(true);
  orch->restart();
  auto tally = finish("(b) orch SIGKILL");
  EXPECT_GT(tally.no_answer, 0) << "no request was cut off by a kill: the faults missed the load";

  // The pipeline resumed after every kill. It is far behind the webhook (24,000 jobs take it
  // minutes), so what is checked is what resuming means: the jobs killed workers held are taken
  // over (after PIPELINE_CLAIM_IDLE), the group moves on in this run, and every change it has
  // passed and acknowledged is in the index.
  const pid_t live = orch->process().pid();
  const auto before = pipeline_group(redis);
  auto passed = [&](const PipelineGroup& g) {
    long long n = 0;
    for (const auto& [sid, entry] : stream.content_order) n += sid > before.last && sid <= g.last;
    return n;
  };
  auto held_by_the_dead = [&](const PipelineGroup& g) {
    long long n = 0;
    for (const auto& [entry, consumer] : g.pending) n += !of_process(consumer, live);
    return n;
  };
  PipelineGroup after;
  EXPECT_TRUE(eventually(
      [&] {
        after = pipeline_group(redis);
        return held_by_the_dead(after) == 0 && passed(after) >= 500;
      },
      60s))
      << "jobs of killed workers still pending: " << held_by_the_dead(after) << "; content events passed in this run: " << passed(after)
      << "\n"
      << orch->log();
  EXPECT_GT(held.size(), 0u) << "no kill caught a worker holding a job";
  const auto index = standins->calls()["index"];  // read after the group: whatever it acknowledged is indexed by now
  long long behind = 0, missing = 0, held_done = 0;
  for (const auto& [sid, entry] : stream.content_order) {
    if (sid > after.last || after.pending.count(sid)) {
      ++behind;
      continue;
    }
    if (!index.contains(entry)) ++missing;
    else held_done += static_cast<long long>(held.count(sid));
  }
  std::cout << "chaos (b) pipeline: indexed=" << index.size() << " missing=" << missing << " not yet reached=" << behind
            << " | jobs killed workers held=" << held.size() << ", since taken over and indexed=" << held_done << "\n";
  EXPECT_EQ(missing, 0);
  if (engine) {
    expect_healed("chaos-b-crash");
    EXPECT_TRUE(eventually([&] { return has_event(redis, "heal.restarted", "chaos-b-crash"); }));
  }
}

// (c) Redis is down long enough for a small outbox to fill: orch answers 503 (not stored) instead
// of 202, the sender retries, and once Redis is back every delivery is stored exactly once.
TEST_F(Chaos, OutboxFillsWhileRedisIsDown) {
  constexpr long long kOutboxMax = 2'000;
  start_orch({{"ORCH_OUTBOX_MAX", std::to_string(kOutboxMax)}, {"DOCKER_HOST", "\x01unset"}});
  start_load("chaos-c");
  at(kDeliveries / 4);
  redis.kill();
  // Hold Redis down until the outbox is full and orch has refused deliveries for a while.
  long long deepest = 0;
  ASSERT_TRUE(eventually(
      [&] {
        deepest = std::max<long long>(deepest, health(*orch)["components"]["redis"].value("outbox_depth", 0));
        return deepest >= kOutboxMax && sender->answers(503) >= 500;
      },
      30s))
      << "outbox depth " << deepest << ", 503s " << sender->answers(503);
  std::this_thread::sleep_for(1s);
  EXPECT_LE(health(*orch)["components"]["redis"].value("outbox_depth", 0), kOutboxMax);
  redis.start();
  auto tally = finish("(c) outbox full");
  EXPECT_GE(tally.answered_503, 500);
  std::cout << "chaos (c) outbox: deepest=" << deepest << " (ORCH_OUTBOX_MAX " << kOutboxMax << ")\n";
}

// (d) dockerd goes away and comes back under the watcher while the webhook is busy: the watcher
// reconnects, the healer still heals, and no delivery is lost on the way.
TEST_F(Chaos, DockerdRestartsUnderTheWatcher) {
  REQUIRE_ENGINE();
  start_orch();
  start_load("chaos-d");
  at(kDeliveries / 4);
  engine->stop();
  EXPECT_TRUE(eventually([&] { return orch->get("/readyz").status == 503; }, 20s));
  engine->start();
  EXPECT_TRUE(eventually([&] { return orch->get("/readyz").status == 200; }, 30s)) << orch->log();
  auto tally = finish("(d) dockerd restart");
  EXPECT_EQ(tally.retried, 0) << "Docker going away must not touch the webhook";
  expect_healed("chaos-d-crash");
  EXPECT_TRUE(eventually([&] { return has_event(redis, "heal.restarted", "chaos-d-crash"); }));
  EXPECT_TRUE(has_event(redis, "container.died", "chaos-d-crash"));
}

}  // namespace
