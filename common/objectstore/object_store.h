#pragma once
// Where blobs live before any fanout node has them: a directory or an S3 bucket. Origins read
// each object once (streaming, never whole into memory); fanoutctl push writes them. Keys are
// relative, slash-separated paths such as "blobs/sha256/<hex>" (see blob_key()).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "common/digest/digest.h"

namespace fanout {

// An object store operation failed (I/O, permissions, a remote error); the message names the key.
class ObjectStoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A failure worth retrying: a 5xx answer, a timeout, a reset connection, a body cut short.
class TransientObjectStoreError : public ObjectStoreError {
 public:
  using ObjectStoreError::ObjectStoreError;
};

// The object does not exist.
class ObjectNotFoundError : public ObjectStoreError {
 public:
  using ObjectStoreError::ObjectStoreError;
};

// The key is not a plain relative path (empty, absolute, "..", ".", "//", NUL, backslash).
class InvalidObjectKeyError : public ObjectStoreError {
 public:
  using ObjectStoreError::ObjectStoreError;
};

// Throws InvalidObjectKeyError naming the key and the rule it breaks. Every store applies the
// same rules, so a key valid in one store is valid in all of them.
void validate_object_key(std::string_view key);

// The key of a blob's bytes: "blobs/sha256/<64 hex>".
std::string blob_key(const Digest& digest);

// Reads one object, or one byte range of it, front to back. Not thread-safe: one reader per pull.
class ObjectReader {
 public:
  virtual ~ObjectReader() = default;
  // Bytes this reader delivers in total (the range's length, or the object's size).
  virtual uint64_t size() const = 0;
  // Reads up to `max` bytes into `buf`; returns 0 only at the end. Throws ObjectStoreError.
  virtual size_t read(void* buf, size_t max) = 0;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  // A name for log lines: "directory /srv/objects", "s3://bucket/prefix".
  virtual std::string describe() const = 0;
  // The object's size, or nullopt when it does not exist.
  virtual std::optional<uint64_t> size(const std::string& key) = 0;
  // Throws ObjectNotFoundError when absent.
  virtual std::unique_ptr<ObjectReader> open(const std::string& key) = 0;
  // Bytes [offset, offset + length) clamped to the object's end (an S3 ranged GET).
  // Throws ObjectNotFoundError when absent, ObjectStoreError when offset is past the end.
  virtual std::unique_ptr<ObjectReader> open_range(const std::string& key, uint64_t offset,
                                                   uint64_t length) = 0;
  // The bytes open_range() delivers, read into `out` (replacing its contents, reusing its
  // capacity); fewer than `length` at the object's end. Stores that fetch a range whole (S3)
  // override it to fill `out` directly, without a second copy.
  virtual void read_range(const std::string& key, uint64_t offset, uint64_t length,
                          std::string& out);
  // Stores the file at `source` under `key`, replacing any object there; readers see either the
  // old or the new object, never a partial one.
  virtual void put(const std::string& key, const std::filesystem::path& source) = 0;
};

}  // namespace fanout
