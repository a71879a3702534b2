#include "common/store/blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <random>

#include "common/store/file_io.h"
#include "common/store/partial_blob.h"

namespace fanout {
namespace fs = std::filesystem;

namespace {
std::string unique_suffix() {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
         std::to_string(rng() % 1000000);
}
}  // namespace

BlobStore::BlobStore(fs::path root) : root_(std::move(root)) {
  fs::create_directories(root_ / "blobs" / "sha256");
  fs::create_directories(tmp_dir());
  fs::create_directories(partial_dir());
  // Temp files of a crashed writer are garbage: nothing refers to them.
  for (const auto& entry : fs::directory_iterator(tmp_dir())) fs::remove_all(entry.path());
}

fs::path BlobStore::path_of(const Digest& digest) const {
  std::string hex = digest.hex();
  return root_ / "blobs" / "sha256" / hex.substr(0, 2) / hex;
}

bool BlobStore::contains(const Digest& digest) const {
  std::error_code ec;
  return fs::is_regular_file(path_of(digest), ec);
}

std::optional<uint64_t> BlobStore::size_of(const Digest& digest) const {
  std::error_code ec;
  auto size = fs::file_size(path_of(digest), ec);
  if (ec) return std::nullopt;
  return size;
}

uint64_t BlobStore::total_bytes() const {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root_ / "blobs", ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

std::unique_ptr<BlobStore::Writer> BlobStore::begin(const Digest& digest) const {
  return std::unique_ptr<Writer>(new Writer(*this, digest));
}

std::unique_ptr<PartialBlob> BlobStore::open_partial(const Digest& digest, uint64_t size,
                                                     uint32_t piece_length,
                                                     std::vector<Digest::Bytes> hashes,
                                                     bool pieces_bound_to_digest) const {
  return std::make_unique<PartialBlob>(*this, digest, size, piece_length, std::move(hashes),
                                       pieces_bound_to_digest);
}

fs::path BlobStore::publish(const Digest& digest, const fs::path& tmp, int fd,
                            const std::optional<Digest>& actual) const {
  if (actual && *actual != digest) {
    fs::remove(tmp);
    throw CorruptBlobError("blob " + digest.str() + ": bytes hash to " + actual->str() +
                           "; not stored");
  }
  fileio::fsync_or_throw(fd, tmp);
  ::fchmod(fd, 0444);
  fs::path final_path = path_of(digest);
  fs::create_directories(final_path.parent_path());
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    int err = errno;
    fs::remove(tmp);
    throw StoreError("blob " + digest.str() + ": rename into the store failed: " +
                     std::generic_category().message(err));
  }
  fileio::fsync_dir(final_path.parent_path());
  return final_path;
}

BlobStore::Writer::Writer(const BlobStore& store, const Digest& digest)
    : store_(store), digest_(digest), tmp_(store.tmp_dir() / (digest.hex() + "." + unique_suffix())) {
  fd_ = fileio::open_or_throw(tmp_, O_WRONLY | O_CREAT | O_EXCL, 0644);
}

BlobStore::Writer::~Writer() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) {
    std::error_code ec;
    fs::remove(tmp_, ec);
  }
}

void BlobStore::Writer::write(const void* data, size_t size) {
  if (committed_) throw StoreError("write after commit");
  fileio::write_all(fd_, data, size, tmp_);
  hash_.update(data, size);
  written_ += size;
}

fs::path BlobStore::Writer::commit() {
  if (committed_) throw StoreError("commit twice");
  fs::path published = store_.publish(digest_, tmp_, fd_, hash_.finish());
  committed_ = true;
  return published;
}

}  // namespace fanout
