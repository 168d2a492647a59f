// The docling stage (pipeline/docling.hpp) against one scripted answer at a time, in process: each
// way docling-serve's answer can be wrong becomes the StageResult docs/pipeline.md says (failed or
// not, worth a retry or not, unreachable or not), and each bad docling setting a ConfigError.
// The end-to-end runs through orch serve with the stand-in are in pipeline_test.cpp.
#include <gtest/gtest.h>

#include <atomic>

#include "core/error.hpp"
#include "pipeline/docling.hpp"
#include "support/http_stub.hpp"
#include "support/process.hpp"

using namespace orch;
using namespace orch::pipeline;
using namespace orch::test;

namespace {

const std::string kSource = "http://web:3000/pages/a";

Settings settings(const std::map<std::string, std::string>& values) {
  Settings s;
  for (const auto& [k, v] : values) s.set(k, v, SettingSource::env);
  return s;
}

// A sync conversion whose one answer is `status`, `body`.
StageResult convert_answered(int status, const std::string& body, std::map<std::string, std::string> extra = {}) {
  HttpStub docling([&](const ReceivedRequest&) { return StubAnswer{status, body}; });
  extra["DOCLING_API_URL"] = docling.url();
  return convert(settings(extra), kSource);
}

TEST(DoclingSettings, EachBadValueIsAConfigErrorNamingTheSetting) {
  auto error_of = [](const std::map<std::string, std::string>& v) -> std::string {
    auto s = settings(v);
    try {
      DoclingApi::from(s);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "(none)";
  };
  EXPECT_NE(error_of({{"DOCLING_API_VERSION", "v2"}}).find("DOCLING_API_VERSION must be v1"), std::string::npos);
  EXPECT_NE(error_of({{"DOCLING_SOURCE_FORM", "urls"}}).find("DOCLING_SOURCE_FORM must be sources or http_sources"), std::string::npos);
  EXPECT_NE(error_of({{"DOCLING_SOURCE_FORM", "http_sources"}, {"DOCLING_API_VERSION", "v1"}})
                .find("DOCLING_SOURCE_FORM=http_sources contradicts DOCLING_API_VERSION=v1"),
            std::string::npos);
  EXPECT_NE(error_of({{"DOCLING_MODE", "batch"}}).find("DOCLING_MODE must be sync or async, not 'batch'"), std::string::npos);
  EXPECT_NE(error_of({{"DOCLING_TO_FORMAT", "pdf"}}).find("DOCLING_TO_FORMAT must be one of md, text, html, json, doctags"),
            std::string::npos);
  EXPECT_NE(error_of({{"DOCLING_OPTIONS", "[1]"}}).find("DOCLING_OPTIONS must be a JSON object"), std::string::npos);
  EXPECT_EQ(error_of({{"DOCLING_SOURCE_FORM", "sources"}}), "(none)");  // agrees with the default v1

  // The deprecated form alone still picks the API; the base loses its trailing slashes; the
  // deprecated path is used as given.
  auto s = settings({{"DOCLING_API_URL", "http://docling:5001//"},
                     {"DOCLING_SOURCE_FORM", "http_sources"},
                     {"DOCLING_CONVERT_PATH", "/convert"},
                     {"DOCLING_OPTIONS", R"({"do_ocr":false,"to_formats":["html"]})"}});
  const auto api = DoclingApi::from(s);
  EXPECT_EQ(api.version, "v1alpha");
  EXPECT_EQ(api.base, "http://docling:5001");
  EXPECT_EQ(api.convert_path, "/convert");
  EXPECT_EQ(api.path("/result/t"), "http://docling:5001/v1alpha/result/t");
  EXPECT_EQ(api.options["do_ocr"], false);
  EXPECT_EQ(api.options["to_formats"], json::array({"md"}));  // the text is read from DOCLING_TO_FORMAT
  EXPECT_EQ(docling_request(api, kSource), json({{"http_sources", {{{"url", kSource}}}}, {"options", api.options}}));
}

TEST(DoclingSync, WithoutAUrlTheStageIsNotConfigured) {
  const auto r = convert(Settings{}, kSource);
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.retryable);
  EXPECT_EQ(r.error, "DOCLING_API_URL is not set");
}

TEST(DoclingSync, TheDocumentsTextInTheFormatAskedFor) {
  std::atomic<int> calls = 0;
  HttpStub docling([&](const ReceivedRequest& r) {
    ++calls;
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.path, "/v1/convert/source");
    EXPECT_EQ(r.header("X-Api-Key"), "dk-1");
    return StubAnswer{200, R"({"status":"partial_success","document":{"json_content":{"title":"A"}}})"};
  });
  const auto r =
      convert(settings({{"DOCLING_API_URL", docling.url()}, {"DOCLING_TO_FORMAT", "json"}, {"DOCLING_API_KEY", "dk-1"}}), kSource);
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.text, R"({"title":"A"})");  // a JSON document is passed on as its text
  EXPECT_EQ(calls, 1);
}

