#include "origin/peer_origin_store.h"

#include <httplib.h>

#include <algorithm>
#include <cstring>

namespace fanout::origin {
namespace {

// The whole range, fetched on construction, handed out from memory (ranges are part-sized).
class MemoryReader : public ObjectReader {
 public:
  explicit MemoryReader(std::string data) : data_(std::move(data)) {}
  uint64_t size() const override { return data_.size(); }
  size_t read(void* buf, size_t max) override {
    size_t n = std::min(max, data_.size() - at_);
    std::memcpy(buf, data_.data() + at_, n);
    at_ += n;
    return n;
  }

 private:
  std::string data_;
  size_t at_ = 0;
};

[[noreturn]] void throw_for(int status, const std::string& what) {
  std::string msg = what + ": HTTP " + std::to_string(status);
  if (status == 404) throw ObjectNotFoundError(msg);
  if (status >= 500 || status == 408 || status == 429) throw TransientObjectStoreError(msg);
  throw ObjectStoreError(msg);
}

}  // namespace

PeerOriginStore::PeerOriginStore(std::string id, std::string base_url,
                                 std::chrono::milliseconds timeout)
    : id_(std::move(id)), base_url_(std::move(base_url)), timeout_(timeout) {}

std::string PeerOriginStore::describe() const {
  return "origin " + id_ + " at " + base_url_;
}

std::string PeerOriginStore::blob_path(const std::string& key) const {
  validate_object_key(key);
  static const std::string prefix = "blobs/sha256/";
  if (!key.starts_with(prefix))
    throw ObjectStoreError(describe() + " holds only blobs, not " + key);
  return "/v1/blobs/sha256:" + key.substr(prefix.size());
}

std::optional<uint64_t> PeerOriginStore::size(const std::string& key) {
  const std::string path = blob_path(key);
  const std::string what = "HEAD " + describe() + path;
  httplib::Client client(base_url_);
  client.set_connection_timeout(timeout_);
  client.set_read_timeout(timeout_);
  auto res = client.Head(path);
  if (!res) throw TransientObjectStoreError(what + ": " + httplib::to_string(res.error()));
  if (res->status == 404) return std::nullopt;
  if (res->status != 200) throw_for(res->status, what);
  try {
    return std::stoull(res->get_header_value("Content-Length"));
  } catch (const std::exception&) {
    throw ObjectStoreError(what + ": answer has no usable Content-Length");
  }
}

std::unique_ptr<ObjectReader> PeerOriginStore::open(const std::string& key) {
  std::optional<uint64_t> n = size(key);
  if (!n) throw ObjectNotFoundError("no blob " + key + " at " + describe());
  return open_range(key, 0, *n);
}

std::unique_ptr<ObjectReader> PeerOriginStore::open_range(const std::string& key, uint64_t offset,
                                                          uint64_t length) {
  const std::string path = blob_path(key);
  const std::string range =
      "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + length - 1);
  const std::string what = "GET " + describe() + path + " " + range;
  if (length == 0) return std::make_unique<MemoryReader>("");
  httplib::Client client(base_url_);
  client.set_connection_timeout(timeout_);
  client.set_read_timeout(timeout_);
  std::string data;
  int status = 0;
  bool overflow = false;
  auto res = client.Get(
      path, {{"Range", range}},
      [&](const httplib::Response& r) {
        status = r.status;
        return r.status == 206;
      },
      [&](const char* chunk, size_t n) {
        if (data.size() + n > length) {
          overflow = true;
          return false;
        }
        data.append(chunk, n);
        return true;
      });
  if (status != 0 && status != 206) throw_for(status, what);
  if (overflow) throw ObjectStoreError(what + ": more bytes than asked for");
  if (!res) throw TransientObjectStoreError(what + ": " + httplib::to_string(res.error()));
  // A short body is returned as is: the caller sees the short read and retries.
  return std::make_unique<MemoryReader>(std::move(data));
}

void PeerOriginStore::put(const std::string& key, const std::filesystem::path&) {
  throw ObjectStoreError("cannot put " + key + " into " + describe() + ": it is only read");
}

}  // namespace fanout::origin
