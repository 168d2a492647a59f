// The Docker client against a real dockerd (tests/support/DockerEngine), and docker::recreate on it.
#include "docker/client.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <sstream>
#include <thread>

#include <httplib.h>

#include "docker/recreate.hpp"
#include "support/docker_engine.hpp"
#include "support/listen_alone.hpp"
#include "support/process.hpp"

// Its own namespace: the unity build compiles this file with the rest of its folder.
namespace client_test {

using namespace orch;
using namespace orch::docker;
using namespace std::chrono_literals;

namespace {

test::DockerEngine*& engine = test::share_engine();

Client client() { return Client(Endpoint{engine->socket(), "http://localhost", std::nullopt}); }

TEST(DockerClient, NegotiatesTheEngineVersion) {
  REQUIRE_ENGINE();
  auto c = client();
  auto v = c.api_version();
  EXPECT_LE(compare_api_versions(v, kMaxApiVersion), 0);
  EXPECT_EQ(v, c.version()["ApiVersion"].get<std::string>().substr(0, v.size()));
}

// An engine that answers /_ping with the Api-Version it is given and records the paths asked for.
class FakeEngine {
 public:
  FakeEngine(int port, std::string api) : api_(std::move(api)) {
    server_.Get("/_ping", [this](const httplib::Request&, httplib::Response& res) {
      res.set_header("Api-Version", api_);
      res.set_content("OK", "text/plain");
    });
    server_.Get(R"(/v[0-9.]+/version)", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      paths_.push_back(req.path);
      res.set_content(R"({"ApiVersion":")" + api_ + R"("})", "application/json");
    });
    test::listen_alone(server_);
    server_.set_keep_alive_max_count(1);  // one request per connection: stop() need not wait out a kept-alive one
    // Bound before the constructor returns: the client may connect at once.
    if (!server_.bind_to_port("127.0.0.1", port)) throw std::runtime_error("cannot bind 127.0.0.1:" + std::to_string(port));
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~FakeEngine() {
    server_.stop();
    thread_.join();
  }
  std::vector<std::string> paths() {
    std::lock_guard lock(mu_);
    return paths_;
  }

 private:
  std::string api_;
  httplib::Server server_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> paths_;
};

TEST(DockerClient, NegotiatesDownToAnOlderEngineAndAgainAfterALostConnection) {
  // docs/heal.md: the API version is min(the engine's, the newest orch speaks), negotiated again
  // after a lost connection (the engine may have been upgraded meanwhile).
  const int port = test::free_port();
  Client c(Endpoint{"", "http://127.0.0.1:" + std::to_string(port), std::nullopt});
  {
    FakeEngine old(port, "1.41");
    EXPECT_EQ(c.api_version(), "1.41");
    EXPECT_EQ(c.version()["ApiVersion"], "1.41");
    EXPECT_EQ(old.paths(), std::vector<std::string>{"/v1.41/version"});
  }
  EXPECT_THROW(c.version(), UnreachableError);  // the engine went away
  FakeEngine upgraded(port, "1.99");            // and came back newer than orch
  EXPECT_EQ(c.version()["ApiVersion"], "1.99");
  EXPECT_EQ(upgraded.paths(), std::vector<std::string>{std::string("/v") + kMaxApiVersion + "/version"});
  EXPECT_EQ(c.api_version(), kMaxApiVersion);
}

TEST(DockerClient, VersionComparison) {
  EXPECT_LT(compare_api_versions("1.41", "1.47"), 0);
  EXPECT_GT(compare_api_versions("1.100", "1.47"), 0);
  EXPECT_EQ(compare_api_versions("1.41", "1.41"), 0);
}

TEST(DockerClient, UnreachableEngineIsUnreachableError) {
  Client c(Endpoint{"/nonexistent/docker.sock", "http://localhost", std::nullopt});
  EXPECT_THROW(c.api_version(), UnreachableError);
  EXPECT_THROW(c.list(), UnreachableError);
}

TEST(DockerClient, LifecycleInspectRenameRemove) {
  REQUIRE_ENGINE();
  auto c = client();
  auto id = engine->must({"run", "-d", "--network", "none", "--name", "lc1", "--label", "orch.heal=true",
                          "--restart", "on-failure:3", "--stop-timeout", "2", engine->image(), "sleep", "300"});
  auto info = c.inspect("lc1");
  EXPECT_EQ(info.id, id);
  EXPECT_EQ(info.name, "lc1");
  EXPECT_TRUE(info.running);
  EXPECT_EQ(info.label("orch.heal"), "true");
  EXPECT_EQ(info.restart_policy, "on-failure");
  EXPECT_EQ(info.restart_max_retries, 3);
  ASSERT_TRUE(info.stop_timeout);
  EXPECT_EQ(*info.stop_timeout, 2);
  EXPECT_FALSE(info.health);

  auto listed = c.list(true, {{"name", {"lc1"}}});
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].state, "running");
  EXPECT_EQ(listed[0].labels.at("orch.heal"), "true");

