// orch init (issue 23) against a real dockerd: a compose project's containers (made with compose's
// labels: the test engine has no compose and no networking) become an orch.yaml that loads, with
// health URLs from HEALTHCHECKs; the file is never replaced without --force. Published ports need a
// bridge network, which this engine cannot set up: their reading is checked on the engine's list
// format, and describe_project on a list entry that publishes one.
#include <gtest/gtest.h>

#include <filesystem>

#include "config/config.hpp"
#include "docker/compose_project.hpp"
#include "docker/identity.hpp"
#include "support/docker_engine.hpp"

// Its own namespace: the unity build compiles this file with the rest of its folder.
namespace compose_init_test {

using namespace orch;
using namespace orch::docker;

namespace {

test::DockerEngine*& engine = test::share_engine();

TEST(ComposeInit, HealthcheckUrlIsTakenFromTheCommand) {
  EXPECT_EQ(healthcheck_url({"CMD-SHELL", "curl -fsS http://localhost:8001/health || exit 1"}), "http://localhost:8001/health");
  EXPECT_EQ(healthcheck_url({"CMD", "wget", "-q", "-O-", "https://127.0.0.1:8443/ready?deep=1"}), "https://127.0.0.1:8443/ready?deep=1");
  EXPECT_EQ(healthcheck_url({"CMD-SHELL", "wget -qO- 'http://web:3000/'"}), "http://web:3000/");
  EXPECT_FALSE(healthcheck_url({"CMD-SHELL", "pg_isready -U postgres"}));
  EXPECT_FALSE(healthcheck_url({}));
}

TEST(ComposeInit, PublishedPortsAreReadFromTheList) {
  auto list = containers_from_json(json::parse(R"([{"Id":"a","Names":["/shop-web-1"],"State":"running","Ports":[
      {"IP":"0.0.0.0","PrivatePort":3000,"PublicPort":8080,"Type":"tcp"},{"IP":"::","PrivatePort":3000,"PublicPort":8080,"Type":"tcp"},
      {"PrivatePort":9229,"Type":"tcp"},{"PrivatePort":"odd"}]}])"));
  ASSERT_EQ(list.size(), 1u);
  ASSERT_EQ(list[0].ports.size(), 4u);
  EXPECT_EQ(list[0].ports[0].private_port, 3000);
  EXPECT_EQ(list[0].ports[0].public_port, 8080);
  EXPECT_EQ(list[0].ports[2].public_port, 0);   // exposed, not published
  EXPECT_EQ(list[0].ports[3].private_port, 0);  // not a number: zero, never a throw
}

TEST(ComposeInit, ChoosesTheOnlyRunningProjectOrSaysWhichThereAre) {
  auto c = [](std::string project, std::string state) {
    ContainerSummary s;
    s.state = std::move(state);
    s.labels[kComposeProjectLabel] = std::move(project);
    return s;
  };
  EXPECT_EQ(choose_project({c("shop", "running"), c("old", "exited")}, ""), "shop");
  EXPECT_EQ(choose_project({c("shop", "running"), c("old", "exited")}, "old"), "old");
  try {
    choose_project({c("shop", "running"), c("blog", "running")}, "");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "several compose projects are running: blog, shop; choose one with --project");
  }
  EXPECT_THROW(choose_project({}, ""), UsageError);
  EXPECT_THROW(choose_project({c("shop", "running")}, "nope"), UsageError);
}

Config load_file(const std::string& path) {
  ConfigInputs in;
  in.env = std::map<std::string, std::string>{};
  in.file = path;
  return load_config(in);
}

