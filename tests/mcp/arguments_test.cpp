// Tool arguments checked against the tool's input schema (mcp/arguments.hpp): each way an agent's
// call can be wrong, and the sentence it gets back to correct it (docs/mcp.md: a tool result with
// isError, naming the argument, what it must be and what was sent).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "mcp/arguments.hpp"

using namespace orch;
using orch::mcp::argument_error;

namespace {

// The shapes orch's tools use (mcp/tools.cpp): a bounded integer, a duration with a pattern and
// examples, an enum, a non-empty string, arrays of strings and of an enum, booleans, numbers.
const json kSchema = {{"type", "object"},
                      {"properties",
                       {{"tail", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}, {"description", "log lines"}}},
                        {"since", {{"type", "string"}, {"pattern", "^[0-9]+(ms|s|m|h)$"}, {"examples", {"60s", "2m"}}}},
                        {"model", {{"type", "string"}, {"pattern", "^[a-z]+$"}}},
                        {"format", {{"type", "string"}, {"enum", {"table", "json"}}}},
                        {"container", {{"type", "string"}, {"minLength", 1}, {"description", "the container's name"}}},
                        {"note", {{"type", "string"}}},
                        {"dry_run", {{"type", "boolean"}}},
                        {"ratio", {{"type", "number"}, {"minimum", 0.5}}},
                        {"limit", {{"type", "number"}, {"maximum", 2.5}}},
                        {"count", {{"type", "integer"}, {"minimum", 0}}},
                        {"top", {{"type", "integer"}, {"maximum", 10}}},
                        {"services", {{"type", "array"}, {"items", {{"type", "string"}, {"minLength", 1}}}}},
                        {"actions", {{"type", "array"}, {"items", {{"enum", {"health", "logs"}}}}}},
                        {"anything", {{"type", "array"}}},
                        {"filter", {{"type", "object"}}},
                        {"free", json::object()}}},
                      {"required", {"container"}},
                      {"additionalProperties", false}};

std::string error_of(const json& args) { return argument_error("diagnose", kSchema, args).value_or("(none)"); }

TEST(ToolArguments, WhatFitsTheSchemaHasNoError) {
  EXPECT_FALSE(argument_error("diagnose", kSchema,
                              {{"container", "web-1"},
                               {"tail", 5.0},
                               {"since", "10m"},
                               {"format", "json"},
                               {"dry_run", false},
                               {"ratio", 0.5},
                               {"limit", 2},
                               {"services", {"web", "api"}},
                               {"actions", {"logs"}},
                               {"anything", {1, "a"}},
                               {"filter", json::object()},
                               {"free", nullptr},
                               {"note", ""},
                               {"model", "page"}}));
  // A tool without arguments takes an empty object.
  EXPECT_FALSE(argument_error("status", {{"type", "object"}}, json::object()));
}

TEST(ToolArguments, ArgumentsThatAreNotAnObject) {
  EXPECT_EQ(error_of(json::array({"web"})), "`arguments` must be an object of named arguments; got [\"web\"]");
  EXPECT_EQ(error_of("web"), "`arguments` must be an object of named arguments; got \"web\"");
}

TEST(ToolArguments, AMissingRequiredArgumentSaysWhatItIsFor) {
  EXPECT_EQ(error_of(json::object()), "missing required argument `container`: the container's name (a non-empty string)");
  // Required but not described: the schema is where to look.
  const json bare = {{"type", "object"}, {"required", {"id"}}};
  EXPECT_EQ(argument_error("t", bare, json::object()).value_or(""), "missing required argument `id`: see the input schema (a value)");
}

TEST(ToolArguments, AnUnknownArgumentListsTheOnesTheToolTakes) {
  const auto e = error_of({{"container", "web"}, {"lines", 5}});
  EXPECT_EQ(e.rfind("unknown argument `lines`; diagnose takes `actions`, `anything`, ", 0), 0u) << e;
  EXPECT_NE(e.find("`tail`"), std::string::npos) << e;
  EXPECT_EQ(argument_error("status", {{"type", "object"}}, {{"verbose", true}}).value_or(""),
            "unknown argument `verbose`; status takes no arguments");
}

