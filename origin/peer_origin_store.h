#pragma once
// Another origin of the ring seen as a read-only object store: a replica copies a blob from the
// owner that already pulled it (HEAD and ranged GETs of {url}/v1/blobs/{digest}) instead of
// reading the object store a second time. BlobPuller verifies the bytes exactly as it verifies
// the object store's, so a peer serving wrong bytes costs a failed pull, never a corrupt blob.
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/objectstore/object_store.h"

namespace fanout::origin {

class PeerOriginStore : public ObjectStore {
 public:
  // base_url: "http://host:port" of the peer's HTTP API; id names it in messages.
  PeerOriginStore(std::string id, std::string base_url,
                  std::chrono::milliseconds timeout = std::chrono::seconds(30));

  std::string describe() const override;
  // Only blob keys ("blobs/sha256/<hex>") exist here; nullopt when the peer answers 404.
  std::optional<uint64_t> size(const std::string& key) override;
  std::unique_ptr<ObjectReader> open(const std::string& key) override;
  std::unique_ptr<ObjectReader> open_range(const std::string& key, uint64_t offset,
                                           uint64_t length) override;
  // Throws ObjectStoreError: a peer origin is only ever read.
  void put(const std::string& key, const std::filesystem::path& source) override;

 private:
  std::string blob_path(const std::string& key) const;

  std::string id_;
  std::string base_url_;
  std::chrono::milliseconds timeout_;
};

}  // namespace fanout::origin
