#pragma once
// A webhook sender as a relay (Svix, Hookdeck) behaves: deliveries signed by the Standard Webhooks
// reference library (tests/node/sign_deliveries.mjs) go to POST /webhook/builder over keep-alive
// connections, one request in flight on each; every answer is reported; a delivery that got no
// answer (the connection broke, orch was down) or a 5xx/429 is sent again later, same webhook-id,
// with backoff, until it is answered 2xx or 4xx. One epoll thread, so it stays light on the cores
// it shares with orch. For the chaos test and the soak (SPEC §6, docs/webhook.md "Answers").
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace orch::test {

// One delivery as sign_deliveries.mjs wrote it; `seq` is the caller's index for it.
struct SignedDelivery {
  long long seq = 0;
  std::string id, timestamp, signature, body;
};

// A line of sign_deliveries.mjs ("id TAB timestamp TAB signature TAB body"); nullopt if malformed.
std::optional<SignedDelivery> parse_signed_line(std::string_view line);

// Runs sign_deliveries.mjs for `count` deliveries `<prefix>-<first>` ...; seq = position. Throws
// std::runtime_error when node fails.
std::vector<SignedDelivery> sign_deliveries(const std::string& secret, const std::string& prefix, long long first, long long count);

// The argv that runs sign_deliveries.mjs forever (count 0), for a PipeProcess.
std::vector<std::string> signer_argv(const std::string& secret, const std::string& prefix, long long first);

struct SendAnswer {
  int status = 0;        // 0: no answer (could not connect, or the connection broke before it)
  std::string event_id;  // of a 202
};

class WebhookSender {
 public:
  struct Options {
    int connections = 16;
    double rate = 0;  // new deliveries per second; 0: as fast as answers come back
    std::chrono::milliseconds retry_min{50}, retry_max{1000};
    std::chrono::milliseconds give_up{std::chrono::minutes(3)};  // after the first attempt; then counted abandoned
    std::string path = "/webhook/builder";
  };
  // The next new delivery, called on the sender's thread; nullopt: there are no more.
  using Source = std::function<std::optional<SignedDelivery>()>;
  // Every attempt's answer, on the sender's thread.
  using OnAnswer = std::function<void(const SignedDelivery&, const SendAnswer&)>;

  WebhookSender(int port, Source source, OnAnswer on_answer, Options options);
  ~WebhookSender();  // stops the thread
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  // Until the source is exhausted and every delivery is final (answered 2xx/4xx, or abandoned);
  // false when `timeout` passed first.
  bool wait(std::chrono::milliseconds timeout);
  // Ends sending now (what is in flight is neither answered nor retried).
  void stop();

  long long started() const { return started_.load(); }    // deliveries taken from the source
  long long finished() const { return finished_.load(); }  // deliveries answered 2xx/4xx
  long long abandoned() const { return abandoned_.load(); }
  long long answers(int status) const;  // attempts answered with this status (0: no answer)

 private:
  struct Item;
  struct Conn;
  void loop();

  int port_;
  Source source_;
  OnAnswer on_answer_;
  Options opts_;
  std::atomic<bool> stop_{false};
  std::atomic<long long> started_{0}, finished_{0}, abandoned_{0};
  std::atomic<long long> by_status_[600] = {};
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace orch::test
