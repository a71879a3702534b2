#include "common/store/partial_blob.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/store/blob_store.h"
#include "common/store/file_io.h"

namespace fanout {
namespace fs = std::filesystem;

PartialBlob::PartialBlob(const BlobStore& store, const Digest& digest, uint64_t size,
                         uint32_t piece_length, std::vector<Digest::Bytes> piece_hashes,
                         bool pieces_bound_to_digest)
    : store_(store),
      whole_blob_hash_(store.whole_blob_hash() && !pieces_bound_to_digest),
      digest_(digest),
      size_(size),
      piece_length_(piece_length),
      hashes_(std::move(piece_hashes)),
      path_(store.partial_dir() / digest.hex()),
      bitmap_path_(store.partial_dir() / (digest.hex() + ".bitmap")),
      done_(hashes_.size(), 0),
      stream_token_(hashes_.size(), 0) {
  if (piece_length_ == 0 || (size_ + piece_length_ - 1) / piece_length_ != hashes_.size()) {
    throw StoreError("partial blob " + digest.str() + ": piece table does not match its size");
  }
  fd_ = fileio::open_or_throw(path_, O_RDWR | O_CREAT, 0644);
  // The whole blob's space is taken now (pieces already written are kept): a disk too small
  // fails the fetch at its start, not hours in, and each direct write then only marks its
  // blocks written instead of allocating them (in the 50-agent benchmark ~5% less CPU).
  // File systems without fallocate get a sparse file; either way the size is exactly the blob's.
  int reserved = 0;
  if (size_ > 0) {
    do {
      reserved = ::fallocate(fd_, 0, 0, static_cast<off_t>(size_));
    } while (reserved != 0 && errno == EINTR);
  }
  if (reserved != 0 && errno != EOPNOTSUPP && errno != ENOSYS) {
    int err = errno;
    ::close(fd_);
    throw StoreError("partial blob " + digest.str() + ": cannot reserve " + std::to_string(size_) +
                     " bytes on disk: " + std::generic_category().message(err));
  }
  if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
    int err = errno;
    ::close(fd_);
    throw StoreError("partial blob " + digest.str() + ": cannot size file: " +
                     std::generic_category().message(err));
  }
  io_ = std::make_unique<fileio::DirectIo>(fd_, path_, store.direct_io());
  load_resume_state();
}

PartialBlob::~PartialBlob() {
  {
    std::lock_guard lock(mu_);
    flush_bitmap_locked();
  }
  if (fd_ >= 0) ::close(fd_);
}

// Records the pieces done since the last save, unless the blob is gone (committed, discarded) or
// retired (which flushed it already: a retry's object owns the file from then on).
void PartialBlob::flush_bitmap_locked() {
  if (!bitmap_dirty_ || finished_ || retired_) return;
  try {
    save_bitmap_locked();
  } catch (const std::exception&) {
    // Pieces not recorded are fetched again after a restart; nothing to do here.
  }
}

uint32_t PartialBlob::piece_size(uint32_t index) const {
  uint64_t offset = uint64_t{index} * piece_length_;
  return static_cast<uint32_t>(std::min<uint64_t>(piece_length_, size_ - offset));
}

// A piece marked done by an earlier run is kept only if its bytes still hash right: the bitmap
// may have reached the disk before the data did.
void PartialBlob::load_resume_state() {
  std::error_code ec;
  if (!fs::exists(bitmap_path_, ec) || fs::file_size(bitmap_path_, ec) != done_.size()) return;
  std::vector<uint8_t> saved(done_.size());
  int bfd = fileio::open_or_throw(bitmap_path_, O_RDONLY);
  try {
    fileio::pread_all(bfd, saved.data(), saved.size(), 0, bitmap_path_);
  } catch (...) {
    ::close(bfd);
    return;
  }
  ::close(bfd);
  fileio::AlignedBytes buf(piece_length_);
  for (uint32_t i = 0; i < piece_count(); ++i) {
    if (!saved[i]) continue;
    uint32_t n = piece_size(i);
    io_->pread(buf.data(), n, static_cast<off_t>(uint64_t{i} * piece_length_), buf.size());
    if (Sha256::of(buf.data(), n).bytes() != hashes_[i]) continue;
    {
      std::lock_guard lock(mu_);
      done_[i] = 1;
      ++done_count_;
    }
    advance_frontier(i, buf.data());
  }
  std::lock_guard lock(mu_);
  save_bitmap_locked();
}

bool PartialBlob::write_piece(uint32_t index, const uint8_t* data, size_t size) {
  if (index >= piece_count() || size != piece_size(index)) return false;
  if (Sha256::of(data, size).bytes() != hashes_[index]) return false;
  {
    std::lock_guard region(region_mu(index));
    {
      std::lock_guard lock(mu_);
      if (retired_) return false;
      if (done_[index]) return true;
    }
    io_->pwrite(data, size, static_cast<off_t>(uint64_t{index} * piece_length_));
    std::lock_guard lock(mu_);
    mark_done_locked(index);
  }
  advance_frontier(index, data);
  return true;
}

uint64_t PartialBlob::begin_stream(uint32_t index) {
  std::lock_guard lock(mu_);
  if (index >= piece_count()) throw StoreError("partial blob: piece index out of range");
  stream_token_[index] = next_token_++;
  return stream_token_[index];
}

