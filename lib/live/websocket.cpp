#include "live/websocket.hpp"

#include "core/crypto.hpp"

namespace orch::live::ws {

std::string accept_key(std::string_view client_key) {
  static constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string input(client_key);
  input += kGuid;
  return base64_encode(sha1(input));
}

bool valid_client_key(std::string_view client_key) {
  auto key = base64_decode(client_key);
  return client_key.size() == 24 && key && key->size() == 16;
}

std::string encode_frame(Opcode op, std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 10);
  out.push_back(static_cast<char>(0x80 | static_cast<uint8_t>(op)));
  const uint64_t n = payload.size();
  if (n < 126) {
    out.push_back(static_cast<char>(n));
  } else if (n <= 0xFFFF) {
    out.push_back(126);
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xFF));
  } else {
    out.push_back(127);
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xFF));
  }
  out.append(payload);
  return out;
}

std::string encode_close(uint16_t code, std::string_view reason) {
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xFF));
  payload.append(reason.substr(0, 123));
  return encode_frame(Opcode::close, payload);
}

uint16_t close_code(std::string_view payload) {
  if (payload.size() < 2) return 1005;
  return static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) | static_cast<uint8_t>(payload[1]));
}

std::optional<Frame> FrameParser::next() {
  if (error_) return std::nullopt;
  if (buffer_.size() < 2) return std::nullopt;
  const auto b0 = static_cast<uint8_t>(buffer_[0]);
  const auto b1 = static_cast<uint8_t>(buffer_[1]);
  const uint8_t op = b0 & 0x0F;
  const bool known = op <= 0x2 || (op >= 0x8 && op <= 0xA);
  const bool control = op >= 0x8;
  // No extension is negotiated, so reserved bits must be clear; clients must mask (§5.1).
  if ((b0 & 0x70) || !known || !(b1 & 0x80)) {
    error_ = kProtocolError;
    return std::nullopt;
  }
  uint64_t len = b1 & 0x7F;
  size_t pos = 2;
  if (control && (len > 125 || !(b0 & 0x80))) {
    error_ = kProtocolError;
    return std::nullopt;
  }
  if (len == 126) {
    if (buffer_.size() < 4) return std::nullopt;
    len = (static_cast<uint64_t>(static_cast<uint8_t>(buffer_[2])) << 8) | static_cast<uint8_t>(buffer_[3]);
    pos = 4;
  } else if (len == 127) {
    if (buffer_.size() < 10) return std::nullopt;
    len = 0;
    for (int i = 2; i < 10; ++i) len = (len << 8) | static_cast<uint8_t>(buffer_[i]);
    pos = 10;
  }
  if (len > max_payload_) {
    error_ = kMessageTooBig;
    return std::nullopt;
  }
  if (buffer_.size() < pos + 4 + len) return std::nullopt;
  const char* mask = buffer_.data() + pos;
  pos += 4;
  Frame f;
  f.fin = b0 & 0x80;
  f.opcode = static_cast<Opcode>(op);
  f.payload.resize(len);
  for (uint64_t i = 0; i < len; ++i) f.payload[i] = static_cast<char>(buffer_[pos + i] ^ mask[i % 4]);
  buffer_.erase(0, pos + len);
  return f;
}

}  // namespace orch::live::ws
