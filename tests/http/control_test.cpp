// http::control: every control endpoint's checks (method, token, JSON object body) and one table
// from the errors a handler throws to statuses and {"error", "message"} bodies.
#include "http/control.hpp"

#include <gtest/gtest.h>

#include "http/client.hpp"

using namespace orch;

namespace {

const std::string kToken = "control-test-token-0123";

struct ControlServer {
  http::Server server{{"127.0.0.1", 0}};
  ControlServer() {
    http::control(server, "/throws", kToken, [](const json& body) -> http::Reply {
      const std::string kind = body.value("throw", "");
      if (kind == "usage") throw UsageError("dry_run must be true or false");
      if (kind == "not_found") throw NotFoundError("no such image: x");
      if (kind == "unreachable") throw UnreachableError("docker engine at unix:///x: refused");
      if (kind == "operation") throw OperationError("restart refused");
      if (kind == "config") throw ConfigError("a setting");
      if (kind == "std") throw std::runtime_error("vector::at");
      if (kind == "status") return {http::kOperationFailed, json{{"ok", false}}};
      return json{{"echo", body}};
    });
    http::control(server, "/view", kToken,
                  [](const json&) -> http::Reply {
                    return json{{"seen", true}};
                  },
                  {.method = "GET", .rate = http::Server::Rate::unlimited, .token_in_query = true});
    server.start();
  }
  ~ControlServer() { server.stop(); }
  http::Response call(const std::string& method, const std::string& path, const std::string& body = "", bool auth = true) {
    http::Request r{method, "http://127.0.0.1:" + std::to_string(server.port()) + path};
    r.body = body;
    if (!body.empty()) r.headers.emplace_back("Content-Type", "application/json");
    if (auth) r.headers.emplace_back("Authorization", "Bearer " + kToken);
    return http::send(r);
  }
};

TEST(Control, ErrorsAreAnsweredByOneTable) {
  ControlServer s;
  const std::vector<std::tuple<std::string, int, std::string>> cases = {
      {"usage", 400, "bad_request"},          {"not_found", 404, "not_found"}, {"unreachable", 503, "unreachable"},
      {"operation", 409, "operation_failed"}, {"config", 500, "internal"},     {"std", 500, "internal"}};
  for (const auto& [kind, status, code] : cases) {
    auto r = s.call("POST", "/throws", json{{"throw", kind}}.dump());
    EXPECT_EQ(r.status, status) << kind << ": " << r.body;
    auto j = json::parse(r.body);
    EXPECT_EQ(j["error"], code) << kind;
    EXPECT_TRUE(j["message"].is_string()) << kind;
  }
  EXPECT_EQ(json::parse(s.call("POST", "/throws", R"({"throw":"std"})").body)["message"], "internal error")
      << "what a non-orch exception says stays in the log";
  EXPECT_EQ(s.call("POST", "/throws", R"({"throw":"status"})").status, 409);
}

TEST(Control, ChecksComeFirst) {
  ControlServer s;
  EXPECT_EQ(s.call("POST", "/throws", "{}", /*auth=*/false).status, 401);
  EXPECT_EQ(s.call("GET", "/throws").status, 405);
  EXPECT_EQ(s.call("POST", "/throws", "[1]").status, 400);
  EXPECT_EQ(s.call("POST", "/throws", "{oops").status, 400);
  auto empty = s.call("POST", "/throws");
  EXPECT_EQ(empty.status, 200) << empty.body;
  EXPECT_EQ(json::parse(empty.body)["echo"], json::object()) << "an empty body is {}";
  EXPECT_EQ(s.call("GET", "/view", "", false).status, 401);
  EXPECT_EQ(s.call("GET", "/view?token=" + kToken, "", false).status, 200);
  EXPECT_EQ(s.call("POST", "/throws?token=" + kToken, "{}", false).status, 401) << "?token= only where asked for";
}

}  // namespace