bool PartialBlob::write_block(uint32_t index, uint64_t token, uint32_t offset,
                              const uint8_t* data, size_t size) {
  if (index >= piece_count() || offset > piece_size(index) || size > piece_size(index) - offset) {
    return false;
  }
  std::lock_guard region(region_mu(index));
  {
    std::lock_guard lock(mu_);
    if (retired_ || done_[index] || stream_token_[index] != token) return false;
  }
  io_->pwrite(data, size, static_cast<off_t>(uint64_t{index} * piece_length_ + offset));
  return true;
}

PartialBlob::StreamResult PartialBlob::finish_stream(uint32_t index, uint64_t token,
                                                     const Digest& hash) {
  if (index >= piece_count()) return StreamResult::kStale;
  {
    std::lock_guard region(region_mu(index));
    std::lock_guard lock(mu_);
    if (retired_ || stream_token_[index] != token) return StreamResult::kStale;
    stream_token_[index] = 0;
    if (hash.bytes() != hashes_[index]) return StreamResult::kBadHash;
    if (done_[index]) return StreamResult::kVerified;  // written whole meanwhile
    mark_done_locked(index);
  }
  advance_frontier(index, nullptr);
  return StreamResult::kVerified;
}

// Outside mu_: a gap that closes may mean reading back hundreds of MiB, and lookups (has_piece)
// and other writers must not wait for that. A done piece's bytes no longer change.
void PartialBlob::advance_frontier(uint32_t index, const uint8_t* data) {
  if (!whole_blob_hash_) return;
  std::lock_guard frontier(frontier_mu_);
  if (index == frontier_ && data) {  // (a streamed piece is read back like any other)
    frontier_hash_.update(data, piece_size(index));
    ++frontier_;
  }
  read_back_to_frontier_locked();
}

// Pieces that arrived early are read back once the gap closes, into one reused buffer.
void PartialBlob::read_back_to_frontier_locked() {
  while (frontier_ < piece_count() && has_piece(frontier_)) {
    uint32_t n = piece_size(frontier_);
    if (readback_.size() < piece_length_) readback_.resize(piece_length_);
    io_->pread(readback_.data(), n, static_cast<off_t>(uint64_t{frontier_} * piece_length_),
               readback_.size());
    frontier_hash_.update(readback_.data(), n);
    ++frontier_;
  }
}

void PartialBlob::mark_done_locked(uint32_t index) {
  done_[index] = 1;
  ++done_count_;
  maybe_save_bitmap_locked();
}

// The bitmap is rewritten at most once a second (an open, a write and a rename each time: at
// hundreds of pieces a second that was a cost of its own), and when the blob is closed. A crash
// forgets at most the last second's pieces, which are fetched again.
void PartialBlob::maybe_save_bitmap_locked() {
  bitmap_dirty_ = true;
  auto now = std::chrono::steady_clock::now();
  if (now - last_bitmap_save_ < kBitmapSaveInterval) return;
  save_bitmap_locked();
}

void PartialBlob::save_bitmap_locked() {
  bitmap_dirty_ = false;
  last_bitmap_save_ = std::chrono::steady_clock::now();
  fs::path tmp = bitmap_path_.string() + ".tmp";
  int bfd = fileio::open_or_throw(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  try {
    fileio::write_all(bfd, done_.data(), done_.size(), tmp);
  } catch (...) {
    ::close(bfd);
    throw;
  }
  ::close(bfd);
  fs::rename(tmp, bitmap_path_);
}

bool PartialBlob::has_piece(uint32_t index) const {
  std::lock_guard lock(mu_);
  return index < done_.size() && done_[index];
}

uint32_t PartialBlob::pieces_done() const {
  std::lock_guard lock(mu_);
  return done_count_;
}

void PartialBlob::read(uint64_t offset, void* out, size_t size, size_t capacity) const {
  io_->pread(out, size, static_cast<off_t>(offset), capacity);
}

size_t PartialBlob::splice_to(int pipe_w, uint64_t offset, size_t size) const {
  return io_->splice_to_pipe(pipe_w, size, static_cast<off_t>(offset));
}

fs::path PartialBlob::commit() {
  std::lock_guard frontier(frontier_mu_);
  // A piece's writer may have marked it done and not yet advanced the frontier (another writer
  // of the same piece reported it verified first): catch up here.
  if (whole_blob_hash_) read_back_to_frontier_locked();
  std::lock_guard lock(mu_);
  if (finished_) throw StoreError("partial blob " + digest_.str() + ": already committed");
  if (done_count_ != piece_count()) {
    throw StoreError("partial blob " + digest_.str() + ": " +
                     std::to_string(piece_count() - done_count_) + " pieces missing");
  }
  // Move out of partial/ into tmp/ first so publish() renames within one directory tree.
  fs::path tmp = store_.tmp_dir() / (digest_.hex() + ".partial");
  fs::rename(path_, tmp);
  std::error_code ec;
  fs::remove(bitmap_path_, ec);
  finished_ = true;
  std::optional<Digest> actual;
  if (whole_blob_hash_) actual = frontier_hash_.finish();
  return store_.publish(digest_, tmp, fd_, actual);
}

void PartialBlob::retire() {
  {
    std::lock_guard lock(mu_);
    flush_bitmap_locked();  // so the retry resumes every piece verified here
    retired_ = true;
  }
  // A writer past its check holds its piece's region lock until its pwrite returns.
  for (auto& region : region_mu_) std::lock_guard wait(region);
}

void PartialBlob::discard() {
  std::lock_guard lock(mu_);
  std::error_code ec;
  fs::remove(path_, ec);
  fs::remove(bitmap_path_, ec);
  finished_ = true;
}

}  // namespace fanout
