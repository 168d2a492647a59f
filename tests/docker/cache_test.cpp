// The container cache (docker/cache.hpp) against a real dockerd, its requests counted through
// tests/support/SocketProxy: one list per (re)connect and per interval whatever its readers do,
// events applied in between.
#include "docker/cache.hpp"

#include <gtest/gtest.h>

#include <atomic>

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

}  // namespace

}  // namespace cache_test
