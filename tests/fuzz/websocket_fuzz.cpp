// Client frames on `GET /ws` (live/websocket.hpp): what a browser, or anyone who completed the
// handshake, sends after the upgrade. Input: one byte that says how the bytes arrive (the size of
// each read, 1 to 256), then the bytes.
// Beyond "no crash": the frames do not depend on how the bytes were split into reads; a frame's
// payload is within the limit, a control frame is final and at most 125 bytes; after an error
// (1002 or 1009) nothing more comes out; each frame, masked again as a client would, parses back
// the same; a close frame's code reads without throwing.
#include <vector>

#include "live/websocket.hpp"
#include "support/fuzz.hpp"

using namespace orch::live::ws;

namespace {

constexpr size_t kMaxPayload = 4096;

struct Parsed {
  std::vector<Frame> frames;
  uint16_t error = 0;
};

Parsed parse(std::string_view bytes, size_t read_size) {
  FrameParser p(kMaxPayload);
  Parsed out;
  for (size_t at = 0; at < bytes.size(); at += read_size) {
    p.feed(bytes.substr(at, read_size));
    while (auto f = p.next()) out.frames.push_back(std::move(*f));
    if (p.error()) break;
  }
  out.error = p.error();
  if (out.error) FUZZ_CHECK(!p.next(), "a frame after an error");
  return out;
}

// As a client sends it: FIN/opcode, the shortest length, a mask, the masked payload.
std::string client_frame(const Frame& f, uint32_t mask) {
  std::string b(1, static_cast<char>((f.fin ? 0x80 : 0) | static_cast<uint8_t>(f.opcode)));
  const size_t n = f.payload.size();
  if (n < 126) {
    b += static_cast<char>(0x80 | n);
  } else if (n <= 0xFFFF) {
    b += static_cast<char>(0x80 | 126);
    b += static_cast<char>(n >> 8);
    b += static_cast<char>(n & 0xFF);
  } else {
    b += static_cast<char>(0x80 | 127);
    for (int i = 7; i >= 0; --i) b += static_cast<char>((static_cast<uint64_t>(n) >> (8 * i)) & 0xFF);
  }
  const char m[4] = {static_cast<char>(mask >> 24), static_cast<char>(mask >> 16), static_cast<char>(mask >> 8), static_cast<char>(mask)};
  b.append(m, 4);
  for (size_t i = 0; i < n; ++i) b += static_cast<char>(f.payload[i] ^ m[i % 4]);
  return b;
}

bool same(const Frame& a, const Frame& b) { return a.fin == b.fin && a.opcode == b.opcode && a.payload == b.payload; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t read_size = static_cast<size_t>(data[0]) + 1;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);

  const auto whole = parse(bytes, bytes.size() + 1);
  const auto pieces = parse(bytes, read_size);
  FUZZ_CHECK(whole.error == pieces.error, std::to_string(whole.error) + " vs " + std::to_string(pieces.error));
  FUZZ_CHECK(whole.frames.size() == pieces.frames.size());
  for (size_t i = 0; i < whole.frames.size(); ++i) FUZZ_CHECK(same(whole.frames[i], pieces.frames[i]), "frame " + std::to_string(i));
  FUZZ_CHECK(whole.error == 0 || whole.error == kProtocolError || whole.error == kMessageTooBig, std::to_string(whole.error));

  std::string again;
  uint32_t mask = 0x9e3779b9;
  for (const auto& f : whole.frames) {
    FUZZ_CHECK(f.payload.size() <= kMaxPayload);
    const auto op = static_cast<uint8_t>(f.opcode);
    FUZZ_CHECK(op <= 0x2 || (op >= 0x8 && op <= 0xA), std::to_string(op));
    if (op >= 0x8) FUZZ_CHECK(f.fin && f.payload.size() <= 125);
    if (f.opcode == Opcode::close) {
      const uint16_t code = close_code(f.payload);
      FUZZ_CHECK(!f.payload.empty() || code == 1005);
    }
    again += client_frame(f, mask);
    mask = mask * 2654435761u + 1;
  }
  const auto back = parse(again, again.size() + 1);
  FUZZ_CHECK(back.error == 0 && back.frames.size() == whole.frames.size());
  for (size_t i = 0; i < back.frames.size(); ++i)
    FUZZ_CHECK(same(back.frames[i], whole.frames[i]), "re-encoded frame " + std::to_string(i));
  return 0;
}
