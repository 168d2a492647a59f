#include "bus/outbox.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <spdlog/spdlog.h>

#include "bus/bus.hpp"
#include "core/text.hpp"

namespace orch {

// One line per record: {"event":{...},"extra":{...},"key":...,"publish":...,"stream":...,"ttl":...}.
// Written by hand around the event's own text (already JSON), in the key order nlohmann writes.
std::string outbox_line(const OutboxRecord& r) {
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

std::optional<OutboxRecord> read_outbox_line(std::string_view line) {
  const auto j = parse_json(line);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  const auto stream = j.find("stream");
  const auto event = j.find("event");
  if (stream == j.end() || !stream->is_string() || event == j.end()) return std::nullopt;
  OutboxRecord r;
  r.stream = stream->get<std::string>();
  r.event = to_text(*event);
  if (event->is_object())
    if (const auto id = event->find("id"); id != event->end() && id->is_string()) r.event_id = id->get<std::string>();
  if (const auto key = j.find("key"); key != j.end() && key->is_string()) r.dedupe_key = key->get<std::string>();
  // Only a whole number: a float cast to long long is undefined beyond its range.
  if (const auto ttl = j.find("ttl"); ttl != j.end() && ttl->is_number_integer()) r.ttl_s = ttl->get<long long>();
  if (const auto publish = j.find("publish"); publish != j.end() && publish->is_boolean()) r.publish = publish->get<bool>();
  if (const auto extra = j.find("extra"); extra != j.end() && extra->is_object())
    for (const auto& [k, v] : extra->items()) r.fields.emplace_back(k, as_text(v));
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
  // At start a state dir orch cannot write is an output file that cannot be created (exit 73, like
  // orch init's), not an unreachable bus: the operator's fix is a mount or a mode, not a retry.
  try {
    fd_ = open_append(path_);
  } catch (const BusError& e) {
    throw OutputError(e.what());
  }
  // A last line without its newline is a write that was cut short (disk full, crash): it was never
  // acknowledged, and the next record appended to it would be read as one broken line with it.
  const off_t size = ::lseek(fd_, 0, SEEK_END);
  if (size < 0) throw BusError("outbox '" + path_ + "': " + std::strerror(errno));
  committed_ = size;
  if (size > 0) {
    std::string tail;
    {
      std::ifstream in(path_, std::ios::binary);
      const off_t from = size > 65536 ? size - 65536 : 0;
      in.seekg(from);
      tail.assign(std::istreambuf_iterator<char>(in), {});
      if (tail.back() != '\n') {
        auto nl = tail.rfind('\n');
        // No newline in the last 64 KiB: scan the whole file for the last one.
        if (nl == std::string::npos && from > 0) {
          std::ifstream whole(path_, std::ios::binary);
          std::string all((std::istreambuf_iterator<char>(whole)), {});
          nl = all.rfind('\n');
          committed_ = nl == std::string::npos ? 0 : static_cast<off_t>(nl + 1);
        } else {
          committed_ = nl == std::string::npos ? 0 : from + static_cast<off_t>(nl + 1);
        }
      }
    }
    if (committed_ != size) {
      spdlog::warn("outbox {}: dropped a torn last record ({} bytes) left by an interrupted write; it was never acknowledged",
                   path_, size - committed_);
      ++skipped_;
      if (!cut_back()) throw BusError("outbox '" + path_ + "': cannot cut off a torn record: " + std::strerror(errno));
    }
  }
  depth_ = load().size();
}

bool Outbox::cut_back() {
  if (::ftruncate(fd_, committed_) != 0) {
    needs_cut_ = true;
    return false;
  }
  needs_cut_ = false;
  return true;
}

size_t Outbox::skipped() const { return skipped_.load(); }

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
  if (needs_cut_ && !cut_back())
    throw BusError("outbox cannot cut off an earlier failed write: " + std::string(std::strerror(errno)));
  std::string data;
  for (const auto& r : records) data += outbox_line(r);
  // On any failure the bytes of this call are cut off again: the caller answers "not stored", and
  // the next record must start on a line of its own.
  auto fail = [&](const char* what) {
    const int err = errno;
    cut_back();
    throw BusError(std::string("outbox ") + what + " failed: " + std::strerror(err));
  };
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd_, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write");
    }
    off += static_cast<size_t>(n);
  }
  if (::fdatasync(fd_) != 0) fail("sync");
  committed_ += static_cast<off_t>(data.size());
  depth_ += records.size();
}

std::vector<OutboxRecord> Outbox::load() const {
  std::vector<OutboxRecord> out;
  std::ifstream in(path_);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto record = read_outbox_line(line);
    // Only a damaged file gets here (torn tails are cut off on open): say so, keep the rest.
    if (!record) {
      spdlog::error("outbox {}: skipped an unreadable record of {} bytes", path_, line.size());
      ++skipped_;
      continue;
    }
    out.push_back(std::move(*record));
  }
  return out;
}

void Outbox::replace(const std::vector<OutboxRecord>& remaining) {
  std::lock_guard lock(mu_);
  const std::string tmp = path_ + ".tmp";
  {
    // Synced before the rename: a crash right after must not leave an empty outbox in its place.
    std::string data;
    for (const auto& r : remaining) data += outbox_line(r);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw BusError("outbox rewrite failed: " + tmp + ": " + std::strerror(errno));
    size_t off = 0;
    bool ok = true;
    while (ok && off < data.size()) {
      ssize_t n = ::write(fd, data.data() + off, data.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) ok = false;
      else off += static_cast<size_t>(n);
    }
    ok = ok && ::fdatasync(fd) == 0;
    const int err = errno;
    ::close(fd);
    if (!ok) {
      std::remove(tmp.c_str());
      throw BusError("outbox rewrite failed: " + tmp + ": " + std::strerror(err));
    }
  }
  if (std::rename(tmp.c_str(), path_.c_str()) != 0) throw BusError("outbox rename failed: " + std::string(std::strerror(errno)));
  ::close(fd_);
  fd_ = open_append(path_);
  committed_ = ::lseek(fd_, 0, SEEK_END);
  needs_cut_ = false;
  depth_ = remaining.size();
}

}  // namespace orch
