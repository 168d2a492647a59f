#include "http/client.hpp"
#include "core/number.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace orch::http {

// libcurl's global set-up, once per process, for every transfer (HTTP here, SMTP in smtp.cpp).
void ensure_curl() {
  struct CurlGlobal {
    CurlGlobal() { curl_global_init(CURL_GLOBAL_ALL); }
  };
  static CurlGlobal g;
}

namespace {

struct Transfer {
  Response* res;
  const std::function<bool(std::string_view)>* on_data = nullptr;
  const std::function<bool()>* cancelled = nullptr;
  bool stopped_by_caller = false;
};

size_t on_body(char* ptr, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (t->on_data) {
    if (!(*t->on_data)(std::string_view(ptr, size * n))) {
      t->stopped_by_caller = true;
      return 0;
    }
    return size * n;
  }
  t->res->body.append(ptr, size * n);
  return size * n;
}

size_t on_header(char* ptr, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(ptr, size * n);
  auto colon = line.find(':');
  if (line.rfind("HTTP/", 0) == 0) t->res->headers.clear();  // a new response (after 100-continue/redirect)
  else if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    auto value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
    t->res->headers[name] = std::string(value);
  }
  return size * n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->cancelled && *t->cancelled && (*t->cancelled)()) {
    t->stopped_by_caller = true;
    return 1;
  }
  return 0;
}

using CurlPtr = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using SlistPtr = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

// One easy handle per thread keeps connections alive between requests to the same host.
CURL* thread_handle() {
  thread_local CurlPtr handle(nullptr, &curl_easy_cleanup);
  if (!handle) handle.reset(curl_easy_init());
  curl_easy_reset(handle.get());
  return handle.get();
}

Response perform(CURL* curl, const Request& req, Transfer& t) {
  Response& res = *t.res;
  curl_easy_setopt(curl, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  if (req.method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(req.connect_timeout.count()));
  if (!req.unix_socket.empty()) curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, req.unix_socket.c_str());
  if (req.tls) {
    if (!req.tls->ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, req.tls->ca_file.c_str());
    if (!req.tls->cert_file.empty()) curl_easy_setopt(curl, CURLOPT_SSLCERT, req.tls->cert_file.c_str());
    if (!req.tls->key_file.empty()) curl_easy_setopt(curl, CURLOPT_SSLKEY, req.tls->key_file.c_str());
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, req.tls->verify_peer ? 1L : 0L);
  }
  SlistPtr headers(nullptr, &curl_slist_free_all);
  curl_slist* list = nullptr;
  for (const auto& [k, v] : req.headers) list = curl_slist_append(list, (k + ": " + v).c_str());
  list = curl_slist_append(list, "Expect:");  // no 100-continue round trip
  headers.reset(list);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  if (t.cancelled) {
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
  }
  auto start = std::chrono::steady_clock::now();
  CURLcode rc = curl_easy_perform(curl);
  res.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &res.status);
  if (rc != CURLE_OK && !t.stopped_by_caller) {
    // The URL always (a bare socket path read like an HTTP path: "GET /var/run/docker.sock"), and
    // the socket it went through; never its query, which may hold a key (Builder's ?apiKey=), and
    // this error goes into events, dead letters and logs.
    const std::string url = req.url.substr(0, req.url.find('?'));
    std::string where = req.unix_socket.empty() ? url : url + " via unix socket " + req.unix_socket;
    throw TransportError(req.method + " " + where + ": " + curl_easy_strerror(rc), rc == CURLE_OPERATION_TIMEDOUT);
  }
  return res;
}

}  // namespace

std::string Response::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

std::chrono::seconds Response::retry_after(std::chrono::seconds cap) const {
  if (status != 429 && status != 503) return std::chrono::seconds(0);
  const auto value = header("retry-after");
  if (value.empty()) return std::chrono::seconds(0);
  try {
    return std::chrono::seconds(parse_integer(value, 0, cap.count()));
  } catch (const Error&) {
    // Too large is the cap; a date or junk is no advice.
    return std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); }) ? cap : std::chrono::seconds(0);
  }
}

Response send(const Request& req) {
  ensure_curl();
  Response res;
  Transfer t{&res};
  return perform(thread_handle(), req, t);
}

Response stream(const Request& req, const std::function<bool(std::string_view)>& on_data,
                const std::function<bool()>& cancelled) {
  ensure_curl();
  CurlPtr curl(curl_easy_init(), &curl_easy_cleanup);
  Response res;
  Transfer t{&res, &on_data, cancelled ? &cancelled : nullptr};
  return perform(curl.get(), req, t);
}

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
    else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace orch::http