  c.stop(id, 1);
  EXPECT_FALSE(c.inspect(id).running);
  c.start(id);
  EXPECT_TRUE(c.inspect(id).running);
  auto before = c.inspect(id).started_at;
  c.restart(id, 1);
  EXPECT_NE(c.inspect(id).started_at, before);
  c.rename(id, "lc1-renamed");
  EXPECT_EQ(c.inspect(id).name, "lc1-renamed");
  c.remove(id, true);
  EXPECT_THROW(c.inspect(id), docker::NotFoundError);
}

TEST(DockerClient, HealthStateAndFailingStreak) {
  REQUIRE_ENGINE();
  auto c = client();
  engine->must({"run", "-d", "--network", "none", "--name", "hc1", "--health-cmd", "echo probe-said-no; false",
                "--health-interval", "1s", "--health-retries", "1", engine->image(), "sleep", "300"});
  ASSERT_TRUE(test::eventually([&] { return c.inspect("hc1").health->status == "unhealthy"; }, 20s));
  auto h = *c.inspect("hc1").health;
  EXPECT_GE(h.failing_streak, 1);
  EXPECT_NE(h.last_output.find("probe-said-no"), std::string::npos);
  EXPECT_EQ(h.last_exit_code, 1);
  c.remove("hc1", true);
}

TEST(DockerClient, LogsDemultiplexedAndTty) {
  REQUIRE_ENGINE();
  auto c = client();
  engine->must({"run", "-d", "--network", "none", "--name", "lg1", engine->image(), "sh", "-c",
                "echo out-line; echo err-line >&2; echo out-2; sleep 300"});
  engine->must({"run", "-d", "-t", "--network", "none", "--name", "lg2", engine->image(), "sh", "-c", "echo tty-line; sleep 300"});
  ASSERT_TRUE(test::eventually([&] { return c.logs("lg1", 10).size() == 3; }));
  auto lines = c.logs("lg1", 10);
  // Order across the two streams is the engine's; each line keeps its stream.
  bool saw_out = false, saw_err = false;
  for (const auto& l : lines) {
    saw_out |= (l.stream == "stdout" && l.text == "out-line");
    saw_err |= (l.stream == "stderr" && l.text == "err-line");
  }
  EXPECT_TRUE(saw_out);
  EXPECT_TRUE(saw_err);
  EXPECT_EQ(c.logs("lg1", 1).size(), 1u);
  ASSERT_TRUE(test::eventually([&] { return !c.logs("lg2", 10, true).empty(); }));
  EXPECT_EQ(c.logs("lg2", 10, true)[0].text, "tty-line");
  c.remove("lg1", true);
  c.remove("lg2", true);
}