TEST(DoclingSync, EachWrongAnswerIsAFailureThatSaysWhatWasWrong) {
  auto r = convert_answered(504, "sync wait ran out");
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.retryable);
  EXPECT_FALSE(r.unreachable);  // reachable and slow, not down
  EXPECT_NE(r.error.find("504, DOCLING_SERVE_MAX_SYNC_WAIT"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("DOCLING_MODE=async"), std::string::npos) << r.error;

  r = convert_answered(404, R"({"detail":"Task result not found. Please wait for a completion status."})");
  EXPECT_TRUE(r.retryable);
  EXPECT_NE(r.error.find("lost the task's result"), std::string::npos) << r.error;

  r = convert_answered(404, R"({"detail":"Not Found"})");  // a wrong path: not worth a retry
  EXPECT_FALSE(r.retryable);
  EXPECT_EQ(r.error, R"(docling answered 404: {"detail":"Not Found"})");

  r = convert_answered(422, R"({"detail":[{"loc":["body","sources"]}]})");
  EXPECT_FALSE(r.retryable);
  r = convert_answered(503, "loading models");
  EXPECT_TRUE(r.retryable);
  EXPECT_EQ(r.error, "docling answered 503: loading models");

  r = convert_answered(200, "[1,2]");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "docling answered something that is not a JSON object");

  r = convert_answered(200, R"({"num_converted":1,"presign_url":"http://minio/x"})");
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.retryable);  // the same request gets the same answer
  EXPECT_NE(r.error.find("presigned URL"), std::string::npos) << r.error;

  r = convert_answered(200, R"({"status":"success","document":null})");
  EXPECT_FALSE(r.retryable);
  EXPECT_EQ(r.error, "docling's answer has no document");

  r = convert_answered(200, R"({"status":"failure","document":{},"errors":[{"error_message":"cannot fetch source"}]})");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("docling conversion status failure: "), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("cannot fetch source"), std::string::npos) << r.error;
  r = convert_answered(200, R"({"document":{"md_content":"# A"}})");
  EXPECT_EQ(r.error, "docling conversion status missing");

  r = convert_answered(200, R"({"status":"success","document":{"md_content":null}})");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "docling returned no md_content (status success)");
  r = convert_answered(200, R"({"status":"success","document":{"md_content":""}})");
  EXPECT_EQ(r.error, "docling returned no md_content (status success)");
}

TEST(DoclingSync, NoAnswerAtAllIsUnreachableAndRetried) {
  const auto r = convert(settings({{"DOCLING_API_URL", refused_url()}}), kSource);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.retryable);
  EXPECT_TRUE(r.unreachable);
  EXPECT_FALSE(r.error.empty());
}

// DOCLING_MODE=async: submit, poll, fetch the result; each step's failure.
struct AsyncDocling {
  std::atomic<int> polls = 0;
  int submit_status = 200;
  std::string submit_body = R"({"task_id":"task 1","task_status":"pending"})";
  std::vector<std::pair<int, std::string>> poll_answers;  // in order, the last repeated
  std::pair<int, std::string> result = {200, R"({"status":"success","document":{"md_content":"# done"}})"};
  HttpStub stub{[this](const ReceivedRequest& r) {
    if (r.path == "/v1/convert/source/async") return StubAnswer{submit_status, submit_body};
    if (r.path.rfind("/v1/status/poll/", 0) == 0) {
      const size_t i = std::min<size_t>(static_cast<size_t>(polls++), poll_answers.size() - 1);
      return StubAnswer{poll_answers[i].first, poll_answers[i].second};
    }
    if (r.path.rfind("/v1/result/", 0) == 0) return StubAnswer{result.first, result.second};
    return StubAnswer{404, R"({"detail":"Not Found"})"};
  }};
  StageResult convert(const DoclingHooks& hooks = {}, std::map<std::string, std::string> extra = {}) {
    extra["DOCLING_API_URL"] = stub.url();
    extra["DOCLING_MODE"] = "async";
    extra.emplace("DOCLING_POLL_WAIT", "100ms");
    return pipeline::convert(settings(extra), kSource, hooks);
  }
};

TEST(DoclingAsync, PollsUntilSuccessReportingEachNewStateOnceThenFetchesTheResult) {
  AsyncDocling d;
  d.poll_answers = {{200, R"({"task_status":"pending","task_position":2})"},
                    {200, R"({"task_status":"pending","task_position":2})"},
                    {200, R"({"task_status":"started"})"},
                    {200, R"({"task_status":"success"})"}};
  std::vector<json> progress;
  const auto r = d.convert({[] { return false; }, [&](const json& p) { progress.push_back(p); }});
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.text, "# done");
  EXPECT_EQ(d.polls, 4);
  ASSERT_EQ(progress.size(), 3u);  // the repeated "pending at 2" is not reported twice
  EXPECT_EQ(progress[0], json({{"task_id", "task 1"}, {"task_status", "pending"}, {"task_position", 2}, {"task_meta", nullptr}}));
  EXPECT_EQ(progress[2]["task_status"], "success");
  // The task id is a path segment: encoded.
  bool encoded = false;
  for (const auto& req : d.stub.requests()) encoded |= req.path == "/v1/result/task%201" || req.path == "/v1/result/task 1";
  EXPECT_TRUE(encoded);
}

