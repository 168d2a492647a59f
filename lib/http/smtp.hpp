#pragma once
// Mail through an SMTP relay (libcurl's smtp:// and smtps://), for the email alert provider
// (docs/alerting.md): EHLO, optional STARTTLS and AUTH, MAIL FROM, RCPT TO per recipient, DATA.
// A connection that fails or times out is a TransportError (worth a retry); a reply the relay
// refuses with is a value carrying its SMTP code (4xx: try again later, 5xx: give up).
#include <chrono>
#include <string>
#include <vector>

#include "http/client.hpp"

namespace orch::http {

struct Mail {
  std::string url;  // smtp://host:port or smtps://host:port
  std::string from;
  std::vector<std::string> to;
  std::string username, password;  // AUTH when username is set
  bool starttls = false;           // smtp:// must upgrade with STARTTLS, or the send fails
  std::string message;             // RFC 5322: headers, blank line, body (CRLF line ends)
  std::chrono::milliseconds timeout{10'000};
};

struct MailResult {
  bool ok = false;
  long smtp_code = 0;  // the relay's last reply code, 0 when none
  std::string error;
};

MailResult send_mail(const Mail& m);

// An RFC 5322 message with UTF-8 subject (RFC 2047 encoded) and a text/plain UTF-8 body.
std::string make_message(const std::string& from, const std::vector<std::string>& to, const std::string& subject, const std::string& body,
                         const std::string& date_rfc5322, const std::string& message_id);

}  // namespace orch::http
