#include "agent/model_dirs.h"

#include <sys/stat.h>

#include <system_error>
#include <vector>

#include "common/log/log.h"

namespace fanout::agent {
namespace fs = std::filesystem;

namespace {

bool links(const fs::path& version_dir, dev_t dev, ino_t ino) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(version_dir, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_dev == dev &&
        st.st_ino == ino) {
      return true;
    }
  }
  return false;
}

}  // namespace

size_t remove_model_dirs_linking(const fs::path& models_dir, const fs::path& blob) {
  struct stat st {};
  if (::stat(blob.c_str(), &st) != 0 || st.st_nlink <= 1) return 0;
  std::vector<fs::path> doomed;
  std::error_code ec;
  for (auto model = fs::directory_iterator(models_dir, ec); model != fs::directory_iterator();
       model.increment(ec)) {
    if (!model->is_directory(ec)) continue;
    for (auto version = fs::directory_iterator(model->path(), ec);
         version != fs::directory_iterator(); version.increment(ec)) {
      if (version->is_directory(ec) && links(version->path(), st.st_dev, st.st_ino)) {
        doomed.push_back(version->path());
      }
    }
  }
  size_t removed = 0;
  for (const auto& dir : doomed) {
    fs::remove_all(dir, ec);
    if (ec) {
      spdlog::warn("removing {} (it links an evicted blob): {}", dir.string(), ec.message());
      continue;
    }
    ++removed;
    spdlog::info("removed {}: it linked evicted blob {}", dir.string(), blob.filename().string());
  }
  return removed;
}

}  // namespace fanout::agent
