#include "common/swarm/buffer.h"

#include <gtest/gtest.h>

namespace fanout::swarm {
namespace {

TEST(BufferPoolTest, BuffersArePageAlignedWithRoomForWholePages) {
  auto b = acquire_buffer(1000);
  EXPECT_EQ(b->size(), 1000u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b->data()) % fileio::kPageAlign, 0u);
  EXPECT_GE(b->capacity(), fileio::kPageAlign);
  auto piece = acquire_buffer((4u << 20) + 1);
  EXPECT_EQ(piece->capacity() % fileio::kPageAlign, 0u);
  EXPECT_GE(piece->capacity(), (4u << 20) + 1);
}

TEST(BufferPoolTest, AReleasedBufferIsReusedInsteadOfNewMemory) {
  // A size no other test in this binary uses, so the pool's idle list is ours.
  const size_t size = (3u << 20) + 12345;
  uint8_t* first;
  {
    auto b = acquire_buffer(size);
    first = b->data();
    (*b)[0] = 42;
  }
  size_t idle = pooled_buffer_bytes();
  EXPECT_GE(idle, size);
  auto again = acquire_buffer(size);
  EXPECT_EQ(again->data(), first);  // the same pages: no fresh page faults
  EXPECT_EQ(again->size(), size);
  EXPECT_EQ(pooled_buffer_bytes(), idle - again->capacity());
  // A smaller request may take a larger idle buffer; it still reports its own size.
  again.reset();
  auto smaller = acquire_buffer(size - 5000);
  EXPECT_EQ(smaller->data(), first);
  EXPECT_EQ(smaller->size(), size - 5000);
}

TEST(BufferPoolTest, BuffersHeldAtOnceAreDistinct) {
  auto a = acquire_buffer(1u << 20);
  auto b = acquire_buffer(1u << 20);
  EXPECT_NE(a->data(), b->data());
}

}  // namespace
}  // namespace fanout::swarm
