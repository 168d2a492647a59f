#include "webhook/endpoint.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <cctype>

#include "core/text.hpp"
#include "http/server.hpp"

namespace orch::webhook {

constexpr std::chrono::hours kDedupeWindow{24};
constexpr std::string_view kRequestIdPrefix = "wh";

Endpoint::Endpoint(ServeContext& ctx)
    : ctx_(ctx),
      secrets_(Secrets::from(ctx.config.settings.str("TRUSTED_WEBHOOK_SECRET"), ctx.config.settings.str("TRUSTED_WEBHOOK_SECRET_PREVIOUS"))),
      secret_header_(secret_header_name(ctx.config.settings.str("WEBHOOK_SECRET_HEADER"))),
      lookup_key_(ctx.config.settings.has("BUILDER_API_KEY")),
      received_(ctx.metrics.counter("orch_webhooks_received_total", "CMS webhooks received, by result", {"result"})),
      accepted_(received_.labels({"accepted"})),
      duplicate_(received_.labels({"duplicate"})) {
  ctx.http.post_batched("/webhook/builder", [this](const std::vector<http::Exchange*>& batch, std::function<void()> done) {
    handle(batch, std::move(done));
  });
  ctx.http.allow("/webhook/builder", "POST");
  ctx.http.tag_requests("/webhook/builder", std::string(kRequestIdPrefix));  // docs/webhook.md: every answer carries X-Request-Id
  ctx.http.guard("/webhook/builder", http::Server::Rate::unlimited);  // CMS bursts are not throttled
  ctx.http.on_error("/webhook/builder", [this](int status) {
    if (status == 413) received_.labels({"too_large"}).inc();
  });
  if (secrets_.empty())
    spdlog::warn("TRUSTED_WEBHOOK_SECRET is not set: POST /webhook/builder answers 503 to every request");
  else if (!secrets_.any_standard_key())
    spdlog::info("TRUSTED_WEBHOOK_SECRET is not a Standard Webhooks secret (whsec_<base64>): webhook-signature is refused; "
                 "{}, Authorization: Bearer and x-builder-signature are accepted", secret_header_);
}

void Endpoint::reject(http::Exchange& ex, const std::string& request_id, int status, const char* result, const char* code,
                      const std::string& message) {
  received_.labels({result}).inc();
  spdlog::info("webhook rejected status={} reason={} req={} peer={}", status, code, request_id, ex.req.remote_addr);
  http::send_error(ex.res, status, code, message);
}

namespace {

// The headers check() reads, taken in one pass over the request's (a lookup per name would
// lower-case every header name it passes, for each of seven names). Read backwards so that, as
// with get_header_value, the first of repeated headers is the one left.
struct WebhookHeaders {
  std::optional<std::string> request_id;
  std::string content_type;
  Credentials creds;
};

WebhookHeaders read_headers(const httplib::Headers& headers, const std::string& secret_header) {
  WebhookHeaders h;
  for (auto it = headers.rbegin(); it != headers.rend(); ++it) {
    const auto& [name, value] = *it;
    if (iequals(name, "X-Request-Id")) h.request_id = value;
    else if (iequals(name, "Content-Type")) h.content_type = value;
    else if (iequals(name, secret_header)) h.creds.builder_secret = value;
    // What Builder's own custom-header example sends. Another scheme (Basic for a proxy in front)
    // is not a webhook credential.
    else if (iequals(name, "Authorization")) h.creds.bearer = std::string(http::bearer_token(value).value_or(""));
    else if (iequals(name, "x-builder-signature")) h.creds.builder_signature = value;
    // Svix sends the same scheme under its own names.
    else if (iequals(name, "webhook-id") || iequals(name, "svix-id")) h.creds.webhook_id = value;
    else if (iequals(name, "webhook-timestamp") || iequals(name, "svix-timestamp")) h.creds.webhook_timestamp = value;
    else if (iequals(name, "webhook-signature") || iequals(name, "svix-signature")) h.creds.webhook_signature = value;
  }
  return h;
}

}  // namespace

std::optional<Endpoint::Accepted> Endpoint::check(http::Exchange& ex) {
  const auto& req = ex.req;
  auto headers = read_headers(req.headers, secret_header_);
  auto request_id = http::request_id(headers.request_id ? &*headers.request_id : nullptr, kRequestIdPrefix);
  ex.res.set_header("X-Request-Id", request_id);
  auto refuse = [&](int status, const char* result, const char* code, const std::string& message) -> std::optional<Accepted> {
    reject(ex, request_id, status, result, code, message);
    return std::nullopt;
  };

  if (secrets_.empty())
    return refuse(503, "not_configured", "not_configured", "TRUSTED_WEBHOOK_SECRET is not configured");

  const auto& creds = headers.creds;
  switch (verify(creds, req.body, secrets_, std::chrono::system_clock::now())) {
    case Verdict::ok: break;
    case Verdict::missing: return refuse(401, "unauthorized", "unauthorized", "missing webhook credentials");
    case Verdict::stale:
      return refuse(401, "unauthorized", "stale_timestamp", "webhook-timestamp is more than 5 minutes from now");
    case Verdict::invalid: return refuse(401, "unauthorized", "unauthorized", "webhook credentials do not match");
  }

  const auto& type = headers.content_type;
  if (!type.empty() && type.find("json") == std::string::npos)
    return refuse(415, "bad_request", "unsupported_media_type", "body must be application/json");
  // Legacy payloads name no model: the webhook URL can (`/webhook/builder?model=page`).
  auto parsed = content::parse_builder_payload(req.body, req.get_param_value("model"));
  if (parsed.not_json) return refuse(400, "bad_request", "bad_json", "body is not valid JSON");
  if (!parsed.change) return refuse(400, "bad_request", "bad_payload", parsed.error.message);
  auto& change = *parsed.change;
  // A "Disable Payload" delivery: the pipeline looks the change up in the Content API, which
  // needs the public key. Refused now rather than accepted and dead-lettered later.
  if (change.unresolved && !lookup_key_)
    return refuse(400, "bad_request", "bad_payload",
                  "payload has no content entry (Builder's \"Disable Payload\"): set BUILDER_API_KEY so orch can look the change up "
                  "in the Content API, or send the payload");
  auto event = make_event(change.type, change.model + "/" + change.id, change.to_data());
  auto key = content::dedupe_key(creds.webhook_id, change);
  Accepted a{&ex, std::move(request_id), std::move(change), event.id, event.subject, {}};
  a.publish = {std::move(event), std::move(key), kDedupeWindow};
  return a;
}

void Endpoint::handle(const std::vector<http::Exchange*>& batch, std::function<void()> done) {
  auto accepted = std::make_shared<std::vector<Accepted>>();
  accepted->reserve(batch.size());
  for (auto* ex : batch)
    if (auto a = check(*ex)) accepted->push_back(std::move(*a));
  if (accepted->empty()) return done();

  std::vector<Bus::UniqueEvent> events;
  events.reserve(accepted->size());
  for (auto& a : *accepted) events.push_back(std::move(a.publish));
  ctx_.bus.publish_unique_batch_async(std::move(events), [this, accepted, done = std::move(done)](
                                                             std::vector<std::optional<PublishReceipt>> receipts, std::exception_ptr error) {
    answer(*accepted, receipts, error);
    done();
  });
}

void Endpoint::answer(const std::vector<Accepted>& accepted, const std::vector<std::optional<PublishReceipt>>& receipts,
                      std::exception_ptr error) {
  if (error) {
    std::string why;
    try {
      std::rethrow_exception(error);
    } catch (const BusError& e) {
      why = e.what();
    } catch (const std::exception& e) {
      spdlog::error("webhook: publishing failed: {}", e.what());
      why = "internal error";
    }
    for (const auto& a : accepted)
      reject(*a.exchange, a.request_id, 503, "unavailable", "unavailable", "event could not be stored: " + why);
    return;
  }
  for (size_t i = 0; i < accepted.size(); ++i) {
    const auto& a = accepted[i];
    auto& res = a.exchange->res;
    if (!receipts[i]) {
      duplicate_.inc();
      spdlog::info("webhook duplicate model={} id={} revision={} req={}", a.change.model, a.change.id, a.change.revision, a.request_id);
      http::send_json(res, 200, {{"duplicate", true}});
      continue;
    }
    accepted_.inc();
    spdlog::info("event {} id={} subject={} stream_id={}{} req={}", a.change.type, a.event_id, a.subject,
                 receipts[i]->stream_id.empty() ? "-" : receipts[i]->stream_id, receipts[i]->queued ? " (outbox)" : "", a.request_id);
    std::string body = R"({"accepted":true,"event_id":)";
    append_json_string(body, a.event_id);
    body += '}';
    res.status = 202;
    res.set_content(std::move(body), "application/json");
  }
}

}  // namespace orch::webhook
