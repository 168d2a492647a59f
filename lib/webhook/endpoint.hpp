#pragma once
// POST /webhook/builder (SPEC §6): authenticate, parse, deduplicate, publish durably, answer.
#include "serve/module.hpp"
#include "webhook/signature.hpp"

namespace orch::webhook {

class Endpoint final : public Module {
 public:
  explicit Endpoint(ServeContext& ctx);
  const char* name() const override { return "webhook"; }

 private:
  void handle(const httplib::Request& req, httplib::Response& res);
  ServeContext& ctx_;
  Secrets secrets_;
  Family<Counter>& received_;
};

}  // namespace orch::webhook
