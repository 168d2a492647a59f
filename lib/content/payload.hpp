#pragma once
// Builder.io publish webhooks → content.* events, for the webhook endpoint and for the pipeline
// (which reads a payload-less delivery's entry from the Content API the same way). The fields read (docs/webhook.md "Payload fields
// read"): modelName, operation, newValue / previousValue (the legacy shape's oldValue) with id, name,
// modelName / modelId, lastUpdated, data.url (or the urlPath targeting query). A delivery without
// any entry (Builder's "Disable Payload") is an unresolved change the pipeline looks up.
#include <optional>
#include <string>
#include <string_view>

#include "core/event.hpp"
#include "core/json.hpp"

namespace orch::content {

struct ContentChange {
  std::string type;       // content.published | content.unpublished | content.deleted | content.changed
  std::string model;
  std::string id;
  std::string name;
  std::string url;
  std::string revision;   // lastUpdated (ms) as text, or "" if the payload has none
  std::string operation;  // as Builder sent it
  // No entry came with the delivery: id, name, url and revision are unknown until the pipeline
  // asks the Content API (data.unresolved = true on the event).
  bool unresolved = false;
  json to_data() const;
};

struct PayloadError {
  std::string message;
};

// Either the change, or why the payload cannot be used (answered with 400).
struct ParsedPayload {
  std::optional<ContentChange> change;
  PayloadError error;
  bool not_json = false;  // the body is not JSON at all (bad_json rather than bad_payload)
};
// Reads the body in one streaming pass, keeping only the fields above: Builder sends the whole
// entry (every block of a page), which is never turned into a document here. The model is the
// payload's modelName, else the entry's, else `fallback_model` (the webhook URL's ?model=), else
// the entry's modelId. An empty body reads as {}.
ParsedPayload parse_builder_payload(std::string_view body, const std::string& fallback_model = "");

// Deduplication key (SPEC §6): the webhook-id if given, else model + id + revision (+ operation,
// so publish then unpublish of one revision are two changes). Empty when neither is known.
std::string dedupe_key(const std::string& webhook_id, const ContentChange& c);

}  // namespace orch::content
