#include "http/control.hpp"

#include <spdlog/spdlog.h>

#include "core/crypto.hpp"
#include "core/error.hpp"

namespace orch::http {

Reply error_reply(const std::exception& e) {
  auto shaped = [&](int status, const char* code, std::string message) {
    return Reply(status, json{{"error", code}, {"message", std::move(message)}});
  };
  if (dynamic_cast<const UsageError*>(&e)) return shaped(400, "bad_request", e.what());
  if (dynamic_cast<const NotFoundError*>(&e)) return shaped(404, "not_found", e.what());
  if (dynamic_cast<const UnreachableError*>(&e)) return shaped(503, "unreachable", e.what());
  if (dynamic_cast<const OperationError*>(&e)) return shaped(kOperationFailed, "operation_failed", e.what());
  if (dynamic_cast<const Error*>(&e)) return shaped(500, "internal", e.what());
  spdlog::error("control endpoint failed: {}", e.what());
  return shaped(500, "internal", "internal error");
}

bool authorize(const httplib::Request& req, httplib::Response& res, const std::string& api_token, bool token_in_query) {
  if (token_in_query && !api_token.empty() && req.has_param("token") && constant_time_equal(req.get_param_value("token"), api_token))
    return true;
  return authorize_control(req, res, api_token);
}

void control(Server& server, const std::string& path, std::string api_token, ControlHandler handler, ControlOptions o) {
  server.allow(path, o.method);
  server.guard(path, o.rate);
  auto serve = [token = std::move(api_token), handler = std::move(handler), o](const httplib::Request& req, httplib::Response& res) {
    if (!authorize(req, res, token, o.token_in_query)) return;
    json body = json::object();
    if (o.method == "POST") {
      auto parsed = read_json_object_or_empty(req, res);
      if (!parsed) return;
      body = std::move(*parsed);
    } else {
      // GET: the query parameters (strings) stand for the body, the token aside.
      for (const auto& [k, v] : req.params)
        if (k != "token") body[k] = v;
    }
    Reply reply = [&] {
      try {
        return handler(body);
      } catch (const std::exception& e) {
        return error_reply(e);
      }
    }();
    send_json(res, reply.status, reply.body);
  };
  if (o.method == "GET") server.routes().Get(path, std::move(serve));
  else server.routes().Post(path, std::move(serve));
}

}  // namespace orch::http
