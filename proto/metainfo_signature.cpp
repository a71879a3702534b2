#include "proto/metainfo_signature.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "common/store/file_io.h"

namespace fanout::proto {
namespace {

constexpr size_t kSignatureSize = 64;          // Ed25519
constexpr size_t kEncodedSignatureSize = 88;   // its base64, padded
constexpr size_t kMaxKeyFileSize = 64u << 10;  // a PEM key is a few hundred bytes

using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

std::shared_ptr<EVP_PKEY> own(EVP_PKEY* key) {
  return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free);
}

// OpenSSL's reason for the last failure, and an empty error queue for the next call.
std::string openssl_error() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  return text;
}

std::string read_key_file(const std::filesystem::path& path) {
  const std::string name = path.string();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw MetainfoKeyError(name + ": cannot read: " + std::strerror(errno));
  std::string text(kMaxKeyFileSize + 1, '\0');
  size_t got = 0;
  for (;;) {
    ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      throw MetainfoKeyError(name + ": cannot read: " + std::strerror(err));
    }
    if (n == 0 || (got += size_t(n)) == text.size()) break;
  }
  ::close(fd);
  if (got > kMaxKeyFileSize) throw MetainfoKeyError(name + ": larger than 64 KiB, not a key file");
  text.resize(got);
  return text;
}

// Refuses passphrase prompts: a daemon has nobody to ask.
int no_passphrase(char*, int, int, void*) {
  return -1;
}

void check_ed25519(EVP_PKEY* key, const std::string& name) {
  if (EVP_PKEY_get_id(key) == EVP_PKEY_ED25519) return;
  const char* type = EVP_PKEY_get0_type_name(key);
  throw MetainfoKeyError(name + ": a " + (type ? type : "non-Ed25519") +
                         " key, not Ed25519 (make one with: fanoutctl keygen, or openssl genpkey "
                         "-algorithm ed25519)");
}

std::string to_pem(EVP_PKEY* key, bool private_half) {
  Bio bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio) throw MetainfoKeyError("cannot encode key: " + openssl_error());
  int ok = private_half
               ? PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)
               : PEM_write_bio_PUBKEY(bio.get(), key);
  if (ok != 1) throw MetainfoKeyError("cannot encode key: " + openssl_error());
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, size_t(size));
}

std::string signed_bytes(std::string_view encoded) {
  std::string message;
  message.reserve(kMetainfoSignatureDomain.size() + encoded.size());
  message.append(kMetainfoSignatureDomain).append(encoded);
  return message;
}

// The 64 signature bytes of a header value; false unless it is exactly their padded base64.
bool decode_signature(std::string_view text, unsigned char (&out)[kSignatureSize]) {
  if (text.size() != kEncodedSignatureSize) return false;
  unsigned char raw[kEncodedSignatureSize / 4 * 3];
  if (EVP_DecodeBlock(raw, reinterpret_cast<const unsigned char*>(text.data()), int(text.size())) !=
      int(sizeof(raw))) {
    return false;
  }
  std::memcpy(out, raw, kSignatureSize);
  // EVP_DecodeBlock forgives stray whitespace and padding; only the canonical form is accepted.
  unsigned char again[kEncodedSignatureSize + 1];
  EVP_EncodeBlock(again, out, int(kSignatureSize));
  return std::memcmp(again, text.data(), kEncodedSignatureSize) == 0;
}

void write_new_file(const std::filesystem::path& path, const std::string& bytes, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) throw MetainfoKeyError(path.string() + ": cannot create: " + std::strerror(errno));
  try {
    fileio::write_all(fd, bytes.data(), bytes.size(), path);
    fileio::fsync_or_throw(fd, path);
  } catch (const std::system_error& e) {
    ::close(fd);
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
    throw MetainfoKeyError(e.what());
  }
  ::close(fd);
}

}  // namespace

MetainfoSigner MetainfoSigner::load(const std::filesystem::path& private_key_pem) {
  const std::string name = private_key_pem.string();
  const std::string text = read_key_file(private_key_pem);
  if (text.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string::npos) {
    throw MetainfoKeyError(name + ": an encrypted private key; give an unencrypted one");
  }
  if (text.find("PRIVATE KEY-----") == std::string::npos &&
      text.find("-----BEGIN PUBLIC KEY-----") != std::string::npos) {
    throw MetainfoKeyError(name + ": a public key; signing needs the private key");
  }
  ERR_clear_error();
  Bio bio(BIO_new_mem_buf(text.data(), int(text.size())), BIO_free);
  EVP_PKEY* key =
      bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr) : nullptr;
  if (!key) throw MetainfoKeyError(name + ": not a PEM private key (" + openssl_error() + ")");
  auto owned = own(key);
  check_ed25519(key, name);
  return MetainfoSigner(std::move(owned));
}

