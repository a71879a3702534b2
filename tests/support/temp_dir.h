#pragma once
// A fresh directory for one test, removed with everything in it when the test ends.
#include <filesystem>
#include <string>

namespace fanout::test {

class TempDir {
 public:
  // Creates <system temp>/<prefix>XXXXXX; throws std::system_error when it cannot.
  explicit TempDir(const std::string& prefix = "fanout-test-");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // path() / name, for building paths inside the directory.
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace fanout::test
