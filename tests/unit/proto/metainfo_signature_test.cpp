#include "proto/metainfo_signature.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tests/support/temp_dir.h"

namespace fanout::proto {
namespace {

using ::testing::HasSubstr;
using Verdict = MetainfoVerifier::Verdict;

Metainfo metainfo_of(const std::string& bytes) {
  MetainfoBuilder builder(bytes.size());
  builder.update(bytes.data(), bytes.size());
  return builder.finish();
}

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// The MetainfoKeyError message of `f`, or a failed expectation.
template <typename F>
std::string key_error_of(F f) {
  try {
    f();
  } catch (const MetainfoKeyError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no MetainfoKeyError thrown";
  return "";
}

std::string pem_of(EVP_PKEY* key, bool private_half) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (private_half) {
    PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  } else {
    PEM_write_bio_PUBKEY(bio, key);
  }
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, size_t(size));
  BIO_free(bio);
  return pem;
}

// A P-256 key pair as PEM: a well-formed key of the wrong algorithm.
std::pair<std::string, std::string> ec_key_pems() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  EXPECT_NE(key, nullptr);
  auto pems = std::pair{pem_of(key, true), pem_of(key, false)};
  EVP_PKEY_free(key);
  return pems;
}

class MetainfoSignatureTest : public ::testing::Test {
 protected:
  Metainfo info_ = metainfo_of(std::string(5u << 20, 'q') + "tail");
  std::string encoded_ = info_.encode();
  MetainfoSigner signer_ = MetainfoSigner::generate();
  MetainfoVerifier verifier_ = MetainfoVerifier::of(signer_);
};

TEST_F(MetainfoSignatureTest, ASignatureOfTheServedBytesVerifies) {
  std::string signature = signer_.sign(encoded_);
  EXPECT_EQ(signature.size(), 88u);  // base64 of 64 bytes
  EXPECT_EQ(signature, signer_.sign(info_)) << "Ed25519 is deterministic";
  EXPECT_EQ(verifier_.check(encoded_, signature), Verdict::kValid);
  EXPECT_EQ(verifier_.check({info_, signature}), Verdict::kValid);
}

TEST_F(MetainfoSignatureTest, AnyChangedMetainfoByteFails) {
  std::string signature = signer_.sign(encoded_);
  for (size_t at : {size_t{0}, encoded_.size() / 2, encoded_.size() - 2}) {
    std::string tampered = encoded_;
    tampered[at] ^= 0x01;
    EXPECT_EQ(verifier_.check(tampered, signature), Verdict::kBadSignature) << "byte " << at;
  }
  Metainfo other = metainfo_of("other bytes");
  EXPECT_EQ(verifier_.check(other.encode(), signature), Verdict::kBadSignature);
}

TEST_F(MetainfoSignatureTest, AnotherKeysSignatureFailsUnlessThatKeyIsListedToo) {
  MetainfoSigner other = MetainfoSigner::generate();
  std::string signature = other.sign(encoded_);
  EXPECT_EQ(verifier_.check(encoded_, signature), Verdict::kBadSignature);

  // Key rotation: agents list the old and the new public key.
  auto dir = test::TempDir("fanout-sig-");
  write(dir / "old.pub", signer_.public_pem());
  write(dir / "new.pub", other.public_pem());
  MetainfoVerifier both = MetainfoVerifier::load({dir / "old.pub", dir / "new.pub"});
  EXPECT_EQ(both.key_count(), 2u);
  EXPECT_EQ(both.check(encoded_, signature), Verdict::kValid);
  EXPECT_EQ(both.check(encoded_, signer_.sign(encoded_)), Verdict::kValid);
}

TEST_F(MetainfoSignatureTest, MissingTruncatedOrNonCanonicalSignaturesAreTold) {
  std::string signature = signer_.sign(encoded_);
  EXPECT_EQ(verifier_.check(encoded_, ""), Verdict::kMissing);
  EXPECT_EQ(verifier_.check(encoded_, signature.substr(0, 87)), Verdict::kMalformed);
  EXPECT_EQ(verifier_.check(encoded_, signature.substr(0, 44)), Verdict::kMalformed);
  EXPECT_EQ(verifier_.check(encoded_, signature + "A"), Verdict::kMalformed);
  EXPECT_EQ(verifier_.check(encoded_, " " + signature.substr(1)), Verdict::kMalformed);
  std::string not_base64 = signature;
  not_base64[10] = '*';
  EXPECT_EQ(verifier_.check(encoded_, not_base64), Verdict::kMalformed);
  // Well formed but a bit flipped: a wrong signature, not a malformed one.
  std::string flipped = signature;
  flipped[0] = flipped[0] == 'A' ? 'B' : 'A';
  EXPECT_EQ(verifier_.check(encoded_, flipped), Verdict::kBadSignature);
}

