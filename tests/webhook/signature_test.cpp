#include "webhook/signature.hpp"

#include <gtest/gtest.h>

using namespace orch::webhook;
using std::chrono::seconds;

namespace {
const Secrets kSecrets{"current-secret", "previous-secret"};
const std::string kBody = R"({"modelName":"page"})";
auto now() { return std::chrono::system_clock::now(); }
std::string now_s() { return std::to_string(std::chrono::duration_cast<seconds>(now().time_since_epoch()).count()); }
}  // namespace

TEST(Signature, HmacKnownVector) {
  // RFC 4231 test case 2.
  EXPECT_EQ(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Signature, Base64RoundTrip) {
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)})
    EXPECT_EQ(base64_decode(base64_encode(s)), s);
}

TEST(Signature, SharedSecretHeader) {
  EXPECT_EQ(verify({.builder_secret = "current-secret"}, kBody, kSecrets, now()), Verdict::ok);
  EXPECT_EQ(verify({.builder_secret = "previous-secret"}, kBody, kSecrets, now()), Verdict::ok);
  EXPECT_EQ(verify({.builder_secret = "wrong"}, kBody, kSecrets, now()), Verdict::invalid);
  EXPECT_EQ(verify({}, kBody, kSecrets, now()), Verdict::missing);
}

TEST(Signature, BuilderHmacWithAndWithoutPrefix) {
  auto hex = to_hex(hmac_sha256("current-secret", kBody));
  EXPECT_EQ(verify({.builder_signature = "sha256=" + hex}, kBody, kSecrets, now()), Verdict::ok);
  EXPECT_EQ(verify({.builder_signature = hex}, kBody, kSecrets, now()), Verdict::ok);
  EXPECT_EQ(verify({.builder_signature = hex}, kBody + " ", kSecrets, now()), Verdict::invalid);
  auto old = to_hex(hmac_sha256("previous-secret", kBody));
  EXPECT_EQ(verify({.builder_signature = old}, kBody, kSecrets, now()), Verdict::ok);
}

TEST(Signature, StandardWebhooks) {
  auto ts = now_s();
  auto sig = standard_webhooks_signature("current-secret", "msg_1", ts, kBody);
  Credentials c{.webhook_id = "msg_1", .webhook_timestamp = ts, .webhook_signature = sig};
  EXPECT_EQ(verify(c, kBody, kSecrets, now()), Verdict::ok);
  c.webhook_id = "msg_2";  // the id is signed
  EXPECT_EQ(verify(c, kBody, kSecrets, now()), Verdict::invalid);
}

TEST(Signature, StandardWebhooksRotationAcceptsAnyListedSignature) {
  auto ts = now_s();
  auto good = standard_webhooks_signature("current-secret", "msg_1", ts, kBody);
  Credentials c{.webhook_id = "msg_1", .webhook_timestamp = ts, .webhook_signature = "v1,AAAA " + good};
  EXPECT_EQ(verify(c, kBody, kSecrets, now()), Verdict::ok);
}

TEST(Signature, StandardWebhooksTimestampTolerance) {
  auto t = std::chrono::duration_cast<seconds>(now().time_since_epoch()).count();
  for (long long offset : {-301LL, 301LL}) {
    auto ts = std::to_string(t + offset);
    Credentials c{.webhook_id = "m", .webhook_timestamp = ts,
                  .webhook_signature = standard_webhooks_signature("current-secret", "m", ts, kBody)};
    EXPECT_EQ(verify(c, kBody, kSecrets, now()), Verdict::stale) << offset;
  }
  auto ts = std::to_string(t - 299);
  Credentials c{.webhook_id = "m", .webhook_timestamp = ts,
                .webhook_signature = standard_webhooks_signature("current-secret", "m", ts, kBody)};
  EXPECT_EQ(verify(c, kBody, kSecrets, now()), Verdict::ok);
}

TEST(Signature, StandardWebhooksWhsecSecret) {
  const std::string secret = "whsec_" + base64_encode("raw key bytes");
  Secrets s{secret, ""};
  auto ts = now_s();
  auto sig = "v1," + base64_encode(hmac_sha256("raw key bytes", "id1." + ts + "." + kBody));
  EXPECT_EQ(verify({.webhook_id = "id1", .webhook_timestamp = ts, .webhook_signature = sig}, kBody, s, now()), Verdict::ok);
}

TEST(Signature, AWrongCredentialIsNotRescuedByAnother) {
  auto hex = to_hex(hmac_sha256("current-secret", kBody));
  EXPECT_EQ(verify({.builder_secret = "current-secret", .builder_signature = "deadbeef"}, kBody, kSecrets, now()),
            Verdict::invalid);
  (void)hex;
}