// `orch logs SERVICE -f` (issue 23): the last lines, then each new one as the container writes
// it, whole lines although chunks end anywhere; a second container of the service is prefixed;
// an unknown service says so and names the ones there are.
TEST(DockerClient, FollowLogsAndOrchLogs) {
  REQUIRE_ENGINE();
  auto c = client();
  engine->must({"run", "-d", "--network", "none", "--name", "fl1", "--label", "com.docker.compose.service=ticker", "--label",
                "orch.heal=true", engine->image(), "sh", "-c",
                "echo first; i=0; while true; do i=$((i+1)); echo tick-$i; echo oops-$i >&2; sleep 0.2; done"});
  std::vector<docker::LogLine> got;
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::thread follower([&] {
    c.follow_logs(
        "fl1", 1, false,
        [&](const docker::LogLine& l) {
          std::lock_guard lock(mu);
          got.push_back(l);
          if (got.size() >= 8) stop = true;
        },
        [&] { return stop.load(); });
  });
  ASSERT_TRUE(test::eventually([&] { return stop.load(); }, std::chrono::seconds(15)));
  follower.join();
  {
    std::lock_guard lock(mu);
    for (const auto& l : got) {
      EXPECT_TRUE(l.text.rfind("tick-", 0) == 0 || l.text.rfind("oops-", 0) == 0 || l.text == "first") << l.text;
      EXPECT_EQ(l.stream, l.text.rfind("oops-", 0) == 0 ? "stderr" : "stdout") << l.text;
    }
  }
  test::TempDir d;
  std::map<std::string, std::string> env{{"DOCKER_HOST", engine->host()}, {"REDIS_URL", ""}, {"ORCH_CONFIG", ""}};
  auto once = test::run({ORCH_BINARY, "logs", "ticker", "--tail", "2"}, env);
  EXPECT_EQ(once.code, 0) << once.output;
  EXPECT_NE(once.output.find("tick-"), std::string::npos) << once.output;
  test::Process follow({ORCH_BINARY, "logs", "ticker", "-f", "--tail", "0", "-o", "ndjson"}, env, d.file("out"));
  auto lines_out = [&] {
    const auto text = test::read_file(d.file("out"));
    return std::count(text.begin(), text.end(), '\n');
  };
  ASSERT_TRUE(test::eventually([&] { return lines_out() >= 4; }, std::chrono::seconds(10)));
  follow.signal(SIGINT);
  EXPECT_EQ(follow.wait(std::chrono::seconds(5)), 0);
  const auto out = test::read_file(d.file("out"));
  const auto first = out.substr(0, out.find('\n'));
  auto j = json::parse(first);
  EXPECT_EQ(j["container"], "fl1");
  auto unknown = test::run({ORCH_BINARY, "logs", "tikcer"}, env);
  EXPECT_EQ(unknown.code, 2) << unknown.output;
  EXPECT_NE(unknown.output.find("ticker"), std::string::npos) << unknown.output;  // the services there are
  c.remove("fl1", true);
}

TEST(DockerClient, StatsAsDockerStatsComputesThem) {
  REQUIRE_ENGINE();
  auto c = client();
  engine->must({"run", "-d", "--network", "none", "--name", "st1", "--memory", "64m", engine->image(), "sh", "-c",
                "while true; do :; done"});
  auto s = c.stats("st1");
  EXPECT_GT(s.cpu_percent, 5.0);  // a busy loop
  EXPECT_GT(s.memory_usage, 0u);
  EXPECT_EQ(s.memory_limit, 64ull * 1024 * 1024);
  EXPECT_GT(s.memory_percent, 0.0);
  c.remove("st1", true);
}

TEST(DockerClient, ComputeStatsArithmetic) {
  auto doc = json::parse(R"({
    "cpu_stats": {"cpu_usage": {"total_usage": 2000}, "system_cpu_usage": 20000, "online_cpus": 2},
    "precpu_stats": {"cpu_usage": {"total_usage": 1000}, "system_cpu_usage": 10000},
    "memory_stats": {"usage": 1000, "limit": 4000, "stats": {"inactive_file": 200}}})");
  auto s = compute_stats(doc);
  EXPECT_DOUBLE_EQ(s.cpu_percent, 20.0);
  EXPECT_EQ(s.memory_usage, 800u);
  EXPECT_DOUBLE_EQ(s.memory_percent, 20.0);
}

TEST(DockerClient, DemuxSplitsFrames) {
  std::string body;
  auto frame = [&](char kind, const std::string& text) {
    body += kind;
    body += std::string("\0\0\0", 3);
    uint32_t n = static_cast<uint32_t>(text.size());
    body += static_cast<char>(n >> 24);
    body += static_cast<char>(n >> 16);
    body += static_cast<char>(n >> 8);
    body += static_cast<char>(n);
    body += text;
  };
  frame(1, "a\nb\n");
  frame(2, "oops\n");
  auto lines = demux_logs(body, false);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2].stream, "stderr");
  EXPECT_EQ(lines[2].text, "oops");
}

TEST(DockerClient, EventsStreamDeliversDieWithExitCode) {
  REQUIRE_ENGINE();
  auto c = client();
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<EventMessage> seen;
  std::thread follower([&] {
    auto c2 = client();
    c2.events(EventFilter{}, [&](const EventMessage& m) {
      std::lock_guard lock(mu);
      seen.push_back(m);
    }, [&] { return stop.load(); });
  });
  std::this_thread::sleep_for(300ms);
  engine->must({"run", "-d", "--network", "none", "--name", "ev1", "--label", "team=orch", engine->image(), "sh", "-c", "exit 3"});
  ASSERT_TRUE(test::eventually([&] {
    std::lock_guard lock(mu);
    for (const auto& m : seen)
      if (m.action == "die" && m.attribute("name") == "ev1") return true;
    return false;
  }));
  stop = true;
  follower.join();
  std::lock_guard lock(mu);
  for (const auto& m : seen) {
    if (m.action != "die") continue;
    EXPECT_EQ(m.type, "container");
    EXPECT_EQ(m.attribute("exitCode"), "3");
    EXPECT_EQ(m.attribute("team"), "orch");
    EXPECT_GT(m.time_nano, 0);
  }
  c.remove("ev1", true);
}

