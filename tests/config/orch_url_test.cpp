// Where this host reaches orch serve: ORCH_URL, else BIND and PORT (config/orch_url.hpp).
#include "config/orch_url.hpp"

#include <gtest/gtest.h>

#include "config/settings.hpp"

using namespace orch;

namespace {

std::string url_for(const std::string& bind, const std::string& orch_url_setting = "", std::optional<int> port = std::nullopt) {
  Settings s;
  s.set("PORT", "9100", SettingSource::env);
  s.set("BIND", bind, SettingSource::env);
  if (!orch_url_setting.empty()) s.set("ORCH_URL", orch_url_setting, SettingSource::env);
  return orch_url(s, port);
}

TEST(OrchUrl, FollowsBindAndPort) {
  EXPECT_EQ(url_for("127.0.0.1"), "http://127.0.0.1:9100");
  EXPECT_EQ(url_for("0.0.0.0"), "http://127.0.0.1:9100") << "a wildcard listens on loopback too";
  EXPECT_EQ(url_for(""), "http://127.0.0.1:9100");
  EXPECT_EQ(url_for("::"), "http://[::1]:9100");
  EXPECT_EQ(url_for("10.1.2.3"), "http://10.1.2.3:9100") << "a specific address is the only one orch listens on";
  EXPECT_EQ(url_for("fd00::5"), "http://[fd00::5]:9100");
  EXPECT_EQ(url_for("[fd00::5]"), "http://[fd00::5]:9100");
  EXPECT_EQ(url_for("::1"), "http://[::1]:9100");
  EXPECT_EQ(url_for("orch.internal"), "http://orch.internal:9100");
}

TEST(OrchUrl, TheBoundPortAndOrchUrlWin) {
  EXPECT_EQ(url_for("0.0.0.0", "", 41234), "http://127.0.0.1:41234");
  EXPECT_EQ(url_for("0.0.0.0", "https://orch.example.com"), "https://orch.example.com");
  EXPECT_EQ(url_for("10.1.2.3", "http://orch:9000", 41234), "http://orch:9000");
}

}  // namespace
