#include "webhook/signature.hpp"

#include <gtest/gtest.h>

#include "config/secrets.hpp"
#include "core/crypto.hpp"
#include "core/error.hpp"
#include "support/signing.hpp"

// Its own namespace: the unity build compiles this file with the rest of its folder.
namespace signature_test {

using namespace orch;
using namespace orch::webhook;
using std::chrono::seconds;

namespace {
const std::string kCurrent = "current-secret-0123", kPrevious = "previous-secret-0123";
const Secrets kSecrets = Secrets::from(kCurrent, kPrevious);
// A Standard Webhooks secret and its key.
const std::string kKey = "standard-webhooks-key-of-32-byte";
const std::string kWhsec = "whsec_" + base64_encode(kKey);
const Secrets kStandard = Secrets::from(kWhsec, "");
const std::string kBody = R"({"modelName":"page"})";
auto now() { return std::chrono::system_clock::now(); }
std::string now_s() { return std::to_string(std::chrono::duration_cast<seconds>(now().time_since_epoch()).count()); }
}  // namespace

TEST(Signature, HmacKnownVector) {
  // RFC 4231 test case 2.
  EXPECT_EQ(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Signature, Base64RoundTripPaddingOptionalAndStrictAlphabet) {
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    EXPECT_EQ(base64_decode(base64_encode(s)), s);
    auto unpadded = base64_encode(s);
    while (!unpadded.empty() && unpadded.back() == '=') unpadded.pop_back();
    EXPECT_EQ(base64_decode(unpadded), s) << unpadded;
  }
  EXPECT_EQ(base64_decode("YWJjZA"), "abcd");
  for (const char* bad : {"not*base64!", "YWJjZA=", "YWJjZ", "YW Jj", "YWJj\n", "=", "YWJjZA==="})
    EXPECT_FALSE(base64_decode(bad).has_value()) << bad;
}

TEST(Signature, StandardWebhooksReferenceVector) {
  // The signature the reference libraries' own tests expect (standard-webhooks, libraries/go).
  auto key = standard_webhooks_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(key->size(), 24u);
  EXPECT_EQ(standard_webhooks_signature(*key, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  // Without the prefix the reference libraries decode the same key.
  EXPECT_EQ(standard_webhooks_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), key);
  // The tests' one signer (tests/support/signing.hpp) makes the same headers, and orch accepts them
  // at their timestamp but not five minutes and a second later.
  auto headers = test::standard_webhooks_signed(*key, "msg_p5jXN8AQM9LWM0D4loKWxJek", R"({"test": 2432232314})", "1614265330");
  ASSERT_EQ(headers.size(), 3u);
  EXPECT_EQ(headers[2], (std::pair<std::string, std::string>{"webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}));
  const Credentials c{.webhook_id = headers[0].second, .webhook_timestamp = headers[1].second, .webhook_signature = headers[2].second};
  const auto at = std::chrono::system_clock::time_point(seconds(1614265330));
  const auto sw = Secrets::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "");
  EXPECT_EQ(verify(c, R"({"test": 2432232314})", sw, at), Verdict::ok);
  EXPECT_EQ(verify(c, R"({"test": 2432232315})", sw, at), Verdict::invalid);
  EXPECT_EQ(verify(c, R"({"test": 2432232314})", sw, at + seconds(301)), Verdict::stale);
  // x-builder-signature: sha256= and the hex HMAC (RFC 4231 case 2's key and data).
  EXPECT_EQ(test::builder_signature("what do ya want for nothing?", "Jefe"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Signature, WhsecSecretsMustGiveARealKey) {
  // The issue's forgery: whsec_YWJjZA decoded to nothing, and an empty-key HMAC was accepted.
  EXPECT_THROW(check_credential("TRUSTED_WEBHOOK_SECRET", "whsec_YWJjZA"), ConfigError);          // 4 bytes
  EXPECT_THROW(check_credential("TRUSTED_WEBHOOK_SECRET", "whsec_not*base64!"), ConfigError);     // not base64
  EXPECT_THROW(check_credential("TRUSTED_WEBHOOK_SECRET", "whsec_"), ConfigError);                // empty
  EXPECT_THROW(check_credential("TRUSTED_WEBHOOK_SECRET", "whsec_" + base64_encode(std::string(65, 'k'))), ConfigError);
  EXPECT_NO_THROW(check_credential("TRUSTED_WEBHOOK_SECRET", "whsec_" + base64_encode(std::string(24, 'k'))));
  EXPECT_NO_THROW(check_credential("TRUSTED_WEBHOOK_SECRET", "whsec_" + base64_encode(std::string(64, 'k'))));
  auto unpadded = "whsec_" + base64_encode(std::string(32, 'k'));
  unpadded.pop_back();  // '=': Python's reference library accepts it unpadded, so does orch
  EXPECT_NO_THROW(check_credential("TRUSTED_WEBHOOK_SECRET", unpadded));
  EXPECT_EQ(standard_webhooks_key(unpadded), std::string(32, 'k'));
  try {
    check_credential("TRUSTED_WEBHOOK_SECRET", "whsec_YWJjZA");
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("24 to 64 bytes"), std::string::npos) << e.what();
    EXPECT_EQ(e.code(), ExitCode::config);
  }
}

TEST(Signature, ShortCredentialsAreRefused) {
  EXPECT_THROW(check_credential("ORCH_API_TOKEN", "s"), ConfigError);
  EXPECT_THROW(check_credential("ORCH_API_TOKEN", "fifteen-chars-x"), ConfigError);
  EXPECT_NO_THROW(check_credential("ORCH_API_TOKEN", "sixteen-chars-xx"));
}

TEST(Signature, SharedSecretHeader) {
  EXPECT_EQ(verify({.builder_secret = kCurrent}, kBody, kSecrets, now()), Verdict::ok);
  EXPECT_EQ(verify({.builder_secret = kPrevious}, kBody, kSecrets, now()), Verdict::ok);
  EXPECT_EQ(verify({.builder_secret = "wrong"}, kBody, kSecrets, now()), Verdict::invalid);
  EXPECT_EQ(verify({}, kBody, kSecrets, now()), Verdict::missing);
  // A previous secret alone (no current one) accepts nothing.
  EXPECT_TRUE(Secrets::from("", kPrevious).empty());
}

TEST(Signature, BearerTokenIsTheSharedSecretAndTheHeaderComesFirst) {
  EXPECT_EQ(verify({.bearer = kCurrent}, kBody, kSecrets, now()), Verdict::ok);
  EXPECT_EQ(verify({.bearer = kPrevious}, kBody, kSecrets, now()), Verdict::ok);
  EXPECT_EQ(verify({.bearer = "wrong-wrong-wrong"}, kBody, kSecrets, now()), Verdict::invalid);
  // Both present: the header decides, a right bearer does not rescue a wrong header.
  EXPECT_EQ(verify({.builder_secret = "wrong", .bearer = kCurrent}, kBody, kSecrets, now()), Verdict::invalid);
  EXPECT_EQ(verify({.builder_secret = kCurrent, .bearer = "wrong"}, kBody, kSecrets, now()), Verdict::ok);
}

TEST(Signature, SecretHeaderNames) {
  EXPECT_EQ(secret_header_name("X-Builder-Secret"), "x-builder-secret");
  EXPECT_EQ(secret_header_name("x-hook-token"), "x-hook-token");
  for (const char* bad : {"", "x hook", "x:hook", "Authorization", "svix-signature", "Content-Type", "X-Request-Id"})
    EXPECT_THROW(secret_header_name(bad), ConfigError) << bad;
}

TEST(Signature, BuilderHmacWithAndWithoutPrefix) {
  auto hex = to_hex(hmac_sha256(kCurrent, kBody));
  EXPECT_EQ(verify({.builder_signature = "sha256=" + hex}, kBody, kSecrets, now()), Verdict::ok);
  EXPECT_EQ(verify({.builder_signature = hex}, kBody, kSecrets, now()), Verdict::ok);
  EXPECT_EQ(verify({.builder_signature = hex}, kBody + " ", kSecrets, now()), Verdict::invalid);
  auto old = to_hex(hmac_sha256(kPrevious, kBody));
  EXPECT_EQ(verify({.builder_signature = old}, kBody, kSecrets, now()), Verdict::ok);
}

TEST(Signature, StandardWebhooks) {
  auto ts = now_s();
  auto sig = standard_webhooks_signature(kKey, "msg_1", ts, kBody);
  Credentials c{.webhook_id = "msg_1", .webhook_timestamp = ts, .webhook_signature = sig};
  EXPECT_EQ(verify(c, kBody, kStandard, now()), Verdict::ok);
  c.webhook_id = "msg_2";  // the id is signed
  EXPECT_EQ(verify(c, kBody, kStandard, now()), Verdict::invalid);
}

TEST(Signature, APlainSecretNeverVerifiesStandardWebhooksWithAnEmptyKey) {
  // "current-secret-0123" is not base64: it has no Standard Webhooks key, and nothing signed with
  // an empty key (or with the secret's raw bytes) passes.
  ASSERT_FALSE(kSecrets.any_standard_key());
  auto ts = now_s();
  for (const std::string& key : {std::string(), kCurrent}) {
    Credentials c{.webhook_id = "m", .webhook_timestamp = ts, .webhook_signature = standard_webhooks_signature(key, "m", ts, kBody)};
    EXPECT_EQ(verify(c, kBody, kSecrets, now()), Verdict::invalid) << "key '" << key << "'";
  }
}

TEST(Signature, StandardWebhooksRotationAcceptsAnyListedSignature) {
  auto ts = now_s();
  auto good = standard_webhooks_signature(kKey, "msg_1", ts, kBody);
  Credentials c{.webhook_id = "msg_1", .webhook_timestamp = ts, .webhook_signature = "v1a,ZWQyNTUxOQ== v1,AAAA " + good};
  EXPECT_EQ(verify(c, kBody, kStandard, now()), Verdict::ok);
}

TEST(Signature, StandardWebhooksTimestampTolerance) {
  auto t = std::chrono::duration_cast<seconds>(now().time_since_epoch()).count();
  for (long long offset : {-301LL, 301LL}) {
    auto ts = std::to_string(t + offset);
    Credentials c{.webhook_id = "m", .webhook_timestamp = ts, .webhook_signature = standard_webhooks_signature(kKey, "m", ts, kBody)};
    EXPECT_EQ(verify(c, kBody, kStandard, now()), Verdict::stale) << offset;
  }
  auto ts = std::to_string(t - 299);
  Credentials c{.webhook_id = "m", .webhook_timestamp = ts, .webhook_signature = standard_webhooks_signature(kKey, "m", ts, kBody)};
  EXPECT_EQ(verify(c, kBody, kStandard, now()), Verdict::ok);
}

TEST(Signature, AWrongCredentialIsNotRescuedByAnother) {
  EXPECT_EQ(verify({.builder_secret = kCurrent, .builder_signature = "deadbeef"}, kBody, kSecrets, now()), Verdict::invalid);
  // A wrong Standard Webhooks signature is refused even with a right shared secret.
  auto ts = now_s();
  EXPECT_EQ(verify({.builder_secret = kWhsec, .webhook_id = "m", .webhook_timestamp = ts, .webhook_signature = "v1,AAAA"}, kBody,
                   kStandard, now()),
            Verdict::invalid);
}

}  // namespace signature_test
