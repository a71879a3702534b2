#pragma once
// An ObjectStore wrapper that counts opens and bytes, so tests can check "read exactly once".
#include <atomic>
#include <chrono>
#include <thread>

#include "common/objectstore/object_store.h"

namespace fanout::test {

class CountingObjectStore : public ObjectStore {
 public:
  explicit CountingObjectStore(ObjectStore& inner) : inner_(inner) {}

  std::atomic<int> opens{0};
  std::atomic<uint64_t> bytes_read{0};
  // Slows each read so concurrent callers surely overlap the pull.
  std::chrono::milliseconds read_delay{0};

  std::string describe() const override { return "counting " + inner_.describe(); }
  std::optional<uint64_t> size(const std::string& key) override { return inner_.size(key); }
  std::unique_ptr<ObjectReader> open(const std::string& key) override {
    ++opens;
    return std::make_unique<Reader>(*this, inner_.open(key));
  }
  std::unique_ptr<ObjectReader> open_range(const std::string& key, uint64_t offset,
                                           uint64_t length) override {
    ++opens;
    return std::make_unique<Reader>(*this, inner_.open_range(key, offset, length));
  }
  void put(const std::string& key, const std::filesystem::path& source) override {
    inner_.put(key, source);
  }

 private:
  class Reader : public ObjectReader {
   public:
    Reader(CountingObjectStore& owner, std::unique_ptr<ObjectReader> inner)
        : owner_(owner), inner_(std::move(inner)) {}
    uint64_t size() const override { return inner_->size(); }
    size_t read(void* buf, size_t max) override {
      std::this_thread::sleep_for(owner_.read_delay);
      size_t n = inner_->read(buf, max);
      owner_.bytes_read += n;
      return n;
    }

   private:
    CountingObjectStore& owner_;
    std::unique_ptr<ObjectReader> inner_;
  };

  ObjectStore& inner_;
};

}  // namespace fanout::test
