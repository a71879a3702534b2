#include "origin/pull_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>
#include <system_error>

#include "common/store/file_io.h"
#include "proto/proto_error.h"

namespace fanout::origin {

PullSink::PullSink(const BlobStore& cas, const Digest& digest, uint64_t size)
    : cas_(cas),
      digest_(digest),
      size_(size),
      piece_length_(proto::Metainfo::piece_length_for(size)),
      tmp_(cas.tmp_dir() / (digest.hex() + ".pull-" + std::to_string(std::random_device{}()))) {
  if (size > proto::Metainfo::kMaxSize)
    throw proto::ProtoError("metainfo: blob larger than 16 TiB");
  pieces_.resize(static_cast<size_t>((size + piece_length_ - 1) / piece_length_));
  std::filesystem::create_directories(cas.tmp_dir());
  fd_ = fileio::open_or_throw(tmp_, O_WRONLY | O_CREAT | O_EXCL, 0644);
  io_ = std::make_unique<fileio::DirectIo>(fd_, tmp_, cas.direct_io());
}

PullSink::~PullSink() {
  if (fd_ >= 0) ::close(fd_);
  if (!published_) {
    std::error_code ignored;
    std::filesystem::remove(tmp_, ignored);
  }
}

void PullSink::write_part(uint64_t offset, const char* data, size_t size) {
  if (offset + size > size_)
    throw proto::ProtoError("metainfo: more bytes than the announced size");
  // Around the page cache (direct_io.h): filling a gigabyte of new page-cache pages cost more
  // than both SHA-256 passes on the benchmark machine.
  io_->pwrite(data, size, static_cast<off_t>(offset));
  const uint64_t end = offset + size;
  for (uint64_t piece = (offset + piece_length_ - 1) / piece_length_;; ++piece) {
    uint64_t start = piece * piece_length_;
    uint64_t stop = std::min<uint64_t>(start + piece_length_, size_);
    if (start >= end || stop > end) break;
    pieces_[piece] = Sha256::of(data + (start - offset), stop - start).bytes();
  }
}

void PullSink::hash_in_order(uint64_t offset, const char* data, size_t size) {
  if (offset != seen_) throw proto::ProtoError("pull: parts hashed out of order");
  whole_.update(data, size);
  // The bytes of pieces that write_part() could not hash whole: those crossing a part boundary.
  const uint64_t end = offset + size;
  uint64_t at = offset;
  while (at < end) {
    uint64_t piece = at / piece_length_;
    uint64_t start = piece * piece_length_;
    uint64_t stop = std::min<uint64_t>(start + piece_length_, size_);
    uint64_t upto = std::min(stop, end);
    bool inside_one_part = start >= offset && stop <= end;
    if (!inside_one_part) {
      straddling_.update(data + (at - offset), upto - at);
      if (upto == stop) pieces_[piece] = straddling_.finish().bytes();
    }
    at = upto;
  }
  seen_ = end;
}

proto::Metainfo PullSink::finish() {
  if (seen_ != size_) {
    throw proto::ProtoError("metainfo: got " + std::to_string(seen_) + " bytes, expected " +
                            std::to_string(size_));
  }
  proto::Metainfo info;
  info.digest = whole_.finish();
  info.size = size_;
  info.piece_length = piece_length_;
  info.pieces = pieces_;
  return info;
}

std::filesystem::path PullSink::publish(const Digest& actual) {
  if (actual != digest_) {
    throw CorruptBlobError("blob " + digest_.str() + ": bytes hash to " + actual.str() +
                           "; not stored");  // the destructor removes the temp file
  }
  // BlobStore::publish() without its fsync, which sync() does later.
  ::fchmod(fd_, 0444);
  std::filesystem::path path = cas_.path_of(digest_);
  std::filesystem::create_directories(path.parent_path());
  if (::rename(tmp_.c_str(), path.c_str()) != 0) {
    throw StoreError("blob " + digest_.str() +
                     ": rename into the store failed: " + std::generic_category().message(errno));
  }
  published_ = true;
  published_path_ = path;
  return path;
}

void PullSink::sync() {
  fileio::fsync_or_throw(fd_, published_path_);
  fileio::fsync_dir(published_path_.parent_path());
}

}  // namespace fanout::origin
