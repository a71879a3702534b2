#include "common/swarm/pipe_pool.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <vector>

namespace fanout::swarm {
namespace {

size_t bytes_in(const Pipe& p) {
  int n = -1;
  if (::ioctl(p.read_fd, FIONREAD, &n) != 0) return SIZE_MAX;
  return static_cast<size_t>(n);
}

TEST(PipePoolTest, EmptyPipesAreReusedAndPipesStillHoldingBytesAreClosed) {
  std::vector<PipePtr> others;  // whatever earlier tests left idle, so the counts below are ours
  while (pooled_pipes() > 0) others.push_back(acquire_pipe());

  PipePtr a = acquire_pipe();
  ASSERT_TRUE(a);
  EXPECT_GE(a->capacity, size_t{256} << 10) << "a pipe too small to carry a block is no use";
  EXPECT_EQ(bytes_in(*a), 0u);
  int reused_fd = a->read_fd;
  a.reset();
  EXPECT_EQ(pooled_pipes(), 1u);

  PipePtr b = acquire_pipe();
  EXPECT_EQ(b->read_fd, reused_fd) << "the empty pipe was not reused";
  EXPECT_EQ(pooled_pipes(), 0u);
  // Its connection went away mid-block: the bytes left in it must never reach another peer.
  ASSERT_EQ(::write(b->write_fd, "abc", 3), 3);
  b->held = 3;
  b.reset();
  EXPECT_EQ(pooled_pipes(), 0u);
  PipePtr c = acquire_pipe();
  ASSERT_TRUE(c);
  EXPECT_EQ(bytes_in(*c), 0u);
}

}  // namespace
}  // namespace fanout::swarm
