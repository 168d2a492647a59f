#include "core/event.hpp"

#include <openssl/rand.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <stdexcept>

#include "core/text.hpp"

namespace orch {

json Event::to_json() const {
  return json{{"specversion", "1.0"}, {"id", id},           {"source", source},
              {"type", type},         {"time", time},       {"subject", subject},
              {"datacontenttype", "application/json"},      {"data", data}};
}

namespace {

// Most events carry a flat object of strings (content events always do): written directly, in
// the key order nlohmann keeps; anything else goes through nlohmann.
void append_data(std::string& out, const json& data) {
  if (data.is_object() && std::all_of(data.begin(), data.end(), [](const json& v) { return v.is_string(); })) {
    out += '{';
    bool first = true;
    for (const auto& [key, value] : data.items()) {
      if (!first) out += ',';
      first = false;
      append_json_string(out, key);
      out += ':';
      append_json_string(out, value.get_ref<const std::string&>());
    }
    out += '}';
    return;
  }
  out += to_text(data);
}

}  // namespace

std::string Event::to_string() const {
  // Written field by field (every event on the bus goes through here), keys in to_json's
  // order so both give the same text.
  std::string out;
  out.reserve(256 + id.size() + source.size() + type.size() + subject.size());
  out += "{\"data\":";
  append_data(out, data);
  auto member = [&out](std::string_view key, std::string_view value) {
    out += ",\"";
    out += key;
    out += "\":";
    append_json_string(out, value);
  };
  member("datacontenttype", "application/json");
  member("id", id);
  member("source", source);
  member("specversion", "1.0");
  member("subject", subject);
  member("time", time);
  member("type", type);
  out += '}';
  return out;
}

Event Event::from_json(const json& j) {
  if (!j.is_object() || j.value("specversion", "") != "1.0" || !j.contains("type") || !j.contains("id"))
    throw std::invalid_argument("not a CloudEvents 1.0 object");
  Event e;
  e.id = j.at("id").get<std::string>();
  e.source = j.value("source", "");
  e.type = j.at("type").get<std::string>();
  e.time = j.value("time", "");
  e.subject = j.value("subject", "");
  e.data = j.value("data", json::object());
  return e;
}

std::string hostname() {
  static const std::string name = [] {
    std::array<char, 256> buf{};
    if (gethostname(buf.data(), buf.size() - 1) != 0) return std::string("localhost");
    return std::string(buf.data());
  }();
  return name;
}

std::string new_uuid() {
  // RAND_bytes costs about as much for 16 bytes as for 4 KiB: draw a pool per thread.
  thread_local std::array<unsigned char, 4096> pool{};
  thread_local size_t used = pool.size();
  if (used == pool.size()) {
    if (RAND_bytes(pool.data(), static_cast<int>(pool.size())) != 1) throw std::runtime_error("RAND_bytes failed");
    used = 0;
  }
  std::array<unsigned char, 16> b{};
  std::copy_n(pool.begin() + static_cast<long>(used), b.size(), b.begin());
  used += b.size();
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 15];
  }
  return out;
}

std::string rfc3339_ms(long long epoch_ms) {
  const std::time_t secs = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                tm.tm_sec, static_cast<int>(epoch_ms % 1000));
  return buf;
}

std::string rfc3339_now() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  // Every event of one second shares the part up to the seconds: formatted once per thread.
  thread_local std::time_t cached_secs = -1;
  thread_local char prefix[64];  // room for any int the compiler imagines in a year
  if (secs != cached_secs) {
    std::tm tm{};
    gmtime_r(&secs, &tm);
    std::snprintf(prefix, sizeof prefix, "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec);
    cached_secs = secs;
  }
  std::string out(prefix);
  out += static_cast<char>('0' + ms / 100);
  out += static_cast<char>('0' + ms / 10 % 10);
  out += static_cast<char>('0' + ms % 10);
  out += 'Z';
  return out;
}

Event make_event(std::string type, std::string subject, json data) {
  Event e;
  e.id = new_uuid();
  static const std::string source = "orch://" + hostname();
  e.source = source;
  e.type = std::move(type);
  e.time = rfc3339_now();
  e.subject = std::move(subject);
  e.data = std::move(data);
  return e;
}

}  // namespace orch