// The engine's bounded log, read back without streaming: kill/die/stop of a `docker stop`, in
// order, at or after the container's start and around its FinishedAt.
TEST(DockerClient, PastEventsAnswerFromTheEnginesLog) {
  REQUIRE_ENGINE();
  auto c = client();
  engine->must({"run", "-d", "--network", "none", "--stop-timeout", "1", "--name", "ev2", engine->image(), "sleep", "300"});
  engine->must({"stop", "ev2"});
  auto info = c.inspect("ev2");
  const auto started = engine_time_ns(info.started_at), finished = engine_time_ns(info.finished_at);
  ASSERT_TRUE(started && finished) << info.started_at << " " << info.finished_at;
  const auto before = std::chrono::steady_clock::now();
  auto events = c.past_events(*started - 1'000'000'000LL, {{"container", {info.id}}});
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);  // answered, not streamed
  std::vector<std::string> actions;
  for (const auto& m : events) {
    EXPECT_EQ(m.id, info.id);
    EXPECT_GE(m.time_nano, *started - 1'000'000'000LL);
    actions.push_back(m.action);
  }
  auto at = [&](const std::string& a) { return std::find(actions.begin(), actions.end(), a) - actions.begin(); };
  ASSERT_LT(at("die"), static_cast<long>(actions.size()));
  EXPECT_LT(at("start"), at("kill"));
  EXPECT_LT(at("kill"), at("die"));
  EXPECT_LT(at("die"), at("stop"));
  for (const auto& m : events) {
    if (m.action == "die") {
      EXPECT_LT(std::llabs(m.time_nano - *finished), 1'000'000'000LL);
    }
  }
  c.remove("ev2", true);
}

TEST(DockerClient, EngineTimes) {
  EXPECT_EQ(engine_time_ns("2026-01-02T03:04:05.123456789Z"), 1767323045123456789LL);
  EXPECT_EQ(engine_time_ns("2026-01-02T03:04:05Z"), 1767323045000000000LL);
  EXPECT_EQ(engine_time_ns("2026-01-02T05:04:05.5+02:00"), 1767323045500000000LL);
  EXPECT_FALSE(engine_time_ns("0001-01-01T00:00:00Z"));
  EXPECT_FALSE(engine_time_ns(""));
}

TEST(DockerClient, CreateFromInspectAndImageTag) {
  REQUIRE_ENGINE();
  auto c = client();
  auto img = c.image_inspect(engine->image());
  ASSERT_TRUE(img.contains("Id"));
  c.image_tag(engine->image(), "orch-test/busybox", "orch-lkg");
  EXPECT_EQ(c.image_inspect("orch-test/busybox:orch-lkg")["Id"], img["Id"]);
  json body = {{"Image", engine->image()}, {"Cmd", {"sleep", "300"}}, {"Labels", {{"made", "by-test"}}},
               {"HostConfig", {{"NetworkMode", "none"}}}};
  auto id = c.create("cr1", body);
  c.start(id);
  auto info = c.inspect("cr1");
  EXPECT_TRUE(info.running);
  EXPECT_EQ(info.label("made"), "by-test");
  c.kill(id);
  EXPECT_EQ(c.wait(id, 10s), 137);
  c.remove(id);
}

}  // namespace

// The engine's JSON is read without throwing whatever it holds (tests/fuzz/docker_fuzz.cpp): a
// json type_error thrown out of libcurl's write callback used to end the watcher thread, and with
// it orch serve.
TEST(DockerClient, ReadersTakeWhateverTheEngineSends) {
  auto m = docker::event_from_json(json::parse(
      R"({"Type": "container", "Action": 5, "Actor": {"ID": 7, "Attributes": {"name": "web", "x": 1}}, "id": "old-id", "timeNano": "soon"})"));
  EXPECT_EQ(m.type, "container");
  EXPECT_EQ(m.action, "");
  EXPECT_EQ(m.id, "old-id");
  EXPECT_EQ(m.attribute("name"), "web");
  EXPECT_EQ(m.attribute("x"), "");
  EXPECT_EQ(m.time_nano, 0);
  auto c = docker::info_from_json(json::parse(
      R"({"Id": "abc", "Name": ["x"], "Config": "none", "State": {"ExitCode": 1e300, "Health": {"Log": [3]}, "StartedAt": 1},
          "HostConfig": {"RestartPolicy": []}, "RestartCount": 99999999999})"));
  EXPECT_EQ(c.id, "abc");
  EXPECT_EQ(c.name, "");
  EXPECT_EQ(c.exit_code, 0);
  EXPECT_EQ(c.restart_count, std::numeric_limits<int>::max());
  EXPECT_EQ(c.restart_policy, "no");
  ASSERT_TRUE(c.health);
  EXPECT_TRUE(docker::create_body_from(c).is_object());
  EXPECT_TRUE(docker::info_from_json(json("not an object")).raw.is_object());
  auto list = docker::containers_from_json(json::parse(R"([1, {"Id": "a", "Names": "b", "Created": "x"}, {"Names": [2]}])"));
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, "a");
  EXPECT_EQ(list[0].name, "");
  EXPECT_TRUE(docker::containers_from_json(json::object()).empty());
  auto s = docker::compute_stats(json::parse(R"({"cpu_stats": 5, "memory_stats": {"usage": 1e300, "limit": "x"}})"));
  EXPECT_EQ(s.memory_usage, 0u);
  EXPECT_EQ(s.cpu_percent, 0);
}

