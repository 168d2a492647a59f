#pragma once
// For the libFuzzer harnesses (tests/fuzz, docs/reliability.md "Fuzzing"): an input taken apart
// into fields, and invariants checked beyond "no crash". A broken invariant aborts, which libFuzzer
// records as a crash (with the input) and the replay test of the ordinary build as a failure.
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace orch::fuzz {

[[noreturn]] inline void broken(const char* what, const char* file, int line, const std::string& detail = {}) {
  std::fprintf(stderr, "%s:%d: invariant broken: %s%s%s\n", file, line, what, detail.empty() ? "" : ": ", detail.c_str());
  std::abort();
}

// FUZZ_CHECK(condition) or FUZZ_CHECK(condition, "detail " + text).
#define FUZZ_CHECK(cond, ...) ((cond) ? (void)0 : ::orch::fuzz::broken(#cond, __FILE__, __LINE__ __VA_OPT__(, ) __VA_ARGS__))

// Fields of one input, separated by 0x1e (ASCII record separator): seeds stay readable text and a
// mutation that removes a separator merges two fields, which is as good an input as any.
class Input {
 public:
  static constexpr char kSeparator = '\x1e';
  Input(const uint8_t* data, size_t size) : rest_(reinterpret_cast<const char*>(data), size) {}
  bool empty() const { return rest_.empty(); }
  // The next field (empty once the input is used up).
  std::string_view field() {
    const auto end = rest_.find(kSeparator);
    const auto f = rest_.substr(0, end);
    rest_.remove_prefix(end == std::string_view::npos ? rest_.size() : end + 1);
    return f;
  }
  // The first byte of the next field as a small number (0 when there is none); the field is used up.
  unsigned choice() {
    const auto f = field();
    return f.empty() ? 0 : static_cast<unsigned char>(f.front());
  }
  // Everything not taken yet, separators included.
  std::string_view rest() {
    const auto r = rest_;
    rest_ = {};
    return r;
  }

 private:
  std::string_view rest_;
};

// Harnesses run millions of inputs: the product's log lines would be most of the time spent.
inline void quiet_logs() { spdlog::set_level(spdlog::level::off); }

// A fresh folder for a harness's files (config file, outbox, state), on tmpfs when there is one
// (every input may be written and synced), removed when the process exits.
inline std::string scratch_dir(const char* name) {
  static std::vector<std::string> made;
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : tmp && *tmp ? tmp : "/tmp") + "/orch-" + name + "-XXXXXX";
  if (!::mkdtemp(dir.data())) std::abort();
  if (made.empty())
    std::atexit([] {
      std::error_code ec;
      for (const auto& d : made) std::filesystem::remove_all(d, ec);
    });
  made.push_back(dir);
  return dir;
}

}  // namespace orch::fuzz