// The domain prefix is part of what is signed: a plain Ed25519 signature of the same bytes by
// the same key (made for some other purpose) is not a metainfo signature.
TEST_F(MetainfoSignatureTest, ASignatureWithoutTheDomainPrefixFails) {
  std::string pem = signer_.private_pem();
  BIO* bio = BIO_new_mem_buf(pem.data(), int(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  ASSERT_NE(key, nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned char raw[64];
  size_t length = sizeof(raw);
  ASSERT_EQ(EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key), 1);
  ASSERT_EQ(
      EVP_DigestSign(ctx, raw, &length, reinterpret_cast<const unsigned char*>(encoded_.data()),
                     encoded_.size()),
      1);
  unsigned char text[89];
  EVP_EncodeBlock(text, raw, 64);
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  BIO_free(bio);
  EXPECT_EQ(verifier_.check(encoded_, reinterpret_cast<const char*>(text)), Verdict::kBadSignature);
}

TEST(MetainfoKeyFiles, KeyPairWrittenByKeygenLoadsAndRefusesToOverwrite) {
  auto dir = test::TempDir("fanout-sig-");
  write_metainfo_key_pair(dir / "origin.key", dir / "origin.pub");
  struct stat st {};
  ASSERT_EQ(::stat((dir / "origin.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the private key is for the origin's eyes only";
  EXPECT_THAT(read(dir / "origin.key"), HasSubstr("-----BEGIN PRIVATE KEY-----"));
  EXPECT_THAT(read(dir / "origin.pub"), HasSubstr("-----BEGIN PUBLIC KEY-----"));

  MetainfoSigner signer = MetainfoSigner::load(dir / "origin.key");
  MetainfoVerifier verifier = MetainfoVerifier::load({dir / "origin.pub"});
  Metainfo info = metainfo_of("some blob");
  EXPECT_EQ(verifier.check({info, signer.sign(info)}), Verdict::kValid);

  const std::string before = read(dir / "origin.key");
  EXPECT_THAT(key_error_of([&] { write_metainfo_key_pair(dir / "origin.key", dir / "b.pub"); }),
              HasSubstr("origin.key: already exists"));
  EXPECT_THAT(key_error_of([&] { write_metainfo_key_pair(dir / "a.key", dir / "origin.pub"); }),
              HasSubstr("origin.pub: already exists"));
  EXPECT_EQ(read(dir / "origin.key"), before);
  EXPECT_FALSE(std::filesystem::exists(dir / "a.key")) << "nothing half-written";
  EXPECT_FALSE(std::filesystem::exists(dir / "b.pub"));
}

TEST(MetainfoKeyFiles, UnusableKeyFilesAreNamedWithTheirProblem) {
  auto dir = test::TempDir("fanout-sig-");
  auto [ec_private, ec_public] = ec_key_pems();
  write(dir / "ec.key", ec_private);
  write(dir / "ec.pub", ec_public);
  write(dir / "garbage.pem",
        "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5IGF0IGFsbA==\n-----END PUBLIC KEY-----\n");
  write(dir / "garbage.key",
        "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbA==\n-----END PRIVATE KEY-----\n");
  write(dir / "text.txt", "hello\n");
  MetainfoSigner signer = MetainfoSigner::generate();
  write(dir / "ed.key", signer.private_pem());
  write(dir / "ed.pub", signer.public_pem());

  auto public_error = [&](const char* name) {
    return key_error_of([&] { MetainfoVerifier::load({dir / "ed.pub", dir / name}); });
  };
  auto private_error = [&](const char* name) {
    return key_error_of([&] { MetainfoSigner::load(dir / name); });
  };
  EXPECT_THAT(public_error("ec.pub"),
              HasSubstr((dir / "ec.pub").string() + ": a EC key, not Ed25519"));
  EXPECT_THAT(private_error("ec.key"),
              HasSubstr((dir / "ec.key").string() + ": a EC key, not Ed25519"));
  EXPECT_THAT(public_error("garbage.pem"),
              HasSubstr((dir / "garbage.pem").string() + ": not a PEM public key"));
  EXPECT_THAT(private_error("garbage.key"),
              HasSubstr((dir / "garbage.key").string() + ": not a PEM private key"));
  EXPECT_THAT(public_error("text.txt"), HasSubstr("text.txt: not a PEM public key"));
  EXPECT_THAT(public_error("missing.pub"),
              HasSubstr((dir / "missing.pub").string() + ": cannot read: No such file"));
  EXPECT_THAT(private_error("missing.key"), HasSubstr("missing.key: cannot read"));
  // The halves swapped: a private key is never accepted where only the public one belongs.
  EXPECT_THAT(public_error("ed.key"), HasSubstr("ed.key: a private key; agents take only"));
  EXPECT_THAT(private_error("ed.pub"), HasSubstr("ed.pub: a public key; signing needs"));
}

// Keys made with the openssl CLI, as the README documents, load and interoperate.
TEST(MetainfoKeyFiles, KeysFromTheOpensslCliWork) {
  if (std::system("openssl version >/dev/null 2>&1") != 0) GTEST_SKIP() << "no openssl CLI";
  auto dir = test::TempDir("fanout-sig-");
  std::string key = (dir / "origin.key").string(), pub = (dir / "origin.pub").string();
  ASSERT_EQ(
      std::system(("openssl genpkey -algorithm ed25519 -out " + key + " 2>/dev/null").c_str()), 0);
  ASSERT_EQ(
      std::system(("openssl pkey -in " + key + " -pubout -out " + pub + " 2>/dev/null").c_str()),
      0);
  MetainfoSigner signer = MetainfoSigner::load(key);
  MetainfoVerifier verifier = MetainfoVerifier::load({pub});
  Metainfo info = metainfo_of("made by openssl");
  EXPECT_EQ(verifier.check({info, signer.sign(info)}), Verdict::kValid);
  EXPECT_EQ(MetainfoVerifier::of(MetainfoSigner::generate()).check({info, signer.sign(info)}),
            Verdict::kBadSignature);
}

}  // namespace
}  // namespace fanout::proto
