#include "content/payload.hpp"

namespace orch::content {

json ContentChange::to_data() const {
  // Filled in place: an initializer list would build each pair as a small array first.
  json data(json::value_t::object);
  auto& fields = data.get_ref<json::object_t&>();
  fields.emplace("model", model);
  fields.emplace("id", id);
  fields.emplace("name", name);
  fields.emplace("url", url);
  fields.emplace("revision", revision);
  fields.emplace("operation", operation);
  if (unresolved) fields.emplace("unresolved", true);
  return data;
}

namespace {

std::string type_for(const std::string& operation) {
  if (operation == "publish" || operation == "scheduledStart") return "content.published";
  if (operation == "unpublish" || operation == "archive" || operation == "scheduledEnd") return "content.unpublished";
  if (operation == "delete") return "content.deleted";
  return "content.changed";
}

// A scalar as the payload fields read it: strings as they are, integers in decimal, other
// numbers as JSON writes them; anything else (null, booleans, objects, arrays) reads as "".
struct Scalar {
  enum class Kind { text, number, other } kind = Kind::other;
  std::string text;
};

// What one of newValue / previousValue holds. A key given twice counts with its last value,
// as in a parsed document.
struct Entry {
  bool is_object = false;
  std::string id, model, model_id, name, last_updated, rev;
  std::optional<std::string> data_url;   // data.url when data is an object and url a string
  std::optional<std::string> query_url;  // the first usable urlPath condition of query
};

// nlohmann's SAX interface: sees every token once, remembers only the fields above. Containers
// nowhere near them are skipped by depth alone.
class PayloadReader {
 public:
  bool null() { return value({}); }
  bool boolean(bool) { return value({}); }
  bool number_integer(json::number_integer_t v) { return value({Scalar::Kind::number, std::to_string(v)}); }
  bool number_unsigned(json::number_unsigned_t v) {
    return value({Scalar::Kind::number, std::to_string(static_cast<long long>(v))});
  }
  bool number_float(json::number_float_t v, const std::string&) { return value({Scalar::Kind::number, json(v).dump()}); }
  bool string(std::string& v) { return value({Scalar::Kind::text, std::move(v)}); }
  bool binary(json::binary_t&) { return value({}); }
  bool key(std::string& k) {
    if (skip_ == 0) frames_.back().key = std::move(k);
    return true;
  }
  bool start_object(std::size_t) { return open(true); }
  bool end_object() { return close(); }
  bool start_array(std::size_t) { return open(false); }
  bool end_array() { return close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { return false; }

  bool root_is_object = false;
  bool too_deep = false;
  std::string model, operation;
  Entry entries[3];  // newValue, previousValue, oldValue (the legacy name of previousValue)

 private:
  enum class Kind { root, entry, data, query, condition, condition_value };
  struct Frame {
    Kind kind;
    int entry = 0;  // which of entries[] (entry, data, query, condition, condition_value)
    std::string key;  // the key being read (objects)
    size_t index = 0;  // the element being read (arrays)
    std::optional<std::string> property, value;  // of a query condition
  };

  static int entry_index(const std::string& key) {
    return key == "newValue" ? 0 : key == "previousValue" ? 1 : key == "oldValue" ? 2 : -1;
  }

  // A value arrives for the current key or element of the innermost frame; a container's own
  // value reads as Scalar{} here before its frame opens.
  bool value(Scalar v) {
    if (skip_ > 0) return true;
    if (frames_.empty()) return true;  // a top-level scalar: not an object
    auto& f = frames_.back();
    const bool text = v.kind == Scalar::Kind::text;
    const bool texty = v.kind != Scalar::Kind::other;
    switch (f.kind) {
      case Kind::root:
        if (f.key == "modelName") model = texty ? v.text : "";
        else if (f.key == "operation") operation = texty ? v.text : "";
        else if (int e = entry_index(f.key); e >= 0) entries[e] = Entry{};
        break;
      case Kind::entry: {
        auto& en = entries[f.entry];
        if (f.key == "id") en.id = texty ? v.text : "";
        else if (f.key == "modelName") en.model = texty ? v.text : "";
        else if (f.key == "modelId") en.model_id = texty ? v.text : "";
        else if (f.key == "name") en.name = texty ? v.text : "";
        else if (f.key == "lastUpdated") en.last_updated = texty ? v.text : "";
        else if (f.key == "rev") en.rev = texty ? v.text : "";
        else if (f.key == "data") en.data_url.reset();
        else if (f.key == "query") en.query_url.reset();
        break;
      }
      case Kind::data:
        if (f.key == "url") {
          if (text) entries[f.entry].data_url = v.text;
          else entries[f.entry].data_url.reset();
        }
        break;
      case Kind::condition:
        if (f.key == "property") f.property = text ? std::optional(v.text) : std::nullopt;
        else if (f.key == "value") f.value = text ? std::optional(v.text) : std::nullopt;
        break;
      case Kind::condition_value:
        if (f.index == 0 && text) frames_[frames_.size() - 2].value = v.text;
        break;
      case Kind::query: break;
    }
    ++f.index;
    return true;
  }

  bool open(bool object) {
    // No document is built here, but a bound keeps every reader of outside JSON alike.
    if (++depth_ > kMaxJsonDepth) {
      too_deep = true;
      return false;
    }
    if (skip_ > 0) {
      ++skip_;
      return true;
    }
    if (frames_.empty()) {
      if (!object) return ++skip_, true;
      root_is_object = true;
      frames_.push_back({Kind::root});
      return true;
    }
    // The container replaces whatever its key held before (last value wins).
    auto& f = frames_.back();
    const std::string key = f.key;
    const Kind parent = f.kind;
    const int e = f.entry;
    value({});
    if (object && parent == Kind::root && entry_index(key) >= 0) {
      const int which = entry_index(key);
      entries[which].is_object = true;
      frames_.push_back({Kind::entry, which});
    } else if (object && parent == Kind::entry && key == "data") {
      frames_.push_back({Kind::data, e});
    } else if (!object && parent == Kind::entry && key == "query") {
      frames_.push_back({Kind::query, e});
    } else if (object && parent == Kind::query) {
      frames_.push_back({Kind::condition, e});
    } else if (!object && parent == Kind::condition && key == "value") {
      frames_.push_back({Kind::condition_value, e});
    } else {
      ++skip_;
    }
    return true;
  }

  bool close() {
    --depth_;
    if (skip_ > 0) {
      --skip_;
      return true;
    }
    auto f = std::move(frames_.back());
    frames_.pop_back();
    if (f.kind == Kind::condition && f.property == "urlPath" && f.value && !entries[f.entry].query_url)
      entries[f.entry].query_url = f.value;
    return true;
  }

  std::vector<Frame> frames_;
  size_t skip_ = 0;  // depth inside a container nothing is read from
  size_t depth_ = 0;
};

}  // namespace

ParsedPayload parse_builder_payload(std::string_view body, const std::string& fallback_model) {
  PayloadReader r;
  if (body.empty()) body = "{}";  // a payload-less delivery may carry no body at all
  if (!json::sax_parse(body, &r)) {
    if (r.too_deep) return {std::nullopt, {"payload nests deeper than " + std::to_string(kMaxJsonDepth) + " levels"}};
    ParsedPayload bad{std::nullopt, {"body is not valid JSON"}};
    bad.not_json = true;
    return bad;
  }
  if (!r.root_is_object) return {std::nullopt, {"payload must be a JSON object"}};
  const Entry* entry = nullptr;
  for (const auto& e : r.entries)
    if (!entry && e.is_object) entry = &e;
  ContentChange c;
  c.operation = r.operation;
  if (!entry) {
    // Builder's "Disable Payload": only the model (if that) says what changed.
    c.model = !r.model.empty() ? r.model : fallback_model;
    if (c.model.empty())
      return {std::nullopt, {"payload has no content entry and no modelName: add ?model=<model> to the webhook URL"}};
    c.unresolved = true;
    c.type = type_for(c.operation);
    return {c, {}};
  }
  c.id = entry->id;
  if (c.id.empty()) return {std::nullopt, {"content entry has no id"}};
  c.model = !r.model.empty() ? r.model : !entry->model.empty() ? entry->model : !fallback_model.empty() ? fallback_model : entry->model_id;
  if (c.model.empty()) return {std::nullopt, {"payload has no modelName: add ?model=<model> to the webhook URL"}};
  c.name = entry->name;
  // Page models target a URL through the query [{property: "urlPath", value: "/about"}].
  c.url = entry->data_url ? *entry->data_url : entry->query_url.value_or("");
  c.revision = entry->last_updated.empty() ? entry->rev : entry->last_updated;
  // A delete carries only previousValue; with no operation field, a missing newValue means delete.
  if (c.operation.empty()) c.operation = r.entries[0].is_object ? "publish" : "delete";
  c.type = type_for(c.operation);
  return {c, {}};
}

std::string dedupe_key(const std::string& webhook_id, const ContentChange& c) {
  if (!webhook_id.empty()) return "wh:" + webhook_id;
  if (c.revision.empty()) return {};  // nothing identifies a redelivery: accept every one
  return "content:" + c.model + ":" + c.id + ":" + c.revision + ":" + c.operation;
}

}  // namespace orch::content
