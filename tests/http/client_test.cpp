// http::Response::retry_after: what a 429 or 503 asks of the pipeline and the notifier.
#include <gtest/gtest.h>

#include "http/client.hpp"

namespace client_test {

using namespace std::chrono_literals;

orch::http::Response answer(long status, const std::string& retry_after) {
  orch::http::Response r;
  r.status = status;
  if (!retry_after.empty()) r.headers["retry-after"] = retry_after;
  return r;
}

TEST(RetryAfter, DeltaSecondsOfA429OrA503UpToTheCap) {
  EXPECT_EQ(answer(429, "120").retry_after(), 120s);
  EXPECT_EQ(answer(503, "0").retry_after(), 0s);
  EXPECT_EQ(answer(429, "99999").retry_after(300s), 300s);  // too long is the cap, not "no advice"
  EXPECT_EQ(answer(429, "7200").retry_after(), 300s);       // the default cap: 5 minutes
}

TEST(RetryAfter, NoAdviceIsZero) {
  EXPECT_EQ(answer(429, "").retry_after(), 0s);
  EXPECT_EQ(answer(429, "Wed, 21 Oct 2015 07:28:00 GMT").retry_after(), 0s);  // an HTTP-date: the caller's backoff
  EXPECT_EQ(answer(429, "-5").retry_after(), 0s);
  EXPECT_EQ(answer(429, "1.5").retry_after(), 0s);
  EXPECT_EQ(answer(500, "30").retry_after(), 0s);  // only 429 and 503 carry it with that meaning
  EXPECT_EQ(answer(200, "30").retry_after(), 0s);
}

}  // namespace client_test
