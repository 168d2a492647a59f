// The on-disk outbox (bus/outbox.hpp): a file left by an earlier run (torn by a crash or a full
// disk, or damaged) is read when orch serve starts with Redis configured. Input: the file's bytes.
// Beyond "no crash": opening never throws for a damaged file, depth() counts what load() reads,
// a record appended afterwards is read back whole as the last one (a torn tail never swallows
// it), and every record read is written back and read again unchanged.
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "bus/bus.hpp"
#include "bus/outbox.hpp"
#include "support/fuzz.hpp"

using namespace orch;

namespace {

std::string file_path() {
  static const std::string path = fuzz::scratch_dir("outbox-fuzz") + "/outbox.jsonl";
  return path;
}

bool same(const OutboxRecord& a, const OutboxRecord& b) {
  return a.stream == b.stream && a.event == b.event && a.event_id == b.event_id && a.dedupe_key == b.dedupe_key && a.ttl_s == b.ttl_s &&
         a.publish == b.publish && a.fields == b.fields;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (fuzz::quiet_logs(), true);
  (void)quiet;
  {
    std::ofstream out(file_path(), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  std::vector<OutboxRecord> before;
  {
    Outbox box(file_path(), 1'000'000);
    before = box.load();
    FUZZ_CHECK(box.depth() == before.size());
    for (const auto& r : before) {
      const auto again = read_outbox_line(outbox_line(r));
      FUZZ_CHECK(again && same(*again, r), outbox_line(r));
    }
    // A new record after whatever was there: read back whole, last.
    OutboxRecord added{
        "orch:events", R"({"id":"fuzz-1","type":"content.published"})", "fuzz-1", "wh:fuzz", 86400, true, {{"type", "content.published"}}};
    box.append({added});
    const auto after = box.load();
    FUZZ_CHECK(after.size() == before.size() + 1, std::to_string(after.size()) + " after " + std::to_string(before.size()));
    FUZZ_CHECK(same(after.back(), added));
    FUZZ_CHECK(box.depth() == after.size());
    // What a partial flush leaves: the records after the first, rewritten.
    if (!after.empty()) {
      box.replace({after.begin() + 1, after.end()});
      const auto rest = box.load();
      FUZZ_CHECK(rest.size() == after.size() - 1 && box.depth() == rest.size());
      for (size_t i = 0; i < rest.size(); ++i) FUZZ_CHECK(same(rest[i], after[i + 1]));
    }
  }
  // Opened again, as the next start would: the same records.
  Outbox again(file_path(), 1'000'000);
  FUZZ_CHECK(again.depth() == before.size());
  return 0;
}
