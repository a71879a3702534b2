#pragma once
// A model version's manifest: the list of its layers (one per file), each named by the sha256 of
// its bytes. Its canonical JSON encoding (sorted keys, no insignificant whitespace, layers sorted
// by file name) is stored as a blob like any layer, and the sha256 of those bytes is the
// version's identity: the same files always give the same manifest digest, wherever they were
// pushed from.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest/digest.h"

namespace fanout::proto {

inline constexpr std::string_view kManifestMediaType = "application/vnd.fanout.manifest.v1+json";
inline constexpr int kManifestSchemaVersion = 1;

struct ManifestLayer {
  Digest digest;
  uint64_t size = 0;
  std::string media_type;
  std::string file_name;  // relative path inside the pushed directory, '/'-separated
  friend bool operator==(const ManifestLayer&, const ManifestLayer&) = default;
};

struct Manifest {
  std::vector<ManifestLayer> layers;

  // Canonical JSON: {"layers":[{"digest":..,"file_name":..,"media_type":..,"size":..}],
  // "media_type":"application/vnd.fanout.manifest.v1+json","schema_version":1}, layers in file
  // name order whatever order they are held in. Throws ProtoError on duplicate file names.
  std::string encode() const;
  // The sha256 of encode().
  Digest digest() const;
  uint64_t total_size() const;

  // Parses and validates (schema version, media type, digests, unique relative file names) and
  // refuses any non-canonical encoding, so a manifest's digest is always the digest of its
  // canonical bytes. Throws ProtoError naming the field.
  static Manifest decode(std::string_view json);

  friend bool operator==(const Manifest&, const Manifest&) = default;
};

}  // namespace fanout::proto
