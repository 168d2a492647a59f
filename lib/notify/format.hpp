#pragma once
// What each provider receives for an alert (docs/alerting.md has the shapes): the payloads the
// providers' own documentation gives — Slack incoming webhook {text, blocks}, Discord execute
// webhook {content} (2000 characters at most), Teams Workflows {type: message, attachments:
// [Adaptive Card]}, ntfy (body = message; Title, Priority, Tags headers), an Alertmanager-style
// JSON webhook (version 4) — and the mail of the email provider.
#include <string>

#include "config/alerting.hpp"
#include "http/client.hpp"
#include "notify/alert.hpp"

namespace orch::notify {

// The request for an HTTP provider (every type but email); the URL is the provider's.
http::Request http_request(const NotifyProvider& p, const Alert& a);

// The RFC 5322 message for the email provider.
std::string mail_message(const NotifyProvider& p, const Alert& a);

// Discord refuses content above 2000 characters (400): longer text is cut on a UTF-8 boundary.
inline constexpr size_t kDiscordContentLimit = 2000;

}  // namespace orch::notify
