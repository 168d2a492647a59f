#include "webhook/signature.hpp"

#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include <cctype>
#include <stdexcept>
#include <vector>

#include "http/server.hpp"

namespace orch::webhook {

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::ok: return "ok";
    case Verdict::missing: return "missing";
    case Verdict::invalid: return "invalid";
    case Verdict::stale: return "stale";
  }
  return "?";
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  // HMAC() looks the algorithm up by name on every call (OpenSSL 3), which costs more than hashing
  // a webhook body: fetch it once, and keep one context per thread.
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  struct Context {
    EVP_MAC_CTX* ctx = nullptr;
    Context() {
      char digest[] = "SHA256";
      const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0), OSSL_PARAM_construct_end()};
      ctx = mac ? EVP_MAC_CTX_new(mac) : nullptr;
      if (ctx && EVP_MAC_CTX_set_params(ctx, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        ctx = nullptr;
      }
    }
    ~Context() { EVP_MAC_CTX_free(ctx); }
  };
  thread_local Context local;
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t len = 0;
  // The digest was set once on the context; init only takes the key.
  if (!local.ctx || EVP_MAC_init(local.ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), nullptr) != 1 ||
      EVP_MAC_update(local.ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
      EVP_MAC_final(local.ctx, out, &len, sizeof out) != 1)
    throw std::runtime_error("HMAC-SHA256 failed");
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string to_hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string base64_decode(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return {};
  std::string out(3 * text.size() / 4, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return {};
  size_t pad = 0;
  if (text.back() == '=') ++pad;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::string standard_webhooks_key(const std::string& secret) {
  constexpr std::string_view prefix = "whsec_";
  if (secret.rfind(prefix, 0) == 0) return base64_decode(std::string_view(secret).substr(prefix.size()));
  return secret;
}

std::string standard_webhooks_signature(const std::string& secret, std::string_view id, std::string_view timestamp,
                                        std::string_view body) {
  std::string signed_content;
  signed_content.reserve(id.size() + timestamp.size() + body.size() + 2);
  signed_content.append(id).append(".").append(timestamp).append(".").append(body);
  return "v1," + base64_encode(hmac_sha256(standard_webhooks_key(secret), signed_content));
}

namespace {

bool matches_any(const Secrets& s, const std::function<bool(const std::string&)>& check) {
  // Both secrets are always checked so the timing does not reveal which one matched.
  bool a = !s.current.empty() && check(s.current);
  bool b = !s.previous.empty() && check(s.previous);
  return a || b;
}

Verdict verify_hmac_header(std::string_view header, std::string_view body, const Secrets& secrets) {
  if (header.rfind("sha256=", 0) == 0) header.remove_prefix(7);
  std::string given(header);
  for (auto& c : given) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return matches_any(secrets, [&](const std::string& secret) {
           return http::constant_time_equal(to_hex(hmac_sha256(secret, body)), given);
         })
             ? Verdict::ok
             : Verdict::invalid;
}

Verdict verify_standard(const Credentials& c, std::string_view body, const Secrets& secrets,
                        std::chrono::system_clock::time_point now) {
  long long ts = 0;
  try {
    size_t used = 0;
    ts = std::stoll(c.webhook_timestamp, &used);
    if (used != c.webhook_timestamp.size()) return Verdict::invalid;
  } catch (const std::exception&) {
    return Verdict::invalid;
  }
  auto now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (ts < now_s - kTimestampTolerance.count() || ts > now_s + kTimestampTolerance.count()) return Verdict::stale;

  // Several space-separated signatures may be sent (the sender rotating its secret).
  std::vector<std::string_view> given;
  std::string_view rest = c.webhook_signature;
  while (!rest.empty()) {
    auto sp = rest.find(' ');
    auto token = rest.substr(0, sp);
    if (token.rfind("v1,", 0) == 0) given.push_back(token);
    if (sp == std::string_view::npos) break;
    rest.remove_prefix(sp + 1);
  }
  return matches_any(secrets, [&](const std::string& secret) {
           auto expected = standard_webhooks_signature(secret, c.webhook_id, c.webhook_timestamp, body);
           bool ok = false;
           for (auto g : given) ok |= http::constant_time_equal(expected, g);
           return ok;
         })
             ? Verdict::ok
             : Verdict::invalid;
}

}  // namespace

Verdict verify(const Credentials& c, std::string_view body, const Secrets& secrets,
               std::chrono::system_clock::time_point now) {
  // The first credential present decides: a wrong one is never rescued by trying the others.
  if (!c.webhook_signature.empty() || !c.webhook_id.empty() || !c.webhook_timestamp.empty()) {
    if (c.webhook_signature.empty() || c.webhook_id.empty() || c.webhook_timestamp.empty()) return Verdict::invalid;
    return verify_standard(c, body, secrets, now);
  }
  if (!c.builder_signature.empty()) return verify_hmac_header(c.builder_signature, body, secrets);
  if (!c.builder_secret.empty())
    return matches_any(secrets, [&](const std::string& secret) { return http::constant_time_equal(c.builder_secret, secret); })
               ? Verdict::ok
               : Verdict::invalid;
  return Verdict::missing;
}

}  // namespace orch::webhook
