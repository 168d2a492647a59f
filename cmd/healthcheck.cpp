// orch healthcheck: is the local `orch serve` alive? For the container image's HEALTHCHECK, which
// has no shell and no curl (docs/image.md). Exit codes are Docker's: 0 healthy, 1 not.
#include <iostream>

#include "cli.hpp"
#include "config/orch_url.hpp"
#include "http/client.hpp"

namespace orch::cli {
namespace {

int run_healthcheck(const GlobalOptions& g, std::string url) {
  if (url.empty()) url = orch_url(load(g).settings);  // ORCH_URL, else BIND:PORT (a wildcard on loopback)
  http::Request req;
  req.url = url + "/healthz";
  req.timeout = std::chrono::seconds(3);
  req.connect_timeout = std::chrono::seconds(2);
  try {
    const auto res = http::send(req);
    if (res.status == 200) return 0;
    if (!g.quiet) std::cerr << "orch healthcheck: " << req.url << " answered " << res.status << "\n";
  } catch (const http::TransportError& e) {
    if (!g.quiet) std::cerr << "orch healthcheck: " << req.url << ": " << e.what() << "\n";
  }
  return 1;  // Docker's "unhealthy" (2 is reserved there)
}

Registrar register_healthcheck({"healthcheck", 85, [](CLI::App& root, GlobalOptions& g, CLI::App*& sub) {
                                  auto url = std::make_shared<std::string>();
                                  sub = root.add_subcommand("healthcheck",
                                                            "Exit 0 when orch serve answers GET /healthz with 200 (for HEALTHCHECK)");
                                  sub->add_option("--url", *url, "orch serve's URL (default: ORCH_URL, else http://BIND:PORT)");
                                  return std::function<int()>([&g, url] { return run_healthcheck(g, *url); });
                                }});

}  // namespace
}  // namespace orch::cli
