#include "metrics/metrics.hpp"

#include <cmath>
#include <sstream>

namespace orch {

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), counts_(new std::atomic<unsigned long long>[bounds->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) counts_[i] = 0;
}

void Histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_->size() && v > (*bounds_)[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<unsigned long long> Histogram::cumulative() const {
  std::vector<unsigned long long> out;
  unsigned long long acc = 0;
  for (size_t i = 0; i <= bounds_->size(); ++i) {
    acc += counts_[i].load(std::memory_order_relaxed);
    out.push_back(acc);
  }
  return out;
}

template <class T>
T& Family<T>::labels(const Labels& values) {
  {
    std::shared_lock lock(mu_);
    if (auto it = series_.find(values); it != series_.end()) return *it->second;
  }
  std::unique_lock lock(mu_);
  auto& slot = series_[values];
  if (!slot) {
    if constexpr (std::is_same_v<T, Histogram>) slot = std::make_shared<T>(&bounds_);
    else slot = std::make_shared<T>();
  }
  return *slot;
}

template <class T>
std::vector<std::pair<Labels, std::shared_ptr<const T>>> Family<T>::series() const {
  std::shared_lock lock(mu_);
  std::vector<std::pair<Labels, std::shared_ptr<const T>>> out;
  for (const auto& [k, v] : series_) out.emplace_back(k, v);
  return out;
}

template <class T>
void Family<T>::retain(const std::function<bool(const Labels&)>& keep) {
  std::unique_lock lock(mu_);
  std::erase_if(series_, [&](const auto& entry) { return !keep(entry.first); });
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

template <class T>
static Family<T>& declare(std::mutex& mu, std::map<std::string, std::unique_ptr<Family<T>>>& m, const std::string& name,
                          const std::string& help, std::vector<std::string> labels, std::vector<double> bounds = {}) {
  std::lock_guard lock(mu);
  auto& slot = m[name];
  if (!slot) slot = std::make_unique<Family<T>>(name, help, std::move(labels), std::move(bounds));
  return *slot;
}

Family<Counter>& Metrics::counter(const std::string& name, const std::string& help, std::vector<std::string> labels) {
  return declare(mu_, counters_, name, help, std::move(labels));
}
Family<Gauge>& Metrics::gauge(const std::string& name, const std::string& help, std::vector<std::string> labels) {
  return declare(mu_, gauges_, name, help, std::move(labels));
}
Family<Histogram>& Metrics::histogram(const std::string& name, const std::string& help,
                                      std::vector<std::string> labels, std::vector<double> bounds) {
  return declare(mu_, histograms_, name, help, std::move(labels), std::move(bounds));
}

const Family<Counter>* Metrics::find_counter(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = counters_.find(name);
  return it == counters_.end() ? nullptr : it->second.get();
}
const Family<Histogram>* Metrics::find_histogram(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = histograms_.find(name);
  return it == histograms_.end() ? nullptr : it->second.get();
}

static std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

static std::string label_set(const std::vector<std::string>& names, const Labels& values, const std::string& extra = "") {
  std::string s;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (!s.empty()) s += ',';
    s += names[i] + "=\"" + escape_label(values[i]) + "\"";
  }
  if (!extra.empty()) s += (s.empty() ? "" : ",") + extra;
  return s.empty() ? "" : "{" + s + "}";
}

static std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  std::ostringstream os;
  os.precision(15);
  os << v;
  return os.str();
}

std::string Metrics::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, fam] : counters_) {
    out += "# HELP " + name + " " + fam->help() + "\n# TYPE " + name + " counter\n";
    for (const auto& [labels, c] : fam->series()) out += name + label_set(fam->label_names(), labels) + " " + number(c->value()) + "\n";
  }
  for (const auto& [name, fam] : gauges_) {
    out += "# HELP " + name + " " + fam->help() + "\n# TYPE " + name + " gauge\n";
    for (const auto& [labels, g] : fam->series()) out += name + label_set(fam->label_names(), labels) + " " + number(g->value()) + "\n";
  }
  for (const auto& [name, fam] : histograms_) {
    out += "# HELP " + name + " " + fam->help() + "\n# TYPE " + name + " histogram\n";
    for (const auto& [labels, h] : fam->series()) {
      auto counts = h->cumulative();
      const auto& bounds = fam->bounds();
      for (size_t i = 0; i < counts.size(); ++i) {
        std::string le = i < bounds.size() ? number(bounds[i]) : "+Inf";
        out += name + "_bucket" + label_set(fam->label_names(), labels, "le=\"" + le + "\"") + " " + std::to_string(counts[i]) + "\n";
      }
      out += name + "_sum" + label_set(fam->label_names(), labels) + " " + number(h->sum()) + "\n";
      out += name + "_count" + label_set(fam->label_names(), labels) + " " + std::to_string(counts.back()) + "\n";
    }
  }
  return out;
}

}  // namespace orch
