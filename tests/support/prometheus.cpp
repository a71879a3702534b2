#include "tests/support/prometheus.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

namespace fanout::test {

double metric(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  bool found = false;
  double sum = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.compare(0, name.size(), name) != 0) continue;
    size_t pos = name.size();
    if (pos < line.size() && line[pos] == '{') {
      pos = line.find('}', pos);
      if (pos == std::string::npos) continue;
      ++pos;
    }
    // The name must end here: fanout_x_total must not match fanout_x_total_more.
    if (pos >= line.size() || (line[pos] != ' ' && line[pos] != '\t')) continue;
    const char* begin = line.c_str() + pos;
    char* end = nullptr;
    double value = std::strtod(begin, &end);
    if (end == begin) continue;
    sum += value;
    found = true;
  }
  return found ? sum : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace fanout::test
