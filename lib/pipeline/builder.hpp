#pragma once
// Builder.io's own APIs as orch uses them (REAL-APIS.md): the Content API, to look up what a
// payload-less webhook ("Disable Payload") was about, and the Write API, with which sync-test
// creates and afterwards deletes a real test entry.
#include <optional>
#include <string>

#include "config/settings.hpp"
#include "core/json.hpp"
#include "pipeline/stages.hpp"

namespace orch::pipeline {

// GET {BUILDER_CONTENT_URL}/api/v3/content/{model}?apiKey=BUILDER_API_KEY&sort.lastUpdated=-1&limit=1
// &cachebust=true → {"results":[entry]}: the model's most recently updated published entry, in
// `entry`. cachebust skips the CDN's cache, which would otherwise answer what was there before.
StageResult latest_entry(const Settings& s, const std::string& model, json& entry);

// Whether sync-test writes `model` as a page (URL in the urlPath query, text in data.blocks) or as
// a data model (data.url, data.text): BUILDER_PAGE_MODELS.
bool is_page_model(const Settings& s, const std::string& model);

// A Builder entry for sync-test's marker, shaped for its model: a page carries its URL as the
// urlPath targeting query and its text as a Text block, a data model as data.url / data.text.
json synctest_entry(const Settings& s, const std::string& model, const std::string& marker, const std::string& url);

// POST {BUILDER_WRITE_URL}/<model> with `Authorization: Bearer BUILDER_PRIVATE_KEY` and {name,
// published: "published", data, query} → the new entry's id; nullopt with `error` ("final:..." —
// not worth retrying) when Builder refused or could not be reached.
std::optional<std::string> builder_write(const Settings& s, const std::string& model, const json& entry, std::string& error);
json builder_write_body(const json& entry);

// DELETE {BUILDER_WRITE_URL}/<model>/<id> → {"message":"Success"}; false with `error` otherwise.
bool builder_delete(const Settings& s, const std::string& model, const std::string& id, std::string& error);

}  // namespace orch::pipeline