MetainfoSigner MetainfoSigner::generate() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (!key) throw MetainfoKeyError("cannot generate an Ed25519 key: " + openssl_error());
  return MetainfoSigner(own(key));
}

std::string MetainfoSigner::sign(std::string_view encoded) const {
  const std::string message = signed_bytes(encoded);
  MdCtx ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned char signature[kSignatureSize];
  size_t length = sizeof(signature);
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), signature, &length,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
      length != kSignatureSize) {
    throw MetainfoKeyError("cannot sign metainfo: " + openssl_error());
  }
  unsigned char text[kEncodedSignatureSize + 1];
  EVP_EncodeBlock(text, signature, int(kSignatureSize));
  return std::string(reinterpret_cast<const char*>(text), kEncodedSignatureSize);
}

std::string MetainfoSigner::private_pem() const {
  return to_pem(key_.get(), true);
}

std::string MetainfoSigner::public_pem() const {
  return to_pem(key_.get(), false);
}

void write_metainfo_key_pair(const std::filesystem::path& private_key_pem,
                             const std::filesystem::path& public_key_pem) {
  std::error_code ec;
  for (const auto& path : {private_key_pem, public_key_pem}) {
    if (std::filesystem::exists(std::filesystem::symlink_status(path, ec))) {
      throw MetainfoKeyError(path.string() + ": already exists; not overwriting a key");
    }
  }
  if (std::filesystem::weakly_canonical(private_key_pem, ec) ==
      std::filesystem::weakly_canonical(public_key_pem, ec)) {
    throw MetainfoKeyError(private_key_pem.string() +
                           ": the private and public key need two files");
  }
  MetainfoSigner signer = MetainfoSigner::generate();
  write_new_file(private_key_pem, signer.private_pem(), 0600);
  try {
    write_new_file(public_key_pem, signer.public_pem(), 0644);
  } catch (...) {
    std::filesystem::remove(private_key_pem, ec);  // a pair or nothing
    throw;
  }
}

MetainfoVerifier MetainfoVerifier::load(const std::vector<std::filesystem::path>& public_key_pems) {
  MetainfoVerifier verifier;
  for (const auto& path : public_key_pems) {
    const std::string name = path.string();
    const std::string text = read_key_file(path);
    // A private key on every node would let any node sign metainfo: refuse it outright.
    if (text.find("PRIVATE KEY-----") != std::string::npos) {
      throw MetainfoKeyError(name +
                             ": a private key; agents take only the public key (openssl pkey "
                             "-in KEY -pubout, or fanoutctl keygen --out-public)");
    }
    ERR_clear_error();
    Bio bio(BIO_new_mem_buf(text.data(), int(text.size())), BIO_free);
    EVP_PKEY* key = bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr) : nullptr;
    if (!key) throw MetainfoKeyError(name + ": not a PEM public key (" + openssl_error() + ")");
    auto owned = own(key);
    check_ed25519(key, name);
    verifier.keys_.push_back(std::move(owned));
  }
  return verifier;
}

MetainfoVerifier MetainfoVerifier::of(const MetainfoSigner& signer) {
  MetainfoVerifier verifier;
  verifier.keys_.push_back(signer.key_);
  return verifier;
}

MetainfoVerifier::Verdict MetainfoVerifier::check(std::string_view encoded,
                                                  std::string_view signature) const {
  if (signature.empty()) return Verdict::kMissing;
  unsigned char raw[kSignatureSize];
  if (!decode_signature(signature, raw)) return Verdict::kMalformed;
  const std::string message = signed_bytes(encoded);
  for (const auto& key : keys_) {
    MdCtx ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1 &&
        EVP_DigestVerify(ctx.get(), raw, sizeof(raw),
                         reinterpret_cast<const unsigned char*>(message.data()),
                         message.size()) == 1) {
      return Verdict::kValid;
    }
    ERR_clear_error();
  }
  return Verdict::kBadSignature;
}

const char* describe(MetainfoVerifier::Verdict verdict) {
  switch (verdict) {
    case MetainfoVerifier::Verdict::kValid:
      return "valid";
    case MetainfoVerifier::Verdict::kMissing:
      return "missing (the origin did not sign it)";
    case MetainfoVerifier::Verdict::kMalformed:
      return "malformed (not base64 of a 64-byte Ed25519 signature)";
    case MetainfoVerifier::Verdict::kBadSignature:
      return "invalid (no configured key verifies it over these bytes)";
  }
  return "unknown";
}

}  // namespace fanout::proto
