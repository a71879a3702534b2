#pragma once
// Waiting in a test for something another thread or process brings about, with a deadline, so
// a test that would hang fails instead.
#include <chrono>
#include <thread>

namespace fanout::test {

// Polls `pred` every `every` until it holds or `limit` has passed; returns its last answer.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(20),
                std::chrono::milliseconds every = std::chrono::milliseconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(every);
  }
  return pred();
}

}  // namespace fanout::test
