#include "config/orch_url.hpp"

#include "config/settings.hpp"

namespace orch {

std::string orch_url(const Settings& s, std::optional<int> port) {
  if (s.has("ORCH_URL")) return s.str("ORCH_URL");
  std::string host = s.str("BIND");
  if (!host.empty() && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  else if (host == "::" || host == "::0") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + (port ? std::to_string(*port) : s.str("PORT"));
}

}  // namespace orch
