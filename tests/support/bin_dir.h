#pragma once
// Where the binaries under test live. Only integration tests may include this:
// tests/CMakeLists.txt defines FANOUT_BIN_DIR for the integration_tests target alone.
#include <string>

#ifndef FANOUT_BIN_DIR
#error "tests/support/bin_dir.h is for integration tests (FANOUT_BIN_DIR is not defined)"
#endif

namespace fanout::test {

// FANOUT_BIN_DIR "/" name, e.g. bin("fanout-agent").
inline std::string bin(const char* name) {
  return std::string(FANOUT_BIN_DIR "/") + name;
}

}  // namespace fanout::test
