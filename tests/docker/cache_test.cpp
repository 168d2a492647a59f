// The container cache (docker/cache.hpp) against a real dockerd, its requests counted through
// tests/support/SocketProxy: one list per (re)connect and per interval whatever its readers do,
// events applied in between.
#include "docker/cache.hpp"

#include <gtest/gtest.h>

#include <httplib.h>

#include <atomic>
#include <mutex>

#include "core/json.hpp"
#include "support/docker_engine.hpp"
#include "support/process.hpp"
#include "support/socket_proxy.hpp"

// Its own namespace: the unity build compiles this file with the rest of its folder.
namespace cache_test {

using namespace orch;
using namespace orch::docker;
using namespace std::chrono_literals;

namespace {

test::DockerEngine*& engine = test::share_engine();

bool is_list(std::string_view line) {
  const auto path = line.substr(0, line.find('?'));
  return line.rfind("GET ", 0) == 0 && path.size() >= 16 && path.substr(path.size() - 16) == "/containers/json";
}

const ContainerSummary* named(const ContainerList& all, const std::string& name) {
  for (const auto& c : *all)
    if (c.name == name) return &c;
  return nullptr;
}

TEST(ContainerCache, ReadersNeverListAndEventsKeepItInStep) {
  REQUIRE_ENGINE();
  engine->docker({"rm", "-f", "cache-a"});
  test::SocketProxy proxy(engine->socket());
  std::atomic<int> lists{0};
  proxy.on_request([&](std::string_view line) {
    if (is_list(line)) ++lists;
  });
  Client client(Endpoint{proxy.socket(), "http://localhost", std::nullopt});
  ContainerCache cache(client, Millis(0));  // lists only on (re)connect
  std::atomic<int> connected_lists{0};
  cache.add_listener({nullptr, nullptr, [&](ContainerCache::ListReason r) {
                        if (r == ContainerCache::ListReason::connected) ++connected_lists;
                      }});
  EXPECT_THROW(cache.containers(), UnreachableError);  // not listed yet: nothing stale is served
  cache.start();
  ASSERT_TRUE(test::eventually([&] { return connected_lists.load() == 1; }, 20s));
  const int after_start = lists.load();
  EXPECT_EQ(after_start, 1);

  engine->must({"run", "-d", "--network", "none", "--name", "cache-a", "--label", "orch.heal=true", engine->image(), "sleep", "300"});
  ASSERT_TRUE(test::eventually(
      [&] {
        const auto* c = named(cache.containers(), "cache-a");
        return c && c->state == "running" && !c->image_id.empty();
      },
      20s));
  const auto first = *named(cache.containers(), "cache-a");
  EXPECT_EQ(first.labels.at("orch.heal"), "true");
  EXPECT_NE(first.revision, 0u);

  engine->must({"stop", "-t", "0", "cache-a"});
  ASSERT_TRUE(test::eventually([&] { return named(cache.containers(), "cache-a")->state == "exited"; }, 20s));
  EXPECT_GT(named(cache.containers(), "cache-a")->revision, first.revision);  // changed: a new revision
  for (int i = 0; i < 100; ++i) cache.containers();                           // readers cost the engine nothing
  EXPECT_TRUE(cache.find("cache-a").has_value());

  engine->must({"rm", "-f", "cache-a"});
  ASSERT_TRUE(test::eventually([&] { return named(cache.containers(), "cache-a") == nullptr; }, 20s));
  EXPECT_EQ(lists.load(), after_start) << "the cache listed again without a reconnect or an interval";

  // A lost engine connection: stale data is not served, and the reconnect lists once.
  proxy.stop();
  ASSERT_TRUE(test::eventually(
      [&] {
        try {
          cache.containers();
          return false;
        } catch (const UnreachableError&) {
          return true;
        }
      },
      20s));
  proxy.start();
  ASSERT_TRUE(test::eventually([&] { return connected_lists.load() == 2; }, 30s));
  EXPECT_NO_THROW(cache.containers());
  EXPECT_EQ(lists.load(), after_start + 1);
  cache.stop();
}

TEST(ContainerCache, OneListPerInterval) {
  REQUIRE_ENGINE();
  test::SocketProxy proxy(engine->socket());
  std::atomic<int> lists{0};
  proxy.on_request([&](std::string_view line) {
    if (is_list(line)) ++lists;
  });
  Client client(Endpoint{proxy.socket(), "http://localhost", std::nullopt});
  ContainerCache cache(client, Millis(300));
  cache.start();
  ASSERT_TRUE(test::eventually([&] { return lists.load() >= 1; }, 20s));
  std::this_thread::sleep_for(1500ms);
  for (int i = 0; i < 1000; ++i) cache.containers();
  cache.stop();
  // 1 on connect + about 5 intervals in 1.5 s; never one per read.
  EXPECT_GE(lists.load(), 3);
  EXPECT_LE(lists.load(), 8);
}

// An engine whose every answer the test decides: /_ping, a list of one container (or a 500 while
// `fail_lists` > 0), inspect always a 500, and an event stream that sends what the test queues
// and stays open until `end_stream`.
struct FakeEngine {
  httplib::Server server;
  std::mutex mu;
  std::vector<std::string> queued;
  std::atomic<int> fail_lists{0}, lists{0}, inspects{0};
  std::atomic<int> list_delay_ms{0};  // an engine slow to list (a loaded host, many containers)
  std::atomic<bool> end_stream{false}, stopping{false};
  std::thread thread;
  int port = 0;
  FakeEngine() {
    server.Get("/_ping", [](const httplib::Request&, httplib::Response& res) {
      res.set_header("Api-Version", "1.45");
      res.set_content("OK", "text/plain");
    });
    server.Get(R"(/v[\d.]+/containers/json)", [this](const httplib::Request&, httplib::Response& res) {
      ++lists;
      std::this_thread::sleep_for(std::chrono::milliseconds(list_delay_ms.load()));
      if (fail_lists > 0) {
        --fail_lists;
        res.status = 500;
        res.set_content(R"({"message":"the engine's database is locked"})", "application/json");
        return;
      }
      res.set_content(R"([{"Id":"a1","Names":["/listed-a"],"Image":"busybox","State":"running","Status":"Up 3 seconds","Created":100}])",
                      "application/json");
    });
    server.Get(R"(/v[\d.]+/containers/([^/]+)/json)", [this](const httplib::Request& req, httplib::Response& res) {
      ++inspects;
      // Two the engine can describe, in states only an inspect tells.
      for (const char* state : {"dead", "removing"})
        if (req.matches[1].str() == std::string(state) + "-id") {
          res.set_content(json{{"Id", req.matches[1].str()}, {"Name", std::string("/") + state}, {"State", {{"Status", state}}}}.dump(),
                          "application/json");
          return;
        }
      res.status = 500;
      res.set_content(R"({"message":"inspect timed out"})", "application/json");
    });
    server.Get(R"(/v[\d.]+/events)", [this](const httplib::Request&, httplib::Response& res) {
      end_stream = false;
      res.set_chunked_content_provider("application/json", [this](size_t, httplib::DataSink& sink) {
        while (!stopping && !end_stream) {
          std::string line;
          {
            std::lock_guard lock(mu);
            if (!queued.empty()) {
              line = queued.front();
              queued.erase(queued.begin());
            }
          }
          if (line.empty()) {
            std::this_thread::sleep_for(10ms);
            continue;
          }
          if (!sink.write(line.data(), line.size())) return false;
        }
        sink.done();
        return true;
      });
    });
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
  }
  ~FakeEngine() {
    stopping = true;
    server.stop();
    thread.join();
  }
  Endpoint endpoint() const { return Endpoint{"", "http://127.0.0.1:" + std::to_string(port), std::nullopt}; }
  void send(const std::string& action, const std::string& id, const json& attributes) {
    static long long t = 1'700'000'000'000'000'000LL;
    t += 1'000'000;
    json e = {{"Type", "container"}, {"Action", action}, {"Actor", {{"ID", id}, {"Attributes", attributes}}}, {"timeNano", t}};
    std::lock_guard lock(mu);
    queued.push_back(e.dump() + "\n");
  }
};

TEST(ContainerCache, AContainerTheEngineCannotInspectIsKnownByItsEvents) {
  // The inspect of a new container fails (not a 404): the cache keeps what the event says (its
  // name, image and labels; not the event's own attributes as labels), and follows its later events.
  FakeEngine fake;
  Client client(fake.endpoint());
  ContainerCache cache(client, Millis(0));
  std::atomic<int> events{0};
  cache.add_listener({nullptr, [&](const EventMessage&) { ++events; }, nullptr});
  cache.start();
  ASSERT_TRUE(test::eventually(
      [&] {
        try {
          return named(cache.containers(), "listed-a") != nullptr;
        } catch (const UnreachableError&) {
          return false;
        }
      },
      10s));
  const auto generation = cache.generation();
  fake.send("start", "b2", {{"name", "evt-b"}, {"image", "busybox:1.36"}, {"orch.heal", "true"}, {"com.example.tier", "web"}});
  ASSERT_TRUE(test::eventually([&] { return events.load() == 1; }, 10s));
  EXPECT_GE(fake.inspects.load(), 1);
  EXPECT_GT(cache.generation(), generation);
  const auto* b = named(cache.containers(), "evt-b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->id, "b2");
  EXPECT_EQ(b->state, "running");
  EXPECT_EQ(b->status, "Up");
  EXPECT_EQ(b->image, "busybox:1.36");
  EXPECT_EQ(b->labels, (Labels{{"com.example.tier", "web"}, {"orch.heal", "true"}}));
  EXPECT_EQ(named(cache.containers(), "listed-a")->status, "Up 3 seconds") << "the engine's own words for a listed one";

  // Its later events: known now, no more inspects.
  const int inspects = fake.inspects.load();
  fake.send("pause", "b2", {{"name", "evt-b"}});
  ASSERT_TRUE(test::eventually([&] { return events.load() == 2; }, 10s));
  EXPECT_EQ(named(cache.containers(), "evt-b")->state, "paused");
  EXPECT_EQ(named(cache.containers(), "evt-b")->status, "Up (Paused)");
  fake.send("unpause", "b2", {{"name", "evt-b"}});
  ASSERT_TRUE(test::eventually([&] { return events.load() == 3; }, 10s));
  EXPECT_EQ(named(cache.containers(), "evt-b")->state, "running");
  fake.send("die", "b2", {{"name", "evt-b"}, {"exitCode", "3"}});
  ASSERT_TRUE(test::eventually([&] { return events.load() == 4; }, 10s));
  EXPECT_EQ(named(cache.containers(), "evt-b")->status, "Exited (3)");
  EXPECT_EQ(fake.inspects.load(), inspects);
  EXPECT_EQ(cache.find("evt-b")->id, "b2");
  // Inspected: the engine's state in `docker ps` words, or as the engine says it.
  fake.send("create", "dead-id", {{"name", "dead"}});
  fake.send("create", "removing-id", {{"name", "removing"}});
  ASSERT_TRUE(test::eventually([&] { return events.load() == 6; }, 10s));
  EXPECT_EQ(named(cache.containers(), "dead")->status, "Dead");
  EXPECT_EQ(named(cache.containers(), "removing")->status, "removing");
  EXPECT_FALSE(cache.find("never-was").has_value());

  // A list that fails after a reconnect: not in step (the engine's error is the reason), and in
  // step again once a list works.
  std::vector<std::string> downs;
  std::mutex mu;
  std::atomic<int> ups{0};
  ContainerCache second(client, Millis(0));
  second.add_listener({[&](bool up, const std::string& why) {
                         if (up) ++ups;
                         std::lock_guard lock(mu);
                         if (!up) downs.push_back(why);
                       },
                       nullptr, nullptr});
  second.start();
  ASSERT_TRUE(test::eventually([&] { return ups.load() == 1; }, 10s));
  cache.stop();
  fake.fail_lists = 1;
  fake.end_stream = true;
  ASSERT_TRUE(test::eventually([&] { return ups.load() == 2; }, 10s));
  EXPECT_EQ(fake.fail_lists.load(), 0);
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(downs.size(), 2u);
    EXPECT_EQ(downs[0].find("event stream ended") != std::string::npos, true) << downs[0];
    EXPECT_NE(downs[1].find("the engine's database is locked"), std::string::npos) << downs[1];
  }
  EXPECT_NE(named(second.containers(), "listed-a"), nullptr);
  second.stop();
}

TEST(ContainerCache, ACallBeforeTheFirstListWaitsForItAndAnEngineThatRefusesIsToldAtOnce) {
  // A request right after `orch serve` started (an MCP rollback, /status) is answered from the
  // first list once it is in, not refused with "not listed yet" while the engine answers (seen in
  // CI: an MCP rollback failed so on a loaded machine).
  FakeEngine fake;
  fake.list_delay_ms = 1500;
  Client client(fake.endpoint());
  ContainerCache cache(client, Millis(0));
  cache.start();
  auto t0 = std::chrono::steady_clock::now();
  const auto all = cache.containers();
  EXPECT_NE(named(all, "listed-a"), nullptr);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 1s) << "answered before the list was in";
  cache.stop();

