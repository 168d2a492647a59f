#include "notify/format.hpp"

#include <algorithm>
#include <ctime>

#include "core/crypto.hpp"
#include "core/text.hpp"
#include "http/smtp.hpp"

namespace orch::notify {
namespace {

std::string body_text(const Alert& a) {
  std::string t = a.title();
  if (!a.description.empty()) t += "\n" + a.description;
  return t;
}

// Slack's mrkdwn treats &, < and > as control characters (its "escaping text" rule).
std::string slack_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else out += c;
  }
  return out;
}

// The byte length of the first `n` code points of `s` (all of it when shorter).
size_t utf8_prefix(const std::string& s, size_t n) {
  size_t i = 0;
  for (size_t count = 0; i < s.size() && count < n; ++count) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    i += c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
  }
  return std::min(i, s.size());
}

// At most `limit` code points, never splitting a UTF-8 sequence; a cut text ends with an ellipsis.
std::string cut_utf8(const std::string& s, size_t limit) {
  if (utf8_prefix(s, limit) >= s.size()) return s;
  return s.substr(0, utf8_prefix(s, limit - 1)) + "\xE2\x80\xA6";
}

// A header value on one line (a CR or LF would split the request).
std::string one_line(std::string s) {
  for (auto& c : s)
    if (c == '\r' || c == '\n') c = ' ';
  return s;
}

std::string fingerprint(const Alert& a) { return to_hex(hmac_sha256("orch", a.incident_id)).substr(0, 16); }

json labels_of(const Alert& a) {
  json l = {{"alertname", a.type}, {"severity", to_string(a.severity)}, {"subject", a.subject}};
  if (!a.service.empty()) l["service"] = a.service;
  return l;
}

json alertmanager(const Alert& a) {
  json labels = labels_of(a);
  json annotations = {{"summary", a.summary}, {"description", a.description}};
  json alert = {{"status", a.status},
                {"labels", labels},
                {"annotations", annotations},
                {"startsAt", a.starts_at},
                // Alertmanager's "not resolved yet" value.
                {"endsAt", a.ends_at.empty() ? "0001-01-01T00:00:00Z" : a.ends_at},
                {"generatorURL", ""},
                {"fingerprint", fingerprint(a)}};
  return {{"version", "4"},
          {"groupKey", "{}:{alertname=\"" + a.type + "\", subject=\"" + a.subject + "\"}"},
          {"truncatedAlerts", 0},
          {"status", a.status},
          {"receiver", "orch"},
          {"groupLabels", {{"alertname", a.type}, {"subject", a.subject}}},
          {"commonLabels", labels},
          {"commonAnnotations", annotations},
          {"externalURL", ""},
          {"alerts", json::array({alert})},
          // orch's own additions, kept from the first NOTIFY_WEBHOOK_URL format: one line, the event.
          {"text", a.title()},
          {"event", a.event.is_null() ? json(nullptr) : a.event}};
}

json teams_card(const Alert& a) {
  const char* colour = a.status == "resolved" ? "Good" : a.severity == Severity::critical ? "Attention" : "Warning";
  json facts = json::array();
  const json labels = labels_of(a);  // a named object: items() refers to it
  for (auto& [k, v] : labels.items()) facts.push_back({{"title", k}, {"value", v}});
  facts.push_back({{"title", "since"}, {"value", a.starts_at}});
  if (!a.ends_at.empty() && !a.one_shot) facts.push_back({{"title", "resolved"}, {"value", a.ends_at}});
  json body = json::array(
      {{{"type", "TextBlock"}, {"text", a.title()}, {"weight", "Bolder"}, {"size", "Medium"}, {"color", colour}, {"wrap", true}}});
  if (!a.description.empty()) body.push_back({{"type", "TextBlock"}, {"text", a.description}, {"wrap", true}});
  body.push_back({{"type", "FactSet"}, {"facts", facts}});
  json card = {
      {"$schema", "http://adaptivecards.io/schemas/adaptive-card.json"}, {"type", "AdaptiveCard"}, {"version", "1.4"}, {"body", body}};
  return {{"type", "message"},
          {"attachments",
           json::array({{{"contentType", "application/vnd.microsoft.card.adaptive"}, {"contentUrl", nullptr}, {"content", card}}})}};
}

}  // namespace

http::Request http_request(const NotifyProvider& p, const Alert& a) {
  http::Request r;
  r.method = "POST";
  r.url = p.url;
  json body;
  if (p.type == "slack") {
    const std::string text = slack_escape(body_text(a));
    body = {{"text", text}, {"blocks", json::array({{{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", text}}}}})}};
  } else if (p.type == "discord") {
    // allowed_mentions: an @everyone in an error text must not ping a whole server.
    body = {{"content", cut_utf8(body_text(a), kDiscordContentLimit)}, {"allowed_mentions", {{"parse", json::array()}}}};
  } else if (p.type == "teams") {
    body = teams_card(a);
  } else if (p.type == "ntfy") {
    // ntfy priorities: 5 urgent, 4 high, 3 default; tags become emoji when they name one.
    const bool resolved = a.status == "resolved";
    const int priority = resolved ? 3 : a.severity == Severity::critical ? 5 : a.severity == Severity::warning ? 4 : 3;
    const std::string tag = resolved                           ? "white_check_mark"
                            : a.severity == Severity::critical ? "rotating_light"
                            : a.severity == Severity::warning  ? "warning"
                                                               : "information_source";
    r.headers.emplace_back("Title", one_line(a.title()));
    r.headers.emplace_back("Priority", std::to_string(priority));
    r.headers.emplace_back("Tags", tag + ",orch," + a.type);
    r.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
    r.body = a.summary + (a.description.empty() ? "" : "\n" + a.description);
    return r;
  } else {
    body = alertmanager(a);
  }
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = to_text(body);
  return r;
}

std::string mail_message(const NotifyProvider& p, const Alert& a) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char date[64];
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  std::string domain = "orch.local";
  if (auto at = p.from.rfind('@'); at != std::string::npos) {
    domain = p.from.substr(at + 1);
    if (!domain.empty() && domain.back() == '>') domain.pop_back();
  }
  std::string body = a.summary + "\n\n";
  if (!a.description.empty()) body += a.description + "\n\n";
  const json labels = labels_of(a);
  for (auto& [k, v] : labels.items()) body += k + ": " + v.get<std::string>() + "\n";
  body += "since: " + a.starts_at + "\n";
  if (!a.ends_at.empty() && !a.one_shot) body += "resolved: " + a.ends_at + "\n";
  return http::make_message(p.from, p.to, a.title(), body, date, "<" + new_uuid() + "@" + domain + ">");
}

}  // namespace orch::notify
