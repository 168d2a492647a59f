// `orch watch --remote` in a real terminal (tests/support/terminal, as a person sees it): the human
// line coloured on a TTY, plain under NO_COLOR (docs/heal.md "orch watch"), from a stand-in's
// GET /events; no engine or Redis needed.
#include <gtest/gtest.h>

#include "support/http_stub.hpp"
#include "support/process.hpp"
#include "support/require.hpp"
#include "support/terminal.hpp"

using namespace orch::test;
using namespace std::chrono_literals;

namespace {

const std::string kFrame =
    "id: 7-0\nevent: heal.quarantined\ndata: "
    R"({"specversion":"1.0","id":"e-1","source":"orch://h","type":"heal.quarantined","time":"2026-11-30T09:41:02.123Z",)"
    R"("subject":"web-1","datacontenttype":"application/json","data":{"container":"web-1","reason":"crash loop"}})"
    "\n\n";

TEST(WatchCommand, ColouredOnATerminalAndPlainUnderNoColor) {
  ORCH_REQUIRE(have_tmux()) << "tmux (scripts/install-deps.sh installs it)";
  HttpStub orch([](const ReceivedRequest&) { return StubAnswer{200, kFrame, "text/event-stream"}; });
  {
    Terminal term({ORCH_BINARY, "watch", "--remote", orch.url()}, {{"ORCH_CONFIG", ""}, {"NO_COLOR", "\x01unset"}});
    ASSERT_TRUE(eventually([&] { return term.screen().find("crash loop") != std::string::npos; }, 10s)) << term.screen();
    // A quarantine is red.
    EXPECT_NE(term.screen(true).find("09:41:02.123  \033[31mheal.quarantined"), std::string::npos) << term.screen(true);
    term.keys({"C-c"});
    // Ended by Ctrl-C. Its exit status is not read here: tmux 3.3a sometimes marks the pane dead
    // without a status (#{pane_dead_status} empty, 1 run in 8), which Terminal::exit_status cannot parse.
    ASSERT_TRUE(eventually([&] { return term.exited(); }, 10s)) << term.screen();
  }
  Terminal plain({ORCH_BINARY, "watch", "--remote", orch.url()}, {{"ORCH_CONFIG", ""}, {"NO_COLOR", "1"}});
  ASSERT_TRUE(eventually([&] { return plain.screen().find("crash loop") != std::string::npos; }, 10s)) << plain.screen();
  EXPECT_NE(plain.screen().find("09:41:02.123  heal.quarantined      web-1  reason=crash loop"), std::string::npos) << plain.screen();
  EXPECT_EQ(plain.screen(true).find('\033'), std::string::npos) << plain.screen(true);
  plain.keys({"C-c"});
  ASSERT_TRUE(eventually([&] { return plain.exited(); }, 10s)) << plain.screen();
  ASSERT_FALSE(orch.requests().empty());
  EXPECT_EQ(orch.requests()[0].path, "/events");
}

}  // namespace
