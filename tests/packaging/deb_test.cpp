// The Debian package: CPack builds it from this build; it holds the binary, the library, man
// pages, completions, the systemd unit and env file, and the binary it holds runs.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/process.hpp"
#include "support/require.hpp"

using namespace orch::test;
using namespace std::chrono_literals;

namespace {

TEST(Deb, CpackBuildsAPackageThatHoldsEverythingAndRuns) {
  ORCH_REQUIRE(run({"sh", "-c", "command -v cpack && command -v dpkg-deb && command -v dpkg-shlibdeps"}).code == 0)
      << "cpack, dpkg-deb or dpkg-shlibdeps missing (scripts/install-deps.sh installs them)";
  TempDir out;
  auto built = run({"cpack", "-G", "DEB", "-B", out.path(), "--config", std::string(ORCH_BUILD_DIR) + "/CPackConfig.cmake"}, {}, 300s);
  ASSERT_EQ(built.code, 0) << built.output;
  std::string deb;
  for (const auto& f : std::filesystem::directory_iterator(out.path()))
    if (f.path().extension() == ".deb") deb = f.path();
  ASSERT_FALSE(deb.empty()) << built.output;

  auto contents = run({"dpkg-deb", "--contents", deb});
  ASSERT_EQ(contents.code, 0) << contents.output;
  for (const char* path : {"./usr/bin/orch", "./usr/lib/liborch.so", "./usr/share/man/man1/orch.1", "./usr/share/man/man1/orch-serve.1",
                           "./usr/share/bash-completion/completions/orch", "./usr/share/zsh/vendor-completions/_orch",
                           "./usr/share/fish/vendor_completions.d/orch.fish", "./lib/systemd/system/orch.service", "./etc/orch/orch.env",
                           "./usr/share/orch/grafana/orch.json"})
    EXPECT_NE(contents.output.find(path), std::string::npos) << path << " not in the package:\n" << contents.output;

  auto info = run({"dpkg-deb", "--info", deb});
  EXPECT_NE(info.output.find("Package: orch"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("Depends:"), std::string::npos) << "dpkg-shlibdeps found no dependencies:\n" << info.output;
  for (const char* control : {"postinst", "conffiles", "triggers"}) EXPECT_NE(info.output.find(control), std::string::npos) << info.output;
  auto conffiles = run({"sh", "-c", "dpkg-deb --ctrl-tarfile '" + deb + "' | tar -xO ./conffiles"});
  EXPECT_EQ(conffiles.output, "/etc/orch/orch.env\n");

  // The packaged binary, with the packaged library, runs.
  const std::string root = out.file("root");
  ASSERT_EQ(run({"dpkg-deb", "-x", deb, root}).code, 0);
  auto version = run({root + "/usr/bin/orch", "version"}, {{"LD_LIBRARY_PATH", root + "/usr/lib"}});
  EXPECT_EQ(version.code, 0) << version.output;
  EXPECT_NE(version.output.find("orch"), std::string::npos) << version.output;
}

}  // namespace
