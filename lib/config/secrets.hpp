#pragma once
// When a configured secret is usable (SPEC §2, §6). Secrets fail closed: a credential that orch
// checks requests against must be long enough to resist guessing, and a Standard Webhooks secret
// must decode to a real key. A bad one stops the start (ConfigError, exit 78) instead of
// becoming a weaker check, e.g. an empty HMAC key that makes every signature forgeable.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace orch {

// The shortest credential orch accepts (TRUSTED_WEBHOOK_SECRET*, ORCH_API_TOKEN).
inline constexpr std::size_t kMinCredentialLength = 16;
// Standard Webhooks: a secret is 24 to 64 random bytes.
inline constexpr std::size_t kMinStandardWebhooksKey = 24, kMaxStandardWebhooksKey = 64;

// The HMAC key of a Standard Webhooks secret, read as the reference libraries read it: an optional
// `whsec_` prefix, then base64 (padding optional). nullopt when that does not give 24–64 bytes.
std::optional<std::string> standard_webhooks_key(std::string_view secret);

// Throws ConfigError naming `setting` when `value` is not a usable credential: shorter than
// kMinCredentialLength, or a `whsec_` secret that is not base64 of 24–64 bytes.
void check_credential(const std::string& setting, std::string_view value);

}  // namespace orch
