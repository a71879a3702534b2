#pragma once
// Just enough of the Prometheus text format to read a counter back in a test.
#include <string>

namespace fanout::test {

// The value of the sample called `name` in Prometheus text exposition. Samples of that name
// with labels (name{...} value) are summed. NaN when there is no such sample, so a missing
// metric never passes a comparison by accident.
double metric(const std::string& text, const std::string& name);

}  // namespace fanout::test
