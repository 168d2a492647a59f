#include "bus/outbox.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "bus/bus.hpp"
#include "core/text.hpp"

namespace orch {

// One line per record: {"event":{...},"extra":{...},"key":...,"publish":...,"stream":...,"ttl":...}.
// Written by hand around the event's own text (already JSON), in the key order nlohmann writes.
static std::string to_line(const OutboxRecord& r) {
  std::string line = "{\"event\":" + r.event + ",\"extra\":{";
  for (size_t i = 0; i < r.fields.size(); ++i) {
    if (i > 0) line += ',';
    append_json_string(line, r.fields[i].first);
    line += ':';
    append_json_string(line, r.fields[i].second);
  }
  line += "},\"key\":";
  append_json_string(line, r.dedupe_key);
  line += r.publish ? ",\"publish\":true" : ",\"publish\":false";
  line += ",\"stream\":";
  append_json_string(line, r.stream);
  line += ",\"ttl\":" + std::to_string(r.ttl_s) + "}\n";
  return line;
}

static OutboxRecord from_line(const json& j) {
  OutboxRecord r;
  r.stream = j.at("stream").get<std::string>();
  const auto& event = j.at("event");
  r.event = to_text(event);
  r.event_id = event.is_object() ? event.value("id", "") : "";
  r.dedupe_key = j.value("key", "");
  r.ttl_s = j.value("ttl", 0LL);
  r.publish = j.value("publish", true);
  const auto extra = j.value("extra", json::object());
  for (const auto& [k, v] : extra.items()) r.fields.emplace_back(k, as_text(v));
  return r;
}

static int open_append(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) throw BusError("outbox '" + path + "': " + std::strerror(errno));
  return fd;
}

Outbox::Outbox(std::string path, size_t max_records) : path_(std::move(path)), max_(max_records) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), ec);
  fd_ = open_append(path_);
  depth_ = load().size();
}

Outbox::~Outbox() {
  if (fd_ >= 0) ::close(fd_);
}

size_t Outbox::depth() const {
  std::lock_guard lock(mu_);
  return depth_;
}

void Outbox::append(const std::vector<OutboxRecord>& records) {
  std::lock_guard lock(mu_);
  if (depth_ + records.size() > max_)
    throw BusError("outbox is full (" + std::to_string(depth_) + " events, ORCH_OUTBOX_MAX=" + std::to_string(max_) + ")");
  std::string data;
  for (const auto& r : records) data += to_line(r);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd_, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw BusError("outbox write failed: " + std::string(std::strerror(errno)));
    }
    off += static_cast<size_t>(n);
  }
  if (::fdatasync(fd_) != 0) throw BusError("outbox sync failed: " + std::string(std::strerror(errno)));
  depth_ += records.size();
}

std::vector<OutboxRecord> Outbox::load() const {
  std::vector<OutboxRecord> out;
  std::ifstream in(path_);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = parse_json(line);
    // A torn last line (crash mid-write, never acknowledged) is skipped.
    if (j.is_discarded() || !j.is_object() || !j.contains("event")) continue;
    out.push_back(from_line(j));
  }
  return out;
}

void Outbox::replace(const std::vector<OutboxRecord>& remaining) {
  std::lock_guard lock(mu_);
  const std::string tmp = path_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const auto& r : remaining) out << to_line(r);
    out.flush();
    if (!out) throw BusError("outbox rewrite failed: " + tmp);
  }
  if (std::rename(tmp.c_str(), path_.c_str()) != 0) throw BusError("outbox rename failed: " + std::string(std::strerror(errno)));
  ::close(fd_);
  fd_ = open_append(path_);
  depth_ = remaining.size();
}

}  // namespace orch
