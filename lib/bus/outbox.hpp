#pragma once
// The on-disk outbox: while Redis is unreachable, events wait here (one JSON line each, written
// and fdatasync'ed before the publisher is answered) and are flushed in order when it returns.
// Bounded: when full, publishing fails loudly instead of silently dropping. The file only ever
// holds whole lines: a write cut short (disk full, crash) is cut off again, on open and right
// after the failed write, so a torn record can never swallow the next accepted one.
#include <sys/types.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json.hpp"

namespace orch {

struct OutboxRecord {
  std::string stream;      // orch:events or orch:dead
  std::string event;       // the CloudEvent, as compact JSON text (Event::to_string)
  std::string event_id;    // its id
  std::string dedupe_key;  // may be empty
  long long ttl_s = 0;     // dedupe window
  bool publish = true;     // also PUBLISH on the channel
  std::vector<std::pair<std::string, std::string>> fields;  // further stream fields (type; dead letter: reason)
};

// One record as the file holds it: a JSON line with its newline.
std::string outbox_line(const OutboxRecord& r);
// A line of the file read back; nullopt when it is not a record (a damaged file: load() skips and
// counts it). Never throws: a member of the wrong type reads as absent, so one damaged field
// cannot stop the outbox from being read (and orch serve from starting).
std::optional<OutboxRecord> read_outbox_line(std::string_view line);

class Outbox {
 public:
  // Opens (creating folders) and counts what a previous run left. Throws BusError if unusable.
  Outbox(std::string path, size_t max_records);
  ~Outbox();

  // Appends and syncs; throws BusError when it would exceed the bound or the write fails.
  void append(const std::vector<OutboxRecord>& records);
  std::vector<OutboxRecord> load() const;
  // Records found unreadable (corrupt lines, a torn tail) since this outbox was opened.
  size_t skipped() const;
  // Replaces the content (e.g. with what is left after a partial flush); atomic via rename.
  void replace(const std::vector<OutboxRecord>& remaining);
  size_t depth() const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  size_t max_;
  // Cuts the file back to `committed_` bytes (the end of the last whole record).
  bool cut_back();
  int fd_ = -1;
  size_t depth_ = 0;
  off_t committed_ = 0;        // bytes of whole, acknowledged records
  bool needs_cut_ = false;     // a failed write could not be cut off yet
  mutable std::atomic<size_t> skipped_{0};
  mutable std::mutex mu_;
};

}  // namespace orch
