#pragma once
// POST /webhook/builder (SPEC §6): authenticate, parse, deduplicate, publish durably, answer.
// Served in batches on the HTTP front end's loop: the requests of one round are checked one by
// one, their events published together (one Redis round trip), then each is answered.
#include <optional>
#include <vector>

#include "http/front.hpp"
#include "serve/module.hpp"
#include "webhook/payload.hpp"
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
    ContentChange change;
    Bus::UniqueEvent publish;
  };
  void handle(const std::vector<http::Exchange*>& batch);
  // Answers the request (4xx/503) and returns nullopt, or returns what to publish.
  std::optional<Accepted> check(http::Exchange& ex);
  void reject(http::Exchange& ex, const std::string& request_id, int status, const char* result, const char* code,
              const std::string& message);

  ServeContext& ctx_;
  Secrets secrets_;
  Family<Counter>& received_;
};

}  // namespace orch::webhook