// Times outside 1970 to 2200 are not read: nanoseconds since the epoch overflow a long long in 2262.
TEST(DockerClient, EngineTimesFarAwayAreUnknown) {
  EXPECT_FALSE(docker::engine_time_ns("9999-12-31T23:59:59Z"));
  EXPECT_FALSE(docker::engine_time_ns("1969-12-31T23:59:59Z"));
  EXPECT_TRUE(docker::engine_time_ns("2199-12-31T23:59:59.999999999Z"));
}

// ---- docker::recreate's way back (docker/recreate.hpp): whatever step fails — moving the old
// container aside, creating or connecting the new one, the caller's acceptance — the old container
// ends under its own name, running if it ran, and no new one is left; when even that cannot be
// done the error says so. (Its way forward, mounts, networks and aliases, is kept by rollback's
// ImageRollback.TheReplacementKeepsMountsNetworksAndAliasesAndMustRunThreeSeconds.) Here, not in a
// file of its own: each file's share_engine() starts a dockerd of its own, seconds of CI each.

namespace {

struct Recreate : ::testing::Test {
  void TearDown() override {
    if (!engine) return;
    for (const auto& id : split_lines(engine->docker({"ps", "-aq", "--filter", "name=rc-"}).output)) engine->docker({"rm", "-f", id});
    engine->docker({"network", "rm", "rc-net-a", "rc-net-b"});
  }
  static std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) out.push_back(line);
    return out;
  }
  // A container of the busybox image, `sleep 300`, stopped within a second.
  ContainerInfo run_app(const std::string& name, const std::vector<std::string>& extra = {"--network", "none"}) {
    std::vector<std::string> args = {"run", "-d", "--stop-timeout", "1", "--name", name};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {engine->image(), "sleep", "300"});
    engine->must(args);
    return client().inspect(name);
  }
  // Every container whose name starts with rc- (id name), to show nothing was left behind.
  std::vector<std::string> containers() {
    return split_lines(engine->must({"ps", "-a", "--format", "{{.Names}}", "--filter", "name=rc-"}));
  }
  static bool accept(const std::string&, std::string&) { return true; }
};

TEST_F(Recreate, AnImageTheEngineDoesNotHaveLeavesTheOldContainerRunningUnderItsName) {
  REQUIRE_ENGINE();
  auto c = client();
  const auto old = run_app("rc-app");
  bool asked = false;
  auto r = recreate(c, old, "orch-test/no-such-image:1", [&](const std::string&, std::string&) { return asked = true; });
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(asked) << "a container that was never created was offered for acceptance";
  EXPECT_TRUE(r.new_id.empty());
  EXPECT_NE(r.error.find("no-such-image"), std::string::npos) << r.error;
  const auto now = client().inspect("rc-app");
  EXPECT_EQ(now.id, old.id);
  EXPECT_TRUE(now.running);
  EXPECT_EQ(containers(), std::vector<std::string>{"rc-app"});
}

