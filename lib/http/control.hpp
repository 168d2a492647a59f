#pragma once
// The control endpoints' one way in and out (SPEC §5: POST /diagnose, /heal, /rollback,
// /sync-test; GET /status): the method allowed (405 otherwise), the rate guard, the bearer token
// (or loopback without one), the JSON body read as an object, and every error a handler throws
// answered through one table, as redis answers every error through addReplyError*.
#include <functional>
#include <string>

#include "core/json.hpp"
#include "http/server.hpp"

namespace orch::http {

// What a handler answers: its JSON with `status`.
struct Reply {
  Reply(json b) : body(std::move(b)) {}  // NOLINT: a handler returns its JSON as 200
  Reply(int s, json b) : status(s), body(std::move(b)) {}
  int status = 200;
  json body;
};

// An operation that ran and failed (OperationError; a rollback that failed and was restored).
inline constexpr int kOperationFailed = 409;

struct ControlOptions {
  std::string method = "POST";  // POST: a JSON object body (empty = {}); GET: the query parameters as strings
  Server::Rate rate = Server::Rate::limited;
  // Also a `?token=` query parameter (browsers' EventSource and WebSocket cannot send headers).
  bool token_in_query = false;
};

using ControlHandler = std::function<Reply(const json& body)>;

// Registers `path` on `server` (before start): `handler` runs once the request got through the
// checks; what it throws is answered by error_reply().
void control(Server& server, const std::string& path, std::string api_token, ControlHandler handler, ControlOptions options = {});

// The one table: UsageError 400 bad_request · NotFoundError 404 not_found · UnreachableError 503
// unreachable · OperationError 409 operation_failed · any other orch::Error or exception 500
// internal; the body is {"error": code, "message": ...}.
Reply error_reply(const std::exception& e);

// Bearer token (or `?token=` when `token_in_query`), or a loopback peer without a token; answers
// 401 itself and returns false when refused.
bool authorize(const httplib::Request& req, httplib::Response& res, const std::string& api_token, bool token_in_query);

}  // namespace orch::http
