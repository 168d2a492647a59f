// The Builder payload reader (content/payload.hpp): every POST /webhook/builder body goes through
// it, and the pipeline reads the Content API's entries with it. Input: an optional `?model=` value,
// 0x1e, then the body (without a separator the whole input is the body). Beyond "no crash": the
// streaming reader agrees with the plain reading of the parsed document (tests/support's oracle),
// and what it accepts is a usable change.
#include <tuple>

#include "content/payload.hpp"
#include "core/text.hpp"
#include "support/fuzz.hpp"
#include "support/payload_oracle.hpp"

using namespace orch;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view whole(reinterpret_cast<const char*>(data), size);
  std::string fallback;
  std::string_view body = whole;
  if (const auto sep = whole.find(fuzz::Input::kSeparator); sep != std::string_view::npos) {
    fallback = std::string(whole.substr(0, sep));
    body = whole.substr(sep + 1);
  }
  const auto got = content::parse_builder_payload(body, fallback);

  if (got.change) {
    const auto& c = *got.change;
    FUZZ_CHECK(c.type == test::oracle_type_of(c.operation), c.type + " for " + c.operation);
    FUZZ_CHECK(!c.model.empty());
    FUZZ_CHECK(c.unresolved || !c.id.empty());
    FUZZ_CHECK(got.error.message.empty());
    // What the webhook publishes: the event data and the dedupe key.
    const auto text = to_text(c.to_data());
    FUZZ_CHECK(parse_json(text).is_object(), text);
    const auto key = content::dedupe_key("", c);
    FUZZ_CHECK(key.empty() == c.revision.empty(), key);
    FUZZ_CHECK(content::dedupe_key("msg_1", c) == "wh:msg_1");
  } else {
    FUZZ_CHECK(!got.error.message.empty());
  }

  const std::string_view read = body.empty() ? std::string_view("{}") : body;
  if (json_too_deep(read)) {
    FUZZ_CHECK(!got.change);
    return 0;
  }
  const json doc = json::parse(read, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    FUZZ_CHECK(got.not_json && !got.change, std::string(read.substr(0, 200)));
    return 0;
  }
  FUZZ_CHECK(!got.not_json);
  const auto want = test::payload_oracle(doc, fallback);
  FUZZ_CHECK(bool(got.change) == bool(want.change), got.error.message + " / " + want.error.message);
  if (!want.change) {
    FUZZ_CHECK(got.error.message == want.error.message, got.error.message + " / " + want.error.message);
    return 0;
  }
  const auto &g = *got.change, &w = *want.change;
  FUZZ_CHECK(std::tie(g.type, g.model, g.id, g.name, g.url, g.revision, g.operation, g.unresolved) ==
                 std::tie(w.type, w.model, w.id, w.name, w.url, w.revision, w.operation, w.unresolved),
             to_text(g.to_data()) + " / " + to_text(w.to_data()));
  return 0;
}