TEST(DoclingAsync, APartialSuccessEndsTheTaskAndItsDocumentIsTheText) {
  // docs/pipeline.md: the task is done at `success` or `partial_success` (some pages failed).
  AsyncDocling d;
  d.poll_answers = {{200, R"({"task_status":"partial_success"})"}};
  d.result = {200, R"({"status":"partial_success","document":{"md_content":"# most of it"},"errors":[{"error_message":"page 3 failed"}]})"};
  const auto r = d.convert({}, {{"DOCLING_TASK_TIMEOUT", "2s"}});  // not done: a timeout, not a hang
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.text, "# most of it");
  EXPECT_EQ(d.polls, 1);
}

TEST(DoclingAsync, EachFailureOfTheTaskSaysWhichAndWhetherToRetry) {
  {
    AsyncDocling d;
    d.submit_status = 500;
    d.submit_body = "queue full";
    const auto r = d.convert();
    EXPECT_FALSE(r.ok);
    EXPECT_TRUE(r.retryable);
    EXPECT_EQ(r.error, "docling answered 500: queue full");
  }
  {
    AsyncDocling d;
    d.submit_body = R"({"task_status":"pending"})";
    const auto r = d.convert();
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error, R"(docling's async answer has no task_id: {"task_status":"pending"})");
  }
  {
    AsyncDocling d;  // docling restarted: the task is gone, submit again next time
    d.poll_answers = {{404, R"({"detail":"Task not found"})"}};
    const auto r = d.convert();
    EXPECT_TRUE(r.retryable);
    EXPECT_EQ(r.error, "docling no longer knows task task 1 (404 on its status)");
  }
  {
    AsyncDocling d;
    d.poll_answers = {{502, "bad gateway"}};
    const auto r = d.convert();
    EXPECT_TRUE(r.retryable);
    EXPECT_EQ(r.error, "docling answered 502: bad gateway");
  }
  for (const std::string state : {"failure", "skipped"}) {
    AsyncDocling d;
    d.poll_answers = {{200, R"({"task_status":")" + state + R"("})"}};
    const auto r = d.convert();
    EXPECT_TRUE(r.retryable);
    EXPECT_EQ(r.error, "docling task task 1 ended with status " + state);
  }
  {
    AsyncDocling d;  // success, but the result is gone by the time it is fetched
    d.poll_answers = {{200, R"({"task_status":"success"})"}};
    d.result = {404, R"({"detail":"Task result not found. Please wait for a completion status."})"};
    const auto r = d.convert();
    EXPECT_TRUE(r.retryable);
    EXPECT_NE(r.error.find("lost the task's result"), std::string::npos) << r.error;
  }
}

TEST(DoclingAsync, ATaskNotDoneInTimeFailsAndAStopLeavesItPending) {
  {
    AsyncDocling d;  // a server that ignores ?wait= and never finishes; a status that is not JSON
    d.poll_answers = {{200, "busy"}};
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = d.convert({}, {{"DOCLING_TASK_TIMEOUT", "300ms"}});
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error, "docling task task 1 not done within DOCLING_TASK_TIMEOUT (300ms)");
    // It did not spin: polls paced by the wait (100 ms) rather than back to back.
    EXPECT_LE(d.polls, 5);
    EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(300));
  }
  {
    AsyncDocling d;
    d.poll_answers = {{200, R"({"task_status":"started"})"}};
    const auto r = d.convert({[&] { return d.polls >= 2; }, [](const json&) {}});
    EXPECT_FALSE(r.ok);
    EXPECT_TRUE(r.stopped);  // neither done nor failed: the job stays pending
    EXPECT_EQ(r.error, "orch is stopping");
    EXPECT_EQ(d.polls, 2);
  }
}

}  // namespace
