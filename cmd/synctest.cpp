// orch sync-test: publish → bus → Docling → RAG → frontend round trip with per-stage timings.
#include <iostream>

#include "cli.hpp"
#include "config/orch_url.hpp"
#include "core/text.hpp"
#include "http/client.hpp"
#include "pipeline/synctest.hpp"

namespace orch::cli {
namespace {

struct SyncTestCliOptions {
  std::string model = "page", marker, timeout = "120s", orch_url, via = "webhook";
  bool keep = false;
};

void print(const pipeline::SyncTestResult& r, bool colour) {
  for (const auto& s : r.stages) {
    std::string mark = s.ok ? (colour ? "\033[32mok\033[0m  " : "ok  ") : (colour ? "\033[31mFAIL\033[0m" : "FAIL");
    std::cout << mark << "  " << s.name << std::string(10 - std::min<size_t>(9, s.name.size()), ' ') << s.ms << " ms"
              << (s.error.empty() ? "" : "  " + s.error) << "\n";
  }
  if (!r.test_entry.empty())
    std::cout << "test entry " << r.test_entry << " " << r.test_entry_state
              << (r.test_entry_error.empty() ? "" : ": " + r.test_entry_error) << "\n";
  std::cout << (r.exit_code() == 0 ? "in sync" : r.exit_code() == 3 ? "UNKNOWN: orch or Redis is unreachable" : "NOT in sync")
            << " (marker " << r.marker << ")\n";
}

int run_sync(const GlobalOptions& g, const SyncTestCliOptions& o) {
  Config cfg = load(g);
  const auto& s = cfg.settings;
  pipeline::SyncTestOptions opts;
  opts.model = o.model;
  opts.marker = o.marker;
  opts.timeout = parse_duration(o.timeout);
  opts.keep = o.keep;
  opts.orch_url = !o.orch_url.empty() ? o.orch_url : orch_url(s);
  opts.via_builder = o.via == "builder";
  pipeline::SyncTestResult result;
  if (s.has("REDIS_URL")) {
    // This process sends the change; without Redis orch serve does, with its own secret.
    if (!opts.via_builder && !s.has("TRUSTED_WEBHOOK_SECRET"))
      throw ConfigError(
          "sync-test signs its webhook with TRUSTED_WEBHOOK_SECRET, which is not set (or use --via builder with BUILDER_PRIVATE_KEY)");
    // orch serve runs the pipeline: when it says its pipeline is off, fail now, naming why.
    try {
      http::Request st;
      st.url = opts.orch_url + "/status";
      st.timeout = std::chrono::seconds(5);
      if (s.has("ORCH_API_TOKEN")) st.headers.emplace_back("Authorization", "Bearer " + s.str("ORCH_API_TOKEN"));
      auto doc = parse_json(http::send(st).body);
      if (doc.is_object() && doc.value("/pipeline/enabled"_json_pointer, true) == false)
        opts.pipeline_off =
            "orch serve at " + opts.orch_url + " says its pipeline is off: neither DOCLING_API_URL nor RAG_API_URL is set there";
    } catch (const std::exception&) {
      // Not reachable or not answering: the webhook stage will say so.
    }
    auto bus = make_cli_bus(cfg);
    const bool tty = stderr_is_tty() && !g.quiet;
    result = pipeline::run_sync_test(s, opts, *bus, [&](const pipeline::StageReport& st) {
      if (tty) std::cerr << "  " << st.name << (st.ok ? " ok" : " failed") << " (" << st.ms << " ms)\n";
    });
    bus->close();
  } else {
    // Without Redis the bus lives inside orch serve: let it run the test (POST /sync-test).
    http::Request req;
    req.method = "POST";
    req.url = opts.orch_url + "/sync-test";
    req.timeout = opts.timeout + std::chrono::seconds(30);
    req.headers = {{"Content-Type", "application/json"}};
    if (s.has("ORCH_API_TOKEN")) req.headers.emplace_back("Authorization", "Bearer " + s.str("ORCH_API_TOKEN"));
    req.body = to_text(json{{"model", opts.model}, {"marker", opts.marker}, {"timeout", o.timeout}, {"keep", o.keep}, {"via", o.via}});
    http::Response res;
    try {
      res = http::send(req);
    } catch (const http::TransportError& e) {
      throw UnreachableError("orch at " + opts.orch_url + ": " + e.what());
    }
    if (res.status != 200) throw UnreachableError("orch answered POST /sync-test with " + std::to_string(res.status) + ": " + res.body);
    auto j = parse_json(res.body);
    if (!j.is_object() || !j.contains("stages") || !j["stages"].is_array())
      throw UnreachableError("orch answered POST /sync-test with a body that is not a sync-test report");
    result.marker = j.value("marker", "");
    result.unreachable = j.value("exit_code", 0) == 3;
    for (const auto& st : j["stages"]) result.stages.push_back({st["name"], st["ok"], st["ms"], st.value("error", "")});
    if (j.contains("test_entry") && j["test_entry"].is_object()) {
      result.test_entry = j["test_entry"].value("id", "");
      result.test_entry_state = j["test_entry"].value("state", "");
      result.test_entry_error = j["test_entry"].value("error", "");
    }
  }
  if (structured(g)) print_document(g, result.to_json());
  else if (!g.quiet) print(result, use_colour());
  return result.exit_code();
}

Registrar register_synctest(
    {"sync-test", 50, [](CLI::App& root, GlobalOptions& g, CLI::App*& sub) {
       auto o = std::make_shared<SyncTestCliOptions>();
       sub = root.add_subcommand("sync-test", "Prove a published change reaches Docling, the RAG index and the frontend");
       sub->add_option("--model", o->model, "Builder model of the test entry (default page)");
       sub->add_option("--marker", o->marker, "Marker text (default: a unique one)");
       sub->add_option("--timeout", o->timeout, "Overall deadline (default 120s)");
       sub->add_option("--orch-url", o->orch_url,
                       "orch serve to send the webhook to (default $ORCH_URL, else BIND and PORT: http://127.0.0.1:$PORT)");
       sub->add_option(
              "--via", o->via,
              "webhook (a signed Builder webhook to orch serve; default) or builder (a real entry through Builder's Write API, needs "
              "BUILDER_PRIVATE_KEY)")
           ->check(CLI::IsMember({"webhook", "builder"}));
       sub->add_flag("--keep", o->keep, "Leave the Builder test entry (BUILDER_PRIVATE_KEY) in place instead of deleting it");
       return std::function<int()>([&g, o] { return run_sync(g, *o); });
     }});

}  // namespace
}  // namespace orch::cli
