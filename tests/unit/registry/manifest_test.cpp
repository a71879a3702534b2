// The manifest's canonical JSON: its bytes (and so the version's identity) depend only on the
// layers, never on the order they were listed in; anything non-canonical is refused.
#include "proto/manifest.h"

#include <gtest/gtest.h>

#include "common/digest/sha256.h"
#include "proto/proto_error.h"

namespace fanout::proto {
namespace {

ManifestLayer layer(const std::string& name, const std::string& bytes) {
  return {Sha256::of(bytes), bytes.size(), "application/octet-stream", name};
}

TEST(Manifest, EncodesSortedKeysAndLayersWithoutWhitespace) {
  Manifest m{{layer("weights/base.safetensors", "ww"), layer("config.json", "c")}};
  std::string expected =
      R"({"layers":[{"digest":")" + Sha256::of("c").str() +
      R"(","file_name":"config.json","media_type":"application/octet-stream","size":1},)" +
      R"({"digest":")" + Sha256::of("ww").str() +
      R"(","file_name":"weights/base.safetensors","media_type":"application/octet-stream",)" +
      R"("size":2}],"media_type":"application/vnd.fanout.manifest.v1+json","schema_version":1})";
  EXPECT_EQ(m.encode(), expected);
  EXPECT_EQ(m.digest(), Sha256::of(expected));
  EXPECT_EQ(m.total_size(), 3u);
}

TEST(Manifest, TheDigestDoesNotDependOnLayerOrder) {
  Manifest a{{layer("a", "1"), layer("b", "2")}};
  Manifest b{{layer("b", "2"), layer("a", "1")}};
  EXPECT_EQ(a.digest(), b.digest());
}

TEST(Manifest, DecodeRoundTrips) {
  Manifest m{{layer("b", "2"), layer("a", "1")}};
  Manifest back = Manifest::decode(m.encode());
  ASSERT_EQ(back.layers.size(), 2u);
  EXPECT_EQ(back.layers[0].file_name, "a");
  EXPECT_EQ(back.encode(), m.encode());
}

TEST(Manifest, DecodeRefusesNonCanonicalOrInvalidInput) {
  std::string good = Manifest{{layer("a", "1")}}.encode();
  std::string spaced = good;
  spaced.insert(1, " ");
  EXPECT_THROW(Manifest::decode(spaced), ProtoError);
  EXPECT_THROW(Manifest::decode("not json"), ProtoError);
  EXPECT_THROW(Manifest::decode("[]"), ProtoError);
  std::string bad_digest = good;
  bad_digest.replace(bad_digest.find("sha256:"), 7, "sha512:");
  EXPECT_THROW(Manifest::decode(bad_digest), ProtoError);
  std::string extra = good;
  extra.insert(extra.size() - 1, R"(,"zzz":1)");
  EXPECT_THROW(Manifest::decode(extra), ProtoError);
}

TEST(Manifest, RefusesUnsafeOrDuplicateFileNames) {
  EXPECT_THROW((Manifest{{layer("../x", "1")}}.encode()), ProtoError);
  EXPECT_THROW((Manifest{{layer("/abs", "1")}}.encode()), ProtoError);
  EXPECT_THROW((Manifest{{layer("a//b", "1")}}.encode()), ProtoError);
  EXPECT_THROW((Manifest{{layer("a", "1"), layer("a", "2")}}.encode()), ProtoError);
}

}  // namespace
}  // namespace fanout::proto
