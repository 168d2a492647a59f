#include "webhook/signature.hpp"

#include <algorithm>
#include <cctype>
#include <functional>

#include "config/secrets.hpp"
#include "core/crypto.hpp"
#include "core/error.hpp"

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

std::string secret_header_name(const std::string& configured) {
  std::string name = configured;
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const bool token = !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
  });
  if (!token) throw ConfigError("WEBHOOK_SECRET_HEADER: '" + configured + "' is not an HTTP header name");
  // Authorization is read as a bearer token anyway; the others carry other credentials or the body.
  for (const char* taken : {"authorization", "x-builder-signature", "webhook-id", "webhook-timestamp", "webhook-signature",
                            "svix-id", "svix-timestamp", "svix-signature", "content-type", "content-length", "x-request-id"})
    if (name == taken) throw ConfigError("WEBHOOK_SECRET_HEADER: '" + configured + "' is already read for something else");
  return name;
}

Secrets Secrets::from(const std::string& current, const std::string& previous) {
  Secrets s;
  if (current.empty()) return s;  // a previous secret alone accepts nothing
  for (const auto* text : {&current, &previous})
    if (!text->empty()) s.accepted.push_back({*text, standard_webhooks_key(*text)});
  return s;
}

bool Secrets::any_standard_key() const {
  for (const auto& s : accepted)
    if (s.standard_key) return true;
  return false;
}

std::string standard_webhooks_signature(std::string_view key, std::string_view id, std::string_view timestamp,
                                        std::string_view body) {
  std::string signed_content;
  signed_content.reserve(id.size() + timestamp.size() + body.size() + 2);
  signed_content.append(id).append(".").append(timestamp).append(".").append(body);
  return "v1," + base64_encode(hmac_sha256(key, signed_content));
}

namespace {

bool matches_any(const Secrets& s, const std::function<bool(const Secret&)>& check) {
  // Every secret is always checked so the timing does not reveal which one matched.
  bool any = false;
  for (const auto& secret : s.accepted) any |= check(secret);
  return any;
}

Verdict verify_hmac_header(std::string_view header, std::string_view body, const Secrets& secrets) {
  if (header.rfind("sha256=", 0) == 0) header.remove_prefix(7);
  std::string given(header);
  for (auto& c : given) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return matches_any(secrets, [&](const Secret& secret) {
           return constant_time_equal(to_hex(hmac_sha256(secret.text, body)), given);
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

  // Several space-separated signatures may be sent (the sender rotating its secret); versions
  // other than v1 (v1a: ed25519) are skipped.
  std::vector<std::string_view> given;
  std::string_view rest = c.webhook_signature;
  while (!rest.empty()) {
    auto sp = rest.find(' ');
    auto token = rest.substr(0, sp);
    if (token.rfind("v1,", 0) == 0) given.push_back(token);
    if (sp == std::string_view::npos) break;
    rest.remove_prefix(sp + 1);
  }
  return matches_any(secrets, [&](const Secret& secret) {
           // A secret without a Standard Webhooks key never matches: no key is ever empty.
           if (!secret.standard_key || secret.standard_key->empty()) return false;
           auto expected = standard_webhooks_signature(*secret.standard_key, c.webhook_id, c.webhook_timestamp, body);
           bool ok = false;
           for (auto g : given) ok |= constant_time_equal(expected, g);
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
  // The shared secret itself, from the configured header or else a bearer token.
  const std::string& given = !c.builder_secret.empty() ? c.builder_secret : c.bearer;
  if (!given.empty())
    return matches_any(secrets, [&](const Secret& secret) { return constant_time_equal(given, secret.text); }) ? Verdict::ok
                                                                                                              : Verdict::invalid;
  return Verdict::missing;
}

}  // namespace orch::webhook
