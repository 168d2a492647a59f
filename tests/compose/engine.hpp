#pragma once
// The one dockerd of test_compose, for all of its files: started before the first test, stopped
// after the last (share_engine), so its images are made once (null when dockerd is missing).
#include "support/docker_engine.hpp"

namespace orch::test {

inline DockerEngine*& engine = share_engine();  // inline: one engine, however many files include this

}  // namespace orch::test
