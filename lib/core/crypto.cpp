#include "core/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#include <stdexcept>

namespace orch {

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

std::string sha1(std::string_view data) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
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

static int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::optional<std::string> base64_decode(std::string_view text) {
  size_t pad = 0;
  while (pad < text.size() && pad < 2 && text[text.size() - 1 - pad] == '=') ++pad;
  std::string_view digits = text.substr(0, text.size() - pad);
  if (digits.size() % 4 == 1) return std::nullopt;                     // no whole byte in the last group
  if (pad > 0 && (digits.size() + pad) % 4 != 0) return std::nullopt;  // padding present must complete the group
  std::string out;
  out.reserve(digits.size() * 3 / 4);
  unsigned buffer = 0;
  int bits = 0;
  for (char c : digits) {
    const int v = base64_value(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace orch
