// The engine's swarm answers as orch reads them (docker/swarm.hpp): GET /info, /services, /tasks,
// /nodes, and the service and node events (docker/swarm_events.hpp), with what is built from them:
// the diagnose section's node list and the swarm.* events. Input: a first byte choosing the kind
// (0 info, 1 services, 2 tasks, 3 nodes, 4 events), then the engine's bytes.
// Beyond "no crash": the readers never throw whatever the JSON holds, a member of the documented
// type is read as it is, a task that never ran has no exit code, tasks come newest first.
#include "core/text.hpp"
#include "docker/swarm.hpp"
#include "docker/swarm_events.hpp"
#include "support/fuzz.hpp"

using namespace orch;
using namespace orch::docker;

namespace {

std::string string_at(const json& o, const char* key) {
  return o.is_object() && o.contains(key) && o[key].is_string() ? o[key].get<std::string>() : "";
}

void info(std::string_view body) {
  const auto j = parse_json(body);
  const auto i = swarm_from_info(j);
  FUZZ_CHECK(!i.manager() || i.active());
  FUZZ_CHECK(parse_json(to_text(i.to_json())).is_object());
  if (j.is_object() && j.contains("Swarm")) FUZZ_CHECK(i.local_node_state == string_at(j["Swarm"], "LocalNodeState"));
}

void services(std::string_view body) {
  const auto j = parse_json(body);
  const auto all = services_from_json(j);
  FUZZ_CHECK(all.size() <= (j.is_array() ? j.size() : 0));
  for (const auto& s : all) {
    FUZZ_CHECK(s.spec.is_object());
    FUZZ_CHECK(s.image.find('@') == std::string::npos, s.image);
    FUZZ_CHECK(parse_json(to_text(s.spec)).is_object());
  }
}

void tasks(std::string_view body) {
  const auto j = parse_json(body);
  const auto all = tasks_from_json(j);
  FUZZ_CHECK(all.size() <= (j.is_array() ? j.size() : 0));
  for (size_t i = 0; i < all.size(); ++i) {
    FUZZ_CHECK(!all[i].exit_code || !all[i].container_id.empty());
    if (i > 0) FUZZ_CHECK(all[i - 1].timestamp >= all[i].timestamp);
    if (auto ns = engine_time_ns(all[i].timestamp)) FUZZ_CHECK(*ns >= 0);
  }
}

void nodes(std::string_view body) {
  const auto j = parse_json(body);
  for (const auto& n : nodes_from_json(j)) {
    const auto e = node_state_event(n, "ready");
    FUZZ_CHECK(e.type == "swarm.node." + n.state);
    FUZZ_CHECK(parse_json(e.to_string()).is_object());
  }
}

void events(std::string_view body) {
  for (size_t pos = 0; pos <= body.size();) {
    const auto nl = body.find('\n', pos);
    const auto j = parse_json(body.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
    pos = nl == std::string_view::npos ? body.size() + 1 : nl + 1;
    if (j.is_discarded() || !j.is_object()) continue;
    const auto m = event_from_json(j);
    const auto type = swarm_event_type(m);
    FUZZ_CHECK(type.empty() == (m.type != "service" && m.type != "node"), m.type);
    if (!type.empty()) FUZZ_CHECK(parse_json(swarm_event(type, m).to_string()).is_object());
    const auto task = task_of(m.attributes);
    FUZZ_CHECK(task.size() <= m.attribute("com.docker.swarm.task.name").size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0: info(body); break;
    case 1: services(body); break;
    case 2: tasks(body); break;
    case 3: nodes(body); break;
    case 4: events(body); break;
  }
  return 0;
}