TEST_F(Recreate, ANotAcceptedReplacementIsRemovedWithTheCallersReasonOrAPlainOne) {
  REQUIRE_ENGINE();
  auto c = client();
  const auto old = run_app("rc-app");
  std::string offered;
  auto r = recreate(c, old, "", [&](const std::string& id, std::string& why) {
    offered = id;
    EXPECT_EQ(client().inspect("rc-app").id, id) << "the replacement runs under the old name while it is judged";
    why = "not healthy within 1s";
    return false;
  });
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "not healthy within 1s");
  EXPECT_EQ(r.new_id, offered);
  EXPECT_THROW(client().inspect(offered), docker::NotFoundError);
  EXPECT_EQ(client().inspect("rc-app").id, old.id);
  EXPECT_TRUE(client().inspect("rc-app").running);

  // Refused without a reason: the error still says what happened.
  auto plain = recreate(c, client().inspect("rc-app"), "", [](const std::string&, std::string&) { return false; });
  EXPECT_EQ(plain.error, "the new container was not accepted");
  EXPECT_EQ(containers(), std::vector<std::string>{"rc-app"});
}

TEST_F(Recreate, AStoppedContainerIsReplacedAndRestoredWithoutBeingStarted) {
  REQUIRE_ENGINE();
  auto c = client();
  run_app("rc-app");
  engine->must({"stop", "-t", "1", "rc-app"});
  const auto old = client().inspect("rc-app");
  ASSERT_FALSE(old.running);
  auto refused = recreate(c, old, "", [](const std::string&, std::string&) { return false; });
  EXPECT_FALSE(refused.ok);
  EXPECT_EQ(client().inspect("rc-app").id, old.id);
  EXPECT_FALSE(client().inspect("rc-app").running) << "restoring started a container that was stopped";

  auto r = recreate(c, old, "", accept);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(client().inspect("rc-app").id, r.new_id);
  EXPECT_THROW(client().inspect(old.id), docker::NotFoundError);
}

TEST_F(Recreate, ANetworkGoneSinceTheInspectFailsTheReplacementAndTheOldContainerComesBack) {
  REQUIRE_ENGINE();
  auto c = client();
  engine->must({"network", "create", "rc-net-a"});
  engine->must({"network", "create", "rc-net-b"});
  run_app("rc-app", {"--network", "rc-net-a"});
  engine->must({"network", "connect", "rc-net-b", "rc-app"});
  const auto old = client().inspect("rc-app");
  ASSERT_TRUE(other_networks_of(old).contains("rc-net-b")) << old.raw["NetworkSettings"];
  // Gone between the inspect and the recreate: the engine takes the connect of a created container
  // and refuses its start.
  engine->must({"network", "disconnect", "rc-net-b", "rc-app"});
  engine->must({"network", "rm", "rc-net-b"});
  auto r = recreate(c, old, "", accept);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("rc-net-b"), std::string::npos) << r.error;
  EXPECT_FALSE(r.new_id.empty());
  EXPECT_THROW(client().inspect(r.new_id), docker::NotFoundError);
  EXPECT_EQ(client().inspect("rc-app").id, old.id);
  EXPECT_TRUE(client().inspect("rc-app").running);
  EXPECT_EQ(containers(), std::vector<std::string>{"rc-app"});
}

TEST_F(Recreate, AContainerGoneBeforeTheMoveIsAnErrorThatCreatesNothing) {
  REQUIRE_ENGINE();
  auto c = client();
  const auto old = run_app("rc-app");
  engine->must({"rm", "-f", "rc-app"});
  auto r = recreate(c, old, "", accept);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.rfind("could not move the old container aside: ", 0), 0u) << r.error;
  EXPECT_TRUE(r.new_id.empty());
  EXPECT_TRUE(containers().empty());
}

TEST_F(Recreate, WhenTheOldContainerCannotBeRestoredTheErrorSaysSo) {
  REQUIRE_ENGINE();
  auto c = client();
  const auto old = run_app("rc-app");
  // Someone removes the old container (aside, stopped) while the new one is judged.
  auto r = recreate(c, old, "", [&](const std::string&, std::string& why) {
    engine->must({"rm", "-f", old.id});
    why = "unhealthy";
    return false;
  });
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.rfind("unhealthy; restoring the old container also failed: ", 0), 0u) << r.error;
  EXPECT_TRUE(containers().empty()) << "the refused replacement was left";
}

}  // namespace

}  // namespace client_test
