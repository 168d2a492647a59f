#include "http/smtp.hpp"

#include <curl/curl.h>

#include <cstring>
#include <memory>

#include "core/crypto.hpp"

namespace orch::http {

void ensure_curl();  // client.cpp

namespace {

struct Reader {
  const std::string* data;
  size_t offset = 0;
};

size_t on_read(char* buffer, size_t size, size_t n, void* user) {
  auto* r = static_cast<Reader*>(user);
  const size_t left = r->data->size() - r->offset;
  const size_t take = std::min(left, size * n);
  std::memcpy(buffer, r->data->data() + r->offset, take);
  r->offset += take;
  return take;
}

// RFC 5321 wants the address alone in MAIL FROM / RCPT TO: "Ops <ops@x>" -> "<ops@x>".
std::string angle(const std::string& address) {
  auto lt = address.find('<');
  if (lt != std::string::npos) return address.substr(lt);
  return "<" + address + ">";
}

}  // namespace

MailResult send_mail(const Mail& m) {
  ensure_curl();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) throw TransportError("curl_easy_init failed", false);
  CURL* c = curl.get();
  struct curl_slist* rcpt = nullptr;
  for (const auto& t : m.to) rcpt = curl_slist_append(rcpt, angle(t).c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> rcpt_owner(rcpt, curl_slist_free_all);
  Reader reader{&m.message};
  const std::string from = angle(m.from);
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, m.url.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
  curl_easy_setopt(c, CURLOPT_READDATA, &reader);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(m.timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<long long>(m.timeout.count(), 5000)));
  if (m.starttls) curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  if (!m.username.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, m.username.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, m.password.c_str());
  }
  const CURLcode rc = curl_easy_perform(c);
  MailResult r;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.smtp_code);
  if (rc == CURLE_OK) {
    r.ok = true;
    return r;
  }
  const std::string what = error[0] ? error : curl_easy_strerror(rc);
  // No reply at all: the relay was not reached (or timed out): a transport failure.
  if (r.smtp_code == 0 || rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
    throw TransportError("smtp: " + what, rc == CURLE_OPERATION_TIMEDOUT);
  r.error = what;
  return r;
}

static std::string encoded_word(const std::string& s) {
  for (unsigned char ch : s)
    if (ch >= 0x80 || ch < 0x20) return "=?UTF-8?B?" + base64_encode(s) + "?=";
  return s;
}

std::string make_message(const std::string& from, const std::vector<std::string>& to, const std::string& subject, const std::string& body,
                         const std::string& date_rfc5322, const std::string& message_id) {
  std::string rcpt;
  for (const auto& t : to) rcpt += (rcpt.empty() ? "" : ", ") + t;
  std::string out = "Date: " + date_rfc5322 + "\r\nFrom: " + from + "\r\nTo: " + rcpt + "\r\nMessage-ID: " + message_id +
                    "\r\nSubject: " + encoded_word(subject) +
                    "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n";
  // CRLF line ends; a line that is a lone "." would end DATA early (libcurl dot-stuffs, but a
  // bare LF is normalised here).
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r')) out += "\r\n";
    else out += body[i];
  }
  if (!out.ends_with("\r\n")) out += "\r\n";
  return out;
}

}  // namespace orch::http
