#pragma once
// orch's container image and the fixtures image, made on a test dockerd from this build (docs/image.md):
// for tests/compose's docker-compose run and its swarm stack, which both take packaging/docker-compose.example.yml.
#include <string>

#include "support/docker_engine.hpp"

namespace orch::test {

// The repository (the build context of its Dockerfile, the compose files).
inline const std::string kRepo = std::string(ORCH_TESTS_DIR) + "/..";

// The repository's Dockerfile with `--build-arg ROOTFS=prebuilt`: the root packaging/image-rootfs.sh makes from
// this build's orch (the compiler stage is the same script on the Debian image, and needs a registry or an
// mmdebstrap base, so it is not run here).
inline const std::string kOrchImage = "orch:compose-test";
// redis-server, redis-cli, orch_standins and busybox (as wget, for the example's health checks, and busybox
// itself) on a root made by the same script: what stands in for the example's other images.
inline const std::string kFixturesImage = "orch-fixtures:compose-test";

// The Debian CLI (20.10), the one a Debian 12 user has: it builds with BuildKit when DOCKER_BUILDKIT=1
// (a newer CLI found first on PATH wants the buildx plugin for that), and its `docker stack deploy` is the
// one the example must satisfy (it wants a `version:`).
std::string docker_cli();

// Makes both images on `engine`, once per engine (a test binary's shared one). Empty when both are
// there; else what failed.
const std::string& build_images(const DockerEngine& engine);

}  // namespace orch::test
