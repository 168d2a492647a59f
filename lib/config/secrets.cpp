#include "config/secrets.hpp"

#include "core/crypto.hpp"
#include "core/error.hpp"

namespace orch {

static constexpr std::string_view kWhsecPrefix = "whsec_";

std::optional<std::string> standard_webhooks_key(std::string_view secret) {
  if (secret.starts_with(kWhsecPrefix)) secret.remove_prefix(kWhsecPrefix.size());
  auto key = base64_decode(secret);
  if (!key || key->size() < kMinStandardWebhooksKey || key->size() > kMaxStandardWebhooksKey) return std::nullopt;
  return key;
}

void check_credential(const std::string& setting, std::string_view value) {
  if (value.starts_with(kWhsecPrefix)) {
    auto key = base64_decode(value.substr(kWhsecPrefix.size()));
    if (!key)
      throw ConfigError(setting + ": a whsec_ secret must be base64 after the prefix (A-Z a-z 0-9 + /, padding optional)");
    if (key->size() < kMinStandardWebhooksKey || key->size() > kMaxStandardWebhooksKey)
      throw ConfigError(setting + ": a whsec_ secret must decode to " + std::to_string(kMinStandardWebhooksKey) + " to " +
                        std::to_string(kMaxStandardWebhooksKey) + " bytes, this one gives " + std::to_string(key->size()));
    return;
  }
  if (value.size() < kMinCredentialLength)
    throw ConfigError(setting + ": must be at least " + std::to_string(kMinCredentialLength) + " characters (it has " +
                      std::to_string(value.size()) + "); generate one with: openssl rand -base64 32");
}

}  // namespace orch
