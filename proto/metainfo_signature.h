#pragma once
// Origin-signed metainfo. An origin that hashed a blob's bytes signs the canonical metainfo it
// built from them (Ed25519 over kMetainfoSignatureDomain + Metainfo::encode()) and sends the
// signature in the X-Fanout-Metainfo-Signature header; the tracker passes it on; an agent holding
// the origins' public keys then knows the piece hashes belong to the digest and can publish a
// blob on its verified pieces alone, without hashing the whole blob a second time.
// Keys are standard PEM files (openssl genpkey -algorithm ed25519; openssl pkey -pubout).
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "proto/metainfo.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace fanout::proto {

// The HTTP response header of GET /v1/blobs/{digest}/metainfo (origin) and
// GET /v1/metainfo/{digest} (tracker): base64 of the 64-byte Ed25519 signature.
inline constexpr char kMetainfoSignatureHeader[] = "X-Fanout-Metainfo-Signature";
// Prefixed to the metainfo bytes before signing, so a fanout metainfo key signs nothing else
// (and nothing else's signature verifies as metainfo).
inline constexpr std::string_view kMetainfoSignatureDomain = "fanout metainfo v1\n";

// A key file cannot be used; the message names the file and the problem.
class MetainfoKeyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Metainfo as it travels from an origin to an agent. signature: the header value; empty when the
// origin did not sign.
struct MetainfoWithSignature {
  Metainfo metainfo;
  std::string signature;
};

// An Ed25519 private key that signs metainfo (origins).
class MetainfoSigner {
 public:
  // Reads a PEM private key (PKCS#8, as openssl genpkey writes it); throws MetainfoKeyError
  // naming the file when it is unreadable, not PEM, encrypted or not Ed25519.
  static MetainfoSigner load(const std::filesystem::path& private_key_pem);
  // A fresh random key.
  static MetainfoSigner generate();

  // The header value for `encoded` (the canonical metainfo bytes, as served).
  std::string sign(std::string_view encoded) const;
  std::string sign(const Metainfo& info) const { return sign(info.encode()); }

  std::string private_pem() const;
  std::string public_pem() const;

 private:
  friend class MetainfoVerifier;
  explicit MetainfoSigner(std::shared_ptr<EVP_PKEY> key) : key_(std::move(key)) {}
  std::shared_ptr<EVP_PKEY> key_;
};

// Writes a fresh key pair: the private key (mode 0600) and its public key, both PEM. Refuses,
// writing nothing, when either file already exists; throws MetainfoKeyError naming the file.
void write_metainfo_key_pair(const std::filesystem::path& private_key_pem,
                             const std::filesystem::path& public_key_pem);

// The public keys an agent accepts metainfo signatures from (several, for key rotation).
class MetainfoVerifier {
 public:
  enum class Verdict {
    kValid,         // verifies under one of the keys
    kMissing,       // no signature
    kMalformed,     // not base64 of 64 bytes
    kBadSignature,  // well formed, but no key verifies it over these bytes
  };

  MetainfoVerifier() = default;  // no keys
  // Reads PEM public keys (SubjectPublicKeyInfo, as openssl pkey -pubout writes them); throws
  // MetainfoKeyError naming the first file that is unreadable, not PEM, a private key or not
  // Ed25519.
  static MetainfoVerifier load(const std::vector<std::filesystem::path>& public_key_pems);
  // The public half of `signer` (tests, fanout-bench).
  static MetainfoVerifier of(const MetainfoSigner& signer);

  bool empty() const { return keys_.empty(); }
  size_t key_count() const { return keys_.size(); }
  // Checks `signature` (a header value) over `encoded` (canonical metainfo bytes).
  Verdict check(std::string_view encoded, std::string_view signature) const;
  Verdict check(const MetainfoWithSignature& m) const {
    return check(m.metainfo.encode(), m.signature);
  }

 private:
  std::vector<std::shared_ptr<EVP_PKEY>> keys_;
};

// "valid", "missing", ...: for messages and logs.
const char* describe(MetainfoVerifier::Verdict verdict);

}  // namespace fanout::proto
