#pragma once
// `orch init` (issue 23): an orch.yaml written from a running compose project, for a person to
// review. This half renders what was found (docker/compose_project.hpp finds it) as YAML that
// load_config reads: one service per compose service, its health URL and where that came from,
// and the orch.* labels worth adding, as comments.
#include <string>
#include <vector>

namespace orch {

struct InitService {
  std::string name;                       // the compose service
  std::string container;                  // what `container:` matches: the compose service (every replica's label)
  std::vector<std::string> containers;    // its containers' names now, for the comment
  std::string url;                        // base URL; empty: none found (the service is not probed)
  std::string health;                     // path probed on it; empty: the default (/health)
  std::string url_from;                   // how url and health were found, for the comment ("published port 3000/tcp", ...)
  std::vector<std::string> notes;         // further comments on the service (another way to reach it, ...)
  std::vector<std::string> labels;        // orch.* labels it has ("orch.heal=true")
  std::vector<std::string> label_advice;  // orch.* labels worth adding, with why
};

struct InitProject {
  std::string name;          // com.docker.compose.project
  std::string generated_at;  // RFC 3339, UTC
  std::vector<InitService> services;
};

// The orch.yaml text: a header saying it was generated from the project at that time and must be
// reviewed, then `services:`. Names and values that YAML would misread are quoted.
std::string render_init_yaml(const InitProject& project);

}  // namespace orch
