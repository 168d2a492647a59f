#pragma once
// Prometheus metrics (text exposition format 0.0.4). Families are declared once at start-up;
// the hot path is one map lookup under a shared lock plus an atomic add.
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

namespace orch {

using Labels = std::vector<std::string>;  // values, in the order of the family's label names

class Counter {
 public:
  void inc(double by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void inc(double by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(const std::vector<double>* bounds);
  void observe(double v);
  // Cumulative counts per bound, then +Inf.
  std::vector<unsigned long long> cumulative() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  const std::vector<double>* bounds_;
  std::unique_ptr<std::atomic<unsigned long long>[]> counts_;
  std::atomic<double> sum_{0};
};

template <class T>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names, std::vector<double> bounds = {})
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)), bounds_(std::move(bounds)) {}

  T& labels(const Labels& values);
  T& get() { return labels({}); }

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  const std::vector<double>& bounds() const { return bounds_; }
  // Snapshot of (label values, metric) pairs for rendering; each metric stays alive while the
  // snapshot holds it, even when its series is dropped meanwhile.
  std::vector<std::pair<Labels, std::shared_ptr<const T>>> series() const;
  // Drops every series whose label values `keep` rejects (the series of a removed container): a
  // reference from labels() to a dropped series must not be kept.
  void retain(const std::function<bool(const Labels&)>& keep);

 private:
  std::string name_, help_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;
  mutable std::shared_mutex mu_;
  std::map<Labels, std::shared_ptr<T>> series_;
};

class Metrics {
 public:
  // Returns the existing family when the name is declared again (modules may share a family).
  Family<Counter>& counter(const std::string& name, const std::string& help, std::vector<std::string> labels = {});
  Family<Gauge>& gauge(const std::string& name, const std::string& help, std::vector<std::string> labels = {});
  Family<Histogram>& histogram(const std::string& name, const std::string& help, std::vector<std::string> labels,
                               std::vector<double> bounds);
  std::string render() const;
  // The family declared under `name`, or nullptr: for readers that must not declare one (history).
  const Family<Counter>* find_counter(const std::string& name) const;
  const Family<Histogram>* find_histogram(const std::string& name) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Family<Counter>>> counters_;
  std::map<std::string, std::unique_ptr<Family<Gauge>>> gauges_;
  std::map<std::string, std::unique_ptr<Family<Histogram>>> histograms_;
};

}  // namespace orch