  // The engine refuses: the first attempt ends at once, and so does the wait; the reason is the
  // engine's, not "not listed yet".
  Client refused(Endpoint{"", test::refused_url(), std::nullopt});
  ContainerCache unreachable(refused, Millis(0));
  unreachable.start();
  t0 = std::chrono::steady_clock::now();
  try {
    unreachable.containers();
    ADD_FAILURE() << "an engine that refuses connections listed containers";
  } catch (const UnreachableError& e) {
    EXPECT_EQ(std::string(e.what()).find("not listed yet"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, ContainerCache::kFirstListWait);
  unreachable.stop();

  // Never started (a CLI's cache), or stopped: nothing is on its way, nothing is waited for.
  ContainerCache idle(client, Millis(0));
  t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(idle.containers(), UnreachableError);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
}

TEST(ContainerCache, AFailedPeriodicListKeepsWhatTheCacheHas) {
  FakeEngine fake;
  Client client(fake.endpoint());
  ContainerCache cache(client, Millis(100));
  std::atomic<int> interval_lists{0};
  cache.add_listener({nullptr, nullptr, [&](ContainerCache::ListReason r) {
                        if (r == ContainerCache::ListReason::interval) ++interval_lists;
                      }});
  cache.start();
  ASSERT_TRUE(test::eventually([&] { return interval_lists.load() >= 1; }, 10s));
  fake.fail_lists = 3;
  const int lists = fake.lists.load();
  ASSERT_TRUE(test::eventually([&] { return fake.fail_lists.load() == 0; }, 10s));
  EXPECT_GE(fake.lists.load(), lists + 3);
  // Still in step (the watcher's stream is up), serving the last list.
  const auto* a = named(cache.containers(), "listed-a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->state, "running");
  const int installed = interval_lists.load();
  ASSERT_TRUE(test::eventually([&] { return interval_lists.load() > installed; }, 10s)) << "lists again once the engine answers";
  cache.stop();
}

}  // namespace

}  // namespace cache_test
