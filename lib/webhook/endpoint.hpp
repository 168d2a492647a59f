#pragma once
// POST /webhook/builder (SPEC §6): authenticate, parse, deduplicate, publish durably, answer.
// Served in batches on the HTTP front end's loop: the requests of one round are checked one by
// one and their events published together (one Redis round trip); each is answered when the bus
// reports back, while the loop goes on with the next requests.
#include <optional>
#include <vector>

#include "http/front.hpp"
#include "app/module.hpp"
#include "content/payload.hpp"
#include "webhook/signature.hpp"

namespace orch::webhook {

class Endpoint final : public Module {
 public:
  explicit Endpoint(ServeContext& ctx);
  const char* name() const override { return "webhook"; }

 private:
  // A request that passed every check and waits for its event to be stored.
  struct Accepted {
    http::Exchange* exchange;
    std::string request_id;
    content::ContentChange change;
    std::string event_id, subject;  // for the answer and the log line (the type is change.type)
    Bus::UniqueEvent publish;
  };
  void handle(const std::vector<http::Exchange*>& batch, std::function<void()> done);
  // Answers the accepted requests once their events are stored (or could not be).
  void answer(const std::vector<Accepted>& accepted, const std::vector<std::optional<PublishReceipt>>& receipts,
              std::exception_ptr error);
  // Answers the request (4xx/503) and returns nullopt, or returns what to publish.
  std::optional<Accepted> check(http::Exchange& ex);
  void reject(http::Exchange& ex, const std::string& request_id, int status, const char* result, const char* code,
              const std::string& message);

  ServeContext& ctx_;
  Secrets secrets_;
  std::string secret_header_;  // WEBHOOK_SECRET_HEADER, lower-cased
  bool lookup_key_;            // BUILDER_API_KEY is set: payload-less deliveries can be resolved
  Family<Counter>& received_;
  Counter &accepted_, &duplicate_;  // the two results of every stored request, looked up once
};

}  // namespace orch::webhook
