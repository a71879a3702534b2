#pragma once
// One piece received from one peer and written to the partial file block by block as the blocks
// arrive, hashed on the way; the piece is marked done when the last block is in and the hash of
// what was written matches (PartialBlob::finish_stream).
//
// Why not a buffer per piece: every piece in flight then held a fresh 4 MiB buffer, and with
// the verified pieces kept in memory a cold agent touched ~120 MiB of new pages for a 256 MiB
// blob. Zeroing those pages was a third of the CPU of the 50-agent benchmark (bench/README.md);
// streamed, a piece holds a block only until it is written.
//
// Created and fed on the blob's strand; hashing and writes run in order on a strand of the disk
// pool, so pieces still hash in parallel with each other.
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/digest/sha256.h"
#include "common/store/partial_blob.h"
#include "common/swarm/buffer.h"

namespace fanout::swarm {

class PieceStream : public std::enable_shared_from_this<PieceStream> {
 public:
  // Ends with ok (verified and marked done), a bad hash (the peer sent wrong bytes), or an
  // error (the disk).
  struct Outcome {
    bool ok = false;
    bool bad_hash = false;
    std::string error;
  };

  PieceStream(boost::asio::thread_pool& disk, std::shared_ptr<PartialBlob> partial, uint32_t piece,
              uint32_t block_size);

  // Block `block` of the piece arrived. Blocks are written and hashed in order: one that comes
  // early waits in memory for those before it.
  void add(uint32_t block, BufferPtr data);
  // Every block was added: `done` runs on the disk pool with the outcome.
  void finish(std::function<void(Outcome)> done);
  // The piece is no longer wanted from this peer: blocks not yet written are dropped.
  void abandon() { abandoned_ = true; }

 private:
  boost::asio::strand<boost::asio::thread_pool::executor_type> disk_;
  std::shared_ptr<PartialBlob> partial_;
  uint32_t piece_;
  uint32_t block_size_;
  uint64_t token_;
  std::atomic<bool> abandoned_{false};
  // Blob strand only.
  uint32_t next_block_ = 0;
  std::map<uint32_t, BufferPtr> early_;
  // Disk strand only.
  Sha256 hash_;
  std::string error_;
};

}  // namespace fanout::swarm