TEST(ComposeInit, WritesAnOrchYamlFromTheRunningProject) {
  REQUIRE_ENGINE();
  const std::vector<std::string> names = {"shop-web-1", "shop-rag-1", "shop-worker-1", "blog-db-1"};
  for (const auto& n : names) engine->docker({"rm", "-f", n});
  auto run_in = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {"run", "-d"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {engine->image(), "sleep", "300"});
    engine->must(argv);
  };
  // web: host network, its HEALTHCHECK's localhost port is the host's.
  run_in({"--name", "shop-web-1", "--network", "host", "--label", "com.docker.compose.project=shop", "--label",
          "com.docker.compose.service=web", "--label", "orch.heal=true", "--health-cmd",
          "wget -q -O- http://localhost:3000/health || exit 1", "--health-interval", "1h"});
  // rag_service: its own network namespace, port not published: reached by name in the project.
  run_in({"--name", "shop-rag-1", "--network", "none", "--label", "com.docker.compose.project=shop", "--label",
          "com.docker.compose.service=rag_service", "--label", "com.docker.compose.depends_on=web:service_started:false", "--health-cmd",
          "curl -f http://127.0.0.1:8001/healthz", "--health-interval", "1h"});
  run_in({"--name", "shop-worker-1", "--network", "none", "--label", "com.docker.compose.project=shop", "--label",
          "com.docker.compose.service=worker"});
  run_in({"--name", "blog-db-1", "--network", "none", "--label", "com.docker.compose.project=blog", "--label",
          "com.docker.compose.service=db"});
  test::TempDir d;
  const std::string out = d.file("orch.yaml");
  const std::map<std::string, std::string> env = {{"DOCKER_HOST", engine->host()}, {"ORCH_CONFIG", ""}};

  // Two projects run: orch init asks which.
  auto which = test::run({ORCH_BINARY, "init", "--output", out}, env);
  EXPECT_EQ(which.code, 64) << which.output;
  EXPECT_NE(which.output.find("several compose projects are running"), std::string::npos) << which.output;
  EXPECT_NE(which.output.find("blog"), std::string::npos);
  EXPECT_NE(which.output.find("shop"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(out));
  auto unknown = test::run({ORCH_BINARY, "init", "--project", "nope", "--output", out}, env);
  EXPECT_EQ(unknown.code, 64) << unknown.output;

  auto r = test::run({ORCH_BINARY, "init", "--project", "shop", "--output", out}, env);
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string text = test::read_file(out);
  EXPECT_EQ(text.rfind("# orch.yaml written by `orch init` from the compose project \"shop\" at ", 0), 0u) << text;
  EXPECT_NE(text.find("# add label orch.depends-on=web"), std::string::npos) << text;
  EXPECT_NE(text.find("# has label orch.heal=true"), std::string::npos) << text;
  EXPECT_NE(text.find("# container now: shop-web-1"), std::string::npos) << text;
  auto check = test::run({ORCH_BINARY, "config", "--check", "-c", out}, {{"ORCH_CONFIG", ""}});
  EXPECT_EQ(check.code, 0) << check.output << text;
  const auto cfg = load_file(out);
  ASSERT_EQ(cfg.services.size(), 3u) << text;  // blog's db is not in it
  const auto* web = cfg.service("web");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->url, "http://127.0.0.1:3000");
  EXPECT_EQ(web->health, "/health");
  const auto* rag = cfg.service("rag_service");
  ASSERT_NE(rag, nullptr);
  EXPECT_EQ(rag->url, "http://rag_service:8001");
  EXPECT_EQ(rag->health, "/healthz");
  const auto* worker = cfg.service("worker");
  ASSERT_NE(worker, nullptr);
  EXPECT_EQ(worker->url, "");
  EXPECT_EQ(worker->container, "worker");

  // An existing file is kept without --force (exit 73), replaced with it; - writes to stdout.
  test::write_file(out, "# mine\n");
  auto again = test::run({ORCH_BINARY, "init", "--project", "shop", "--output", out}, env);
  EXPECT_EQ(again.code, 73) << again.output;
  EXPECT_NE(again.output.find("--force"), std::string::npos) << again.output;
  EXPECT_EQ(test::read_file(out), "# mine\n");
  EXPECT_EQ(test::run({ORCH_BINARY, "init", "--project", "shop", "--output", out, "--force"}, env).code, 0);
  EXPECT_NE(test::read_file(out).find("services:"), std::string::npos);
  auto stdout_run = test::run({ORCH_BINARY, "init", "--project", "shop", "--output", "-"}, env);
  EXPECT_EQ(stdout_run.code, 0);
  EXPECT_NE(stdout_run.output.find("  rag_service:\n"), std::string::npos) << stdout_run.output;

  for (const auto& n : names) engine->docker({"rm", "-f", n});
  // No project running at all: a clear error, not an empty file.
  auto none = test::run({ORCH_BINARY, "init", "--output", d.file("none.yaml")}, env);
  EXPECT_EQ(none.code, 64) << none.output;
  EXPECT_NE(none.output.find("no compose project is running"), std::string::npos) << none.output;
}

// A published port gives http://127.0.0.1:<public>/ (from the list entry: this engine cannot publish).
TEST(ComposeInit, APublishedPortGivesALoopbackUrl) {
  REQUIRE_ENGINE();
  Client client(Endpoint{engine->socket(), "http://localhost", std::nullopt});
  ContainerSummary web;
  web.id = "no-such-container";  // inspect answers 404: no HEALTHCHECK to read
  web.name = "shop-web-1";
  web.state = "running";
  web.labels = {{kComposeProjectLabel, "shop"}, {kComposeServiceLabel, "web"}};
  web.ports = {{"0.0.0.0", 3000, 8080, "tcp"}, {"::", 3000, 8080, "tcp"}, {"0.0.0.0", 9229, 9230, "tcp"}, {"", 53, 0, "udp"}};
  auto p = describe_project(client, {web}, "shop");
  ASSERT_EQ(p.services.size(), 1u);
  EXPECT_EQ(p.services[0].url, "http://127.0.0.1:8080");
  EXPECT_EQ(p.services[0].health, "/");
  EXPECT_EQ(p.services[0].notes,
            (std::vector<std::string>{"inside the compose network: url: http://web:3000", "also published: 9229 -> 9230"}));
  EXPECT_EQ(p.services[0].label_advice.size(), 1u);  // orch.heal=true
}

}  // namespace

}  // namespace compose_init_test
