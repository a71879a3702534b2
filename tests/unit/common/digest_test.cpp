#include "common/digest/digest.h"

#include <gtest/gtest.h>

#include "common/digest/sha256.h"

namespace fanout {
namespace {

const std::string kEmpty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST(DigestTest, ParsesTheCanonicalForm) {
  Digest d = Digest::parse(kEmpty);
  EXPECT_EQ(d.str(), kEmpty);
  EXPECT_EQ(d.hex(), kEmpty.substr(7));
  EXPECT_EQ(d.info_hash().size(), 20u);
  EXPECT_EQ(d, Sha256::of(""));
}

TEST(DigestTest, RejectsEveryOtherSpelling) {
  for (std::string bad : {std::string(""), std::string("sha256:"), kEmpty.substr(7),
                          "SHA256:" + kEmpty.substr(7), "md5:" + kEmpty.substr(7),
                          kEmpty.substr(0, 70), kEmpty + "0", "sha256:" + std::string(64, 'E'),
                          "sha256:" + std::string(63, 'a') + "g", std::string("sha256:../../etc/passwd")}) {
    EXPECT_THROW(Digest::parse(bad), DigestError) << bad;
    Digest out;
    EXPECT_FALSE(Digest::try_parse(bad, out)) << bad;
  }
}

TEST(Sha256Test, StreamingEqualsOneShot) {
  Sha256 h;
  h.update("hello ");
  h.update("world");
  EXPECT_EQ(h.finish(), Sha256::of("hello world"));
  h.update("again");
  EXPECT_EQ(h.finish(), Sha256::of("again")) << "finish() resets the hash";
}

}  // namespace
}  // namespace fanout