TEST(ToolArguments, EachTypeSaysWhatItMustBeAndWhatCame) {
  const json base = {{"container", "web"}};
  auto with = [&](const std::string& k, const json& v) {
    json a = base;
    a[k] = v;
    return error_of(a);
  };
  EXPECT_EQ(with("tail", "5"), "argument `tail` must be an integer between 1 and 1000; got \"5\"");
  EXPECT_EQ(with("tail", 2.5), "argument `tail` must be an integer between 1 and 1000; got 2.5");
  EXPECT_EQ(with("tail", 0), "argument `tail` must be an integer between 1 and 1000; got 0");
  EXPECT_EQ(with("tail", 1001), "argument `tail` must be an integer between 1 and 1000; got 1001");
  EXPECT_EQ(with("count", -1), "argument `count` must be an integer of at least 0; got -1");
  EXPECT_EQ(with("top", 11), "argument `top` must be an integer of at most 10; got 11");
  // Bounds that are not whole numbers read as written, not as "0.500000".
  EXPECT_EQ(with("ratio", 0.25), "argument `ratio` must be a number of at least 0.5; got 0.25");
  EXPECT_EQ(with("limit", "2"), "argument `limit` must be a number of at most 2.5; got \"2\"");
  EXPECT_EQ(with("dry_run", "yes"), "argument `dry_run` must be true or false; got \"yes\"");
  EXPECT_EQ(with("format", "yaml"), "argument `format` must be one of \"table\", \"json\"; got \"yaml\"");
  EXPECT_EQ(with("since", "ten minutes"), "argument `since` must be a string like \"60s\" or \"2m\"; got \"ten minutes\"");
  EXPECT_EQ(with("since", 10), "argument `since` must be a string like \"60s\" or \"2m\"; got 10");
  EXPECT_EQ(with("model", "Page!"), "argument `model` must be a string matching ^[a-z]+$; got \"Page!\"");
  EXPECT_EQ(with("container", ""), "argument `container` must be a non-empty string; got \"\"");
  EXPECT_EQ(with("note", false), "argument `note` must be a string; got false");
  EXPECT_EQ(with("services", "web"), "argument `services` must be an array of strings; got \"web\"");
  EXPECT_EQ(with("actions", "logs"), "argument `actions` must be an array of one of \"health\", \"logs\"; got \"logs\"");
  EXPECT_EQ(with("anything", 1), "argument `anything` must be an array; got 1");
  EXPECT_EQ(with("filter", json::array()), "argument `filter` must be an object; got []");
}

TEST(ToolArguments, AnArrayNamesTheItemThatIsWrong) {
  EXPECT_EQ(error_of({{"container", "web"}, {"services", {"web", ""}}}), "argument `services` item 1 must be a non-empty string; got \"\"");
  EXPECT_EQ(error_of({{"container", "web"}, {"actions", {"health", "restart"}}}),
            "argument `actions` item 1 must be one of \"health\", \"logs\"; got \"restart\"");
}

TEST(ToolArguments, ALongValueIsCutInTheMessage) {
  const std::string document(500, 'x');
  const auto e = error_of({{"container", "web"}, {"tail", document}});
  EXPECT_EQ(e, "argument `tail` must be an integer between 1 and 1000; got \"" + std::string(76, 'x') + "...");
  EXPECT_LT(e.size(), 200u);
}

// `orch mcp` checks the arguments of calls that run in parallel. A schema pattern was compiled per
// call, and libstdc++'s regex compiler fills a shared ctype cache unsynchronized: under TSan, two
// first calls at once were a data race. The characters here are in no other pattern of this
// binary, so their cache entries are first filled by these threads.
TEST(ToolArguments, CallsCheckedInParallelShareTheCompiledPattern) {
  const json schema = {{"type", "object"}, {"properties", {{"sigil", {{"type", "string"}, {"pattern", "^[#%&*,;<=>@`~]{2}$"}}}}}};
  std::vector<std::thread> threads;
  std::atomic<int> ok{0}, refused{0};
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] {
      const bool good = i % 2 == 0;
      const auto error = argument_error("t", schema, {{"sigil", good ? "#%" : "ab"}});
      (error ? refused : ok)++;
      if (good) {
        EXPECT_FALSE(error) << *error;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 4);
  EXPECT_EQ(refused, 4);
}

}  // namespace
