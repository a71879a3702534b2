#include "common/store/page_memory.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fanout::fileio {
namespace {

bool page_aligned(const void* p) { return reinterpret_cast<uintptr_t>(p) % 4096 == 0; }

// Whether `p` lies in a mapping of this process at all.
bool mapped(const void* p) {
  unsigned char v;
  return ::mincore(const_cast<void*>(p), 4096, &v) == 0;
}

// The "THPeligible" line of the mapping that holds `p` (/proc/self/smaps), or -1.
int thp_eligible(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  auto at = reinterpret_cast<uintptr_t>(p);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    uintptr_t lo, hi;
    char dash;
    std::istringstream range(line);
    if (line.find(':') > line.find(' ') && (range >> std::hex >> lo >> dash >> hi) && dash == '-') {
      inside = lo <= at && at < hi;
    } else if (inside && line.rfind("THPeligible:", 0) == 0) {
      return std::stoi(line.substr(12));
    }
  }
  return -1;
}

std::string thp_mode() {
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string s;
  std::getline(f, s);
  return s;
}

TEST(PageMemoryTest, EverySizeIsPageAlignedWritableAndItsOwn) {
  std::vector<std::pair<void*, size_t>> got;
  for (size_t size : {size_t{1}, size_t{4096}, size_t{100000}, size_t{256} << 10,
                      (size_t{256} << 10) + 1, size_t{1} << 20, (size_t{1} << 20) + 1,
                      size_t{3} << 20, size_t{1} << 20}) {
    void* p = allocate_pages(size);
    ASSERT_TRUE(page_aligned(p)) << size;
    std::memset(p, static_cast<int>(got.size() + 1), size);
    got.emplace_back(p, size);
  }
  for (size_t i = 0; i < got.size(); ++i) {  // no allocation overwrote another
    auto* bytes = static_cast<unsigned char*>(got[i].first);
    EXPECT_EQ(bytes[0], i + 1);
    EXPECT_EQ(bytes[got[i].second - 1], i + 1);
  }
  for (auto [p, size] : got) free_pages(p, size);
}

TEST(PageMemoryTest, SlotsAreReusedAndLargeMappingsAreGivenBack) {
  void* slot = allocate_pages(1 << 20);
  free_pages(slot, 1 << 20);
  void* again = allocate_pages((1 << 20) - 4096);  // same class: 1 MiB
  EXPECT_EQ(again, slot) << "a freed slot is the next one of its size";
  free_pages(again, (1 << 20) - 4096);

  void* large = allocate_pages(5 << 20);
  ASSERT_TRUE(mapped(large));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(large) % kHugePage, 0u);
  free_pages(large, 5 << 20);
  EXPECT_FALSE(mapped(large)) << "a mapping of its own is unmapped when freed";
}

TEST(PageMemoryTest, BuffersFromAQuarterMiBUpMayBeHugePages) {
  if (thp_mode().find("[never]") != std::string::npos) {
    GTEST_SKIP() << "transparent huge pages are off on this machine";
  }
  for (size_t size : {size_t{256} << 10, size_t{1} << 20, size_t{6} << 20}) {
    void* p = allocate_pages(size);
    EXPECT_EQ(thp_eligible(p), 1) << size << " bytes: not in a huge-page mapping";
    free_pages(p, size);
  }
}

}  // namespace
}  // namespace fanout::fileio
