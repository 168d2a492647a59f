// Webhook authenticity (webhook/signature.hpp): the Standard Webhooks headers (webhook-id,
// webhook-timestamp, webhook-signature, or Svix's names), x-builder-signature, the shared secret
// header and the bearer token, all from outside; and a configured secret as config/secrets.hpp
// reads it (whsec_ base64). Input fields (0x1e between): webhook-id, webhook-timestamp,
// webhook-signature, x-builder-signature, shared secret, bearer, body, a secret as configured,
// a clock offset byte. Beyond "no crash": a correct signature over the fuzzed id and body is
// accepted even among fuzzed ones, a stale one is refused, and a secret is a Standard Webhooks key
// exactly when the configuration accepts it.
#include "config/secrets.hpp"
#include "core/crypto.hpp"
#include "core/error.hpp"
#include "support/fuzz.hpp"
#include "webhook/signature.hpp"

using namespace orch;
using namespace orch::webhook;

namespace {
// A fixed "now": the same input always gives the same verdict.
const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1'750'000'000));
const std::string kKey(32, '\x5a');
const std::string kCurrent = "whsec_" + base64_encode(kKey);
const std::string kPrevious = "a-previous-shared-secret";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  Credentials c;
  c.webhook_id = in.field();
  c.webhook_timestamp = in.field();
  c.webhook_signature = in.field();
  c.builder_signature = in.field();
  c.builder_secret = in.field();
  c.bearer = in.field();
  const std::string body(in.field());
  const std::string configured(in.field());
  const int offset = static_cast<int>(in.choice() % 128) * 5 - 320;  // -320 s .. +315 s

  // The secret as configuration reads it: check_credential refuses exactly what cannot be used.
  const auto key = standard_webhooks_key(configured);
  if (key) FUZZ_CHECK(key->size() >= kMinStandardWebhooksKey && key->size() <= kMaxStandardWebhooksKey);
  bool accepted = true;
  try {
    check_credential("TRUSTED_WEBHOOK_SECRET", configured);
  } catch (const ConfigError&) {
    accepted = false;
  }
  if (configured.starts_with("whsec_")) FUZZ_CHECK(accepted == bool(key), configured);
  else FUZZ_CHECK(accepted == (configured.size() >= kMinCredentialLength));

  const auto secrets = Secrets::from(kCurrent, kPrevious);
  const auto verdict = verify(c, body, secrets, kNow);  // whatever the headers hold
  FUZZ_CHECK(std::string(to_string(verdict)) != "?");

  if (accepted && !configured.empty()) {
    // A secret the configuration accepts checks the shared-secret header against itself only.
    const auto own = Secrets::from(configured, "");
    Credentials shared;
    shared.builder_secret = configured;
    FUZZ_CHECK(verify(shared, body, own, kNow) == Verdict::ok);
    shared.builder_secret = configured + "x";
    FUZZ_CHECK(verify(shared, body, own, kNow) == Verdict::invalid);
  }

  // Standard Webhooks: the right signature among the fuzzed ones is accepted within 5 minutes of
  // now, and refused as stale beyond.
  if (!c.webhook_id.empty()) {
    Credentials sw;
    sw.webhook_id = c.webhook_id;
    sw.webhook_timestamp = std::to_string(1'750'000'000 + offset);
    sw.webhook_signature = c.webhook_signature + " " + standard_webhooks_signature(kKey, sw.webhook_id, sw.webhook_timestamp, body);
    const auto v = verify(sw, body, secrets, kNow);
    FUZZ_CHECK(v == (offset < -300 || offset > 300 ? Verdict::stale : Verdict::ok), std::string(to_string(v)));
    // The same signature over another body is not accepted.
    if (offset >= -300 && offset <= 300) FUZZ_CHECK(verify(sw, body + "x", secrets, kNow) != Verdict::ok);
    // The first kind present decides: a correct shared secret does not rescue a wrong signature.
    sw.webhook_signature = "v1,AAAA";
    sw.builder_secret = kPrevious;
    FUZZ_CHECK(verify(sw, body, secrets, kNow) != Verdict::ok);
  }
  // x-builder-signature: HMAC of the raw body with the secret's text, either case, with or without sha256=.
  Credentials hmac;
  hmac.builder_signature = "sha256=" + to_hex(hmac_sha256(kPrevious, body));
  FUZZ_CHECK(verify(hmac, body, secrets, kNow) == Verdict::ok);
  for (auto& ch : hmac.builder_signature) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  FUZZ_CHECK(verify(hmac, body, secrets, kNow) == Verdict::invalid);  // "SHA256=" is not the prefix
  hmac.builder_signature = hmac.builder_signature.substr(7);
  FUZZ_CHECK(verify(hmac, body, secrets, kNow) == Verdict::ok);
  // Header names: WEBHOOK_SECRET_HEADER as configured.
  try {
    const auto name = secret_header_name(configured);
    FUZZ_CHECK(!name.empty() && name.find_first_of(" :\r\n") == std::string::npos, name);
  } catch (const ConfigError&) {}
  return 0;
}
