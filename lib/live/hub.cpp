#include "live/hub.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include "core/error.hpp"
#include "core/text.hpp"
#include "live/websocket.hpp"

namespace orch::live {

std::string sse_frame(const Event& e) {
  const auto data = e.to_string();
  std::string out;
  out.reserve(data.size() + e.type.size() + e.stream_id.size() + 24);
  out.append("id: ").append(e.stream_id).append("\nevent: ").append(e.type).append("\ndata: ").append(data).append("\n\n");
  return out;
}

std::string ws_message(const Event& e) {
  auto j = e.to_json();
  if (!e.stream_id.empty()) j["streamid"] = e.stream_id;
  return to_text(j);
}

LiveEventPtr LiveEvent::from(const Event& e) {
  return std::make_shared<const LiveEvent>(LiveEvent{e.stream_id, e.type, sse_frame(e), ws::encode_frame(ws::Opcode::text, ws_message(e))});
}

Hub::Hub(Bus& bus, size_t capacity) : bus_(bus), capacity_(capacity), notify_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (notify_fd_ < 0) throw Error(ExitCode::unknown, "eventfd failed");
}

Hub::~Hub() {
  sub_.reset();
  ::close(notify_fd_);
}

uint64_t Hub::attach() {
  std::lock_guard lock(mu_);
  if (readers_++ == 0) sub_ = bus_.subscribe([this](const Event& e) { on_event(e); });
  return first_seq_ + ring_.size();
}

void Hub::detach() {
  Subscription gone;
  {
    std::lock_guard lock(mu_);
    if (--readers_ == 0) gone = std::move(sub_);
  }
  // `gone` unsubscribes here, outside our lock: the bus may be delivering to on_event right now.
}

void Hub::on_event(const Event& e) {
  auto item = LiveEvent::from(e);  // rendered once, outside the lock
  {
    std::lock_guard lock(mu_);
    ring_.push_back(std::move(item));
    if (ring_.size() > capacity_) {
      ring_.pop_front();
      ++first_seq_;
    }
  }
  if (armed_.exchange(false)) {
    const uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(notify_fd_, &one, sizeof one);
  }
}

void Hub::clear_notification() {
  uint64_t count;
  [[maybe_unused]] auto n = ::read(notify_fd_, &count, sizeof count);
}

Hub::Status Hub::collect(uint64_t& cursor, std::vector<LiveEventPtr>& out) {
  std::lock_guard lock(mu_);
  if (cursor < first_seq_) return Status::overflow;
  const uint64_t head = first_seq_ + ring_.size();
  for (uint64_t s = cursor; s < head; ++s) out.push_back(ring_[s - first_seq_]);
  cursor = head;
  return Status::ready;
}

}  // namespace orch::live
