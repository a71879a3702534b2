#include "common/swarm/piece_stream.h"

#include <boost/asio/post.hpp>

namespace fanout::swarm {

PieceStream::PieceStream(boost::asio::thread_pool& disk, std::shared_ptr<PartialBlob> partial,
                         uint32_t piece, uint32_t block_size)
    : disk_(boost::asio::make_strand(disk.get_executor())),
      partial_(std::move(partial)),
      piece_(piece),
      block_size_(block_size),
      token_(partial_->begin_stream(piece)) {}

void PieceStream::add(uint32_t block, BufferPtr data) {
  early_.emplace(block, std::move(data));
  // Hand over every block whose predecessors are all handed over.
  for (auto it = early_.begin(); it != early_.end() && it->first == next_block_;
       it = early_.erase(it), ++next_block_) {
    boost::asio::post(disk_, [self = shared_from_this(), block = it->first, data = it->second] {
      if (self->abandoned_ || !self->error_.empty()) return;
      self->hash_.update(data->data(), data->size());
      try {
        self->partial_->write_block(self->piece_, self->token_, block * self->block_size_,
                                    data->data(), data->size());
      } catch (const std::exception& e) {
        self->error_ = e.what();
      }
    });
  }
}

void PieceStream::finish(std::function<void(Outcome)> done) {
  boost::asio::post(disk_, [self = shared_from_this(), done = std::move(done)] {
    Outcome outcome;
    outcome.error = self->error_;
    if (outcome.error.empty()) {
      try {
        switch (self->partial_->finish_stream(self->piece_, self->token_, self->hash_.finish())) {
          case PartialBlob::StreamResult::kVerified:
            outcome.ok = true;
            break;
          case PartialBlob::StreamResult::kBadHash:
            outcome.bad_hash = true;
            break;
          case PartialBlob::StreamResult::kStale:
            break;  // another writer took the piece over: neither good nor bad
        }
      } catch (const std::exception& e) {
        outcome.error = e.what();
      }
    }
    done(std::move(outcome));
  });
}

}  // namespace fanout::swarm
