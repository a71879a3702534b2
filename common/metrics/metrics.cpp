#include "common/metrics/metrics.h"

#include <sstream>
#include <stdexcept>

namespace fanout::metrics {

Counter& Registry::counter(const std::string& name, const std::string& help) {
  std::lock_guard lock(mu_);
  Entry& e = entries_[name];
  if (e.gauge) throw std::logic_error("metric " + name + " is already a gauge");
  if (!e.counter) {
    e.help = help;
    e.counter = std::make_unique<Counter>();
  }
  return *e.counter;
}

Gauge& Registry::gauge(const std::string& name, const std::string& help) {
  std::lock_guard lock(mu_);
  Entry& e = entries_[name];
  if (e.counter) throw std::logic_error("metric " + name + " is already a counter");
  if (!e.gauge) {
    e.help = help;
    e.gauge = std::make_unique<Gauge>();
  }
  return *e.gauge;
}

std::string Registry::render() const {
  std::lock_guard lock(mu_);
  std::ostringstream out;
  for (const auto& [name, e] : entries_) {
    out << "# HELP " << name << ' ' << e.help << '\n';
    if (e.counter) {
      out << "# TYPE " << name << " counter\n" << name << ' ' << e.counter->value() << '\n';
    } else {
      out << "# TYPE " << name << " gauge\n" << name << ' ' << e.gauge->value() << '\n';
    }
  }
  return out.str();
}

}  // namespace fanout::metrics
