#include "webhook/endpoint.hpp"

#include <spdlog/spdlog.h>

#include <atomic>

#include "webhook/payload.hpp"

namespace orch::webhook {

constexpr std::chrono::hours kDedupeWindow{24};

Endpoint::Endpoint(ServeContext& ctx)
    : ctx_(ctx),
      secrets_{ctx.config.settings.str("TRUSTED_WEBHOOK_SECRET"), ctx.config.settings.str("TRUSTED_WEBHOOK_SECRET_PREVIOUS")},
      received_(ctx.metrics.counter("orch_webhooks_received_total", "CMS webhooks received, by result", {"result"})) {
  ctx.http.routes().Post("/webhook/builder", [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); });
  ctx.http.allow("/webhook/builder", "POST");
  ctx.http.guard("/webhook/builder", http::Server::Rate::unlimited);  // CMS bursts are not throttled
  ctx.http.on_error("/webhook/builder", [this](int status) {
    if (status == 413) received_.labels({"too_large"}).inc();
  });
  if (secrets_.current.empty())
    spdlog::warn("TRUSTED_WEBHOOK_SECRET is not set: POST /webhook/builder answers 503 to every request");
}

void Endpoint::handle(const httplib::Request& req, httplib::Response& res) {
  static std::atomic<unsigned long long> next_request{0};
  const auto request_id = req.has_header("X-Request-Id") ? req.get_header_value("X-Request-Id")
                                                         : "wh-" + std::to_string(++next_request);
  res.set_header("X-Request-Id", request_id);
  auto reject = [&](int status, const char* result, const char* code, const std::string& message) {
    received_.labels({result}).inc();
    spdlog::info("webhook rejected status={} reason={} req={} peer={}", status, code, request_id, req.remote_addr);
    http::send_error(res, status, code, message);
  };

  if (secrets_.current.empty())
    return reject(503, "not_configured", "not_configured", "TRUSTED_WEBHOOK_SECRET is not configured");

  Credentials creds{req.get_header_value("x-builder-secret"), req.get_header_value("x-builder-signature"),
                    req.get_header_value("webhook-id"), req.get_header_value("webhook-timestamp"),
                    req.get_header_value("webhook-signature")};
  switch (verify(creds, req.body, secrets_, std::chrono::system_clock::now())) {
    case Verdict::ok: break;
    case Verdict::missing: return reject(401, "unauthorized", "unauthorized", "missing webhook credentials");
    case Verdict::stale:
      return reject(401, "unauthorized", "stale_timestamp", "webhook-timestamp is more than 5 minutes from now");
    case Verdict::invalid: return reject(401, "unauthorized", "unauthorized", "webhook credentials do not match");
  }

  auto type = req.get_header_value("Content-Type");
  if (!type.empty() && type.find("json") == std::string::npos)
    return reject(415, "bad_request", "unsupported_media_type", "body must be application/json");
  auto body = json::parse(req.body, nullptr, false);
  if (body.is_discarded()) return reject(400, "bad_request", "bad_json", "body is not valid JSON");
  auto parsed = parse_builder_payload(body);
  if (!parsed.change) return reject(400, "bad_request", "bad_payload", parsed.error.message);
  const auto& change = *parsed.change;

  auto event = make_event(change.type, change.model + "/" + change.id, change.to_data());
  std::optional<PublishReceipt> receipt;
  try {
    receipt = ctx_.bus.publish_unique(event, dedupe_key(creds.webhook_id, change), kDedupeWindow);
  } catch (const BusError& e) {
    return reject(503, "unavailable", "unavailable", std::string("event could not be stored: ") + e.what());
  }
  if (!receipt) {
    received_.labels({"duplicate"}).inc();
    spdlog::info("webhook duplicate model={} id={} revision={} req={}", change.model, change.id, change.revision, request_id);
    return http::send_json(res, 200, {{"duplicate", true}});
  }
  received_.labels({"accepted"}).inc();
  spdlog::info("event {} id={} subject={} stream_id={}{} req={}", event.type, event.id, event.subject,
               receipt->stream_id.empty() ? "-" : receipt->stream_id, receipt->queued ? " (outbox)" : "", request_id);
  http::send_json(res, 202, {{"accepted", true}, {"event_id", event.id}});
}

}  // namespace orch::webhook
