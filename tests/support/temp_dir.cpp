#include "tests/support/temp_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <system_error>
#include <vector>

namespace fanout::test {

TempDir::TempDir(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "XXXXXX")).string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
  }
  path_ = buf.data();
}

TempDir::~TempDir() {
  // Cleanup must not throw from a destructor; a leftover directory is only a nuisance.
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace fanout::test
