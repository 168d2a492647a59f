// The Docker Engine's answers as orch reads them (docker/client.hpp): GET /events lines, the
// inspect document of a container, the container list, a stats document and a logs body, and
// what is built from them: the container.* event, the heal policy from labels, the exit cause
// from the engine's times, the body of a recreate. Input: a first byte choosing the kind (0 events,
// 1 inspect, 2 list, 3 stats, 4 logs), then the engine's bytes.
// Beyond "no crash": the readers never throw whatever the JSON holds, a member of the documented
// type is read as it is, engine times stay where arithmetic on them cannot overflow, and a label's
// stop timeout is never negative.
#include <cmath>

#include "config/config.hpp"
#include "core/text.hpp"
#include "docker/client.hpp"
#include "docker/container_events.hpp"
#include "docker/identity.hpp"
#include "docker/recreate.hpp"
#include "docker/watcher.hpp"
#include "heal/exit_cause.hpp"
#include "heal/policy.hpp"
#include "support/fuzz.hpp"

using namespace orch;
using namespace orch::docker;

namespace {

const Config& config() {
  static const Config c = [] {
    Config cfg;
    ServiceSpec web;
    web.name = web.container = "web";
    cfg.services.push_back(web);
    return cfg;
  }();
  return c;
}

std::string string_at(const json& o, const char* key) {
  return o.is_object() && o.contains(key) && o[key].is_string() ? o[key].get<std::string>() : "";
}

void check_time(const std::string& text) {
  if (auto ns = engine_time_ns(text)) FUZZ_CHECK(*ns >= 0 && *ns < 7'300'000'000'000'000'000LL, text);
}

void check_labels(const Labels& labels, const std::string& name) {
  std::vector<std::string> warnings;
  const auto p = heal::policy_for(config().settings, nullptr, labels, &warnings);
  if (p.stop_timeout_s) FUZZ_CHECK(*p.stop_timeout_s >= 0, std::to_string(*p.stop_timeout_s));
  FUZZ_CHECK(p.backoff.min <= p.backoff.max);
  (void)service_of(config(), name, labels);
  (void)in_orch_scope(config(), name, labels);
  (void)monitor_only(labels);
  (void)matches_names({"web", "x"}, config(), name, labels);
}

void events(std::string_view body) {
  heal::StopEvidence evidence;
  for (size_t pos = 0; pos <= body.size();) {
    const auto nl = body.find('\n', pos);
    const auto j = parse_json(body.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
    pos = nl == std::string_view::npos ? body.size() + 1 : nl + 1;
    if (j.is_discarded() || !j.is_object()) continue;  // as Client::events skips them
    const auto m = event_from_json(j);
    FUZZ_CHECK(m.type == string_at(j, "Type") && m.action == string_at(j, "Action"), j.dump());
    evidence.add(m);
    if (const auto type = container_event_type(m); !type.empty()) {
      FUZZ_CHECK(is_container_event(m) || m.type != "container");
      const auto e = container_event(type, m, config());
      FUZZ_CHECK(parse_json(e.to_string()).is_object());
    }
    check_labels(m.attributes, m.attribute("name"));
  }
  // The evidence against a container that exited within the events' times.
  ContainerInfo c;
  c.id = evidence.events.empty() ? "x" : evidence.events.front().id;
  c.finished_at = "2025-06-01T12:00:00.5Z";
  c.started_at = "2025-06-01T11:00:00Z";
  FUZZ_CHECK(!heal::exit_cause(c, evidence).why.empty());
}

void inspect(std::string_view body) {
  auto j = parse_json(body);
  const auto c = info_from_json(j);
  FUZZ_CHECK(c.raw.is_object());
  if (j.is_object() && j.contains("Id") && j["Id"].is_string()) FUZZ_CHECK(c.id == j["Id"].get<std::string>());
  check_time(c.started_at);
  check_time(c.finished_at);
  check_labels(c.labels, c.name);
  heal::StopEvidence none;
  FUZZ_CHECK(!heal::exit_cause(c, none).why.empty());
  FUZZ_CHECK(heal::stop_window_ns(c) >= 15'000'000'000LL);
  const auto create = create_body_from(c, "");
  FUZZ_CHECK(create.is_object() && create["HostConfig"].is_object(), create.dump());
  FUZZ_CHECK(parse_json(to_text(create)).is_object());
}

void list(std::string_view body) {
  const auto j = parse_json(body);
  const auto all = containers_from_json(j);
  FUZZ_CHECK(all.size() <= (j.is_array() ? j.size() : 0));
  for (const auto& s : all) {
    const auto h = s.health();
    FUZZ_CHECK(h.empty() || h == "healthy" || h == "unhealthy" || h == "starting", h);
    FUZZ_CHECK(s.name.empty() || s.name[0] != '/');
    check_labels(s.labels, s.name);
  }
}

void stats(std::string_view body) {
  const auto s = compute_stats(parse_json(body));
  FUZZ_CHECK(!std::isnan(s.cpu_percent) && s.cpu_percent >= 0);
  FUZZ_CHECK(!std::isnan(s.memory_percent) && s.memory_percent >= 0);
}

void logs(std::string_view body) {
  for (bool tty : {false, true})
    for (const auto& l : demux_logs(body, tty)) {
      FUZZ_CHECK(l.stream == "stdout" || l.stream == "stderr");
      FUZZ_CHECK(l.text.find('\n') == std::string::npos);
      FUZZ_CHECK(valid_utf8(l.text) == l.text);  // ready for JSON
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0: events(body); break;
    case 1: inspect(body); break;
    case 2: list(body); break;
    case 3: stats(body); break;
    case 4: logs(body); break;
  }
  return 0;
}
