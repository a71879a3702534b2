#pragma once
// An ObjectStore over a local directory: key "blobs/sha256/<hex>" is the file
// <root>/blobs/sha256/<hex>. For single-machine setups, tests and the demo.
#include <filesystem>

#include "common/objectstore/object_store.h"

namespace fanout {

class DirectoryStore : public ObjectStore {
 public:
  // The directory need not exist yet: put() creates what it needs.
  explicit DirectoryStore(std::filesystem::path root);

  const std::filesystem::path& root() const { return root_; }
  // The file a key maps to; throws InvalidObjectKeyError first, so no key escapes the root.
  std::filesystem::path path_of(const std::string& key) const;

  std::string describe() const override;
  std::optional<uint64_t> size(const std::string& key) override;
  std::unique_ptr<ObjectReader> open(const std::string& key) override;
  std::unique_ptr<ObjectReader> open_range(const std::string& key, uint64_t offset,
                                           uint64_t length) override;
  void put(const std::string& key, const std::filesystem::path& source) override;

 private:
  std::filesystem::path root_;
};

}  // namespace fanout
