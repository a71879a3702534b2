#include "proto/manifest.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "common/digest/sha256.h"
#include "proto/proto_error.h"

namespace fanout::proto {
namespace {

void validate_file_name(const std::string& name) {
  auto bad = [&](const std::string& why) {
    throw ProtoError("manifest: layer file_name \"" + name + "\" " + why);
  };
  if (name.empty()) bad("is empty");
  if (name.front() == '/') bad("must be relative");
  if (name.find('\0') != std::string::npos || name.find('\\') != std::string::npos) {
    bad("contains NUL or a backslash");
  }
  for (size_t start = 0; start <= name.size();) {
    size_t slash = name.find('/', start);
    std::string part = name.substr(start, slash == std::string::npos ? slash : slash - start);
    if (part.empty() || part == "." || part == "..") bad("has an empty, '.' or '..' component");
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
}

std::vector<ManifestLayer> sorted(std::vector<ManifestLayer> layers) {
  std::sort(layers.begin(), layers.end(),
            [](const auto& a, const auto& b) { return a.file_name < b.file_name; });
  for (size_t i = 1; i < layers.size(); ++i) {
    if (layers[i].file_name == layers[i - 1].file_name) {
      throw ProtoError("manifest: two layers named " + layers[i].file_name);
    }
  }
  return layers;
}

}  // namespace

std::string Manifest::encode() const {
  // nlohmann::json keeps object keys in a std::map (sorted) and dump() without an indent emits no
  // whitespace: exactly the canonical form.
  nlohmann::json list = nlohmann::json::array();
  for (const auto& l : sorted(layers)) {
    validate_file_name(l.file_name);
    list.push_back({{"digest", l.digest.str()},
                    {"file_name", l.file_name},
                    {"media_type", l.media_type},
                    {"size", l.size}});
  }
  nlohmann::json doc = {{"layers", list},
                        {"media_type", kManifestMediaType},
                        {"schema_version", kManifestSchemaVersion}};
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
}

Digest Manifest::digest() const {
  return Sha256::of(encode());
}

uint64_t Manifest::total_size() const {
  uint64_t total = 0;
  for (const auto& l : layers) total += l.size;
  return total;
}

Manifest Manifest::decode(std::string_view json) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json);
  } catch (const nlohmann::json::exception& e) {
    throw ProtoError(std::string("manifest: not JSON: ") + e.what());
  }
  if (!doc.is_object()) throw ProtoError("manifest: not a JSON object");
  for (auto& [key, value] : doc.items()) {
    if (key != "layers" && key != "media_type" && key != "schema_version") {
      throw ProtoError("manifest: unknown key " + key);
    }
  }
  if (!doc.contains("schema_version") || doc["schema_version"] != kManifestSchemaVersion) {
    throw ProtoError("manifest: schema_version must be 1");
  }
  if (!doc.contains("media_type") || doc["media_type"] != kManifestMediaType) {
    throw ProtoError("manifest: media_type must be " + std::string(kManifestMediaType));
  }
  if (!doc.contains("layers") || !doc["layers"].is_array()) {
    throw ProtoError("manifest: layers must be an array");
  }
  Manifest m;
  for (const auto& l : doc["layers"]) {
    if (!l.is_object() || l.size() != 4) {
      throw ProtoError(
          "manifest: a layer must be an object of digest, file_name, media_type, size");
    }
    auto field = [&](const char* name) -> const nlohmann::json& {
      if (!l.contains(name)) throw ProtoError(std::string("manifest: layer without ") + name);
      return l[name];
    };
    const auto& digest = field("digest");
    const auto& size = field("size");
    const auto& media_type = field("media_type");
    const auto& file_name = field("file_name");
    if (!digest.is_string() || !media_type.is_string() || !file_name.is_string()) {
      throw ProtoError("manifest: layer digest, media_type and file_name must be strings");
    }
    if (!size.is_number_unsigned())
      throw ProtoError("manifest: layer size must be an unsigned integer");
    Digest d;
    if (!Digest::try_parse(digest.get<std::string>(), d)) {
      throw ProtoError("manifest: malformed layer digest " + digest.get<std::string>());
    }
    m.layers.push_back(
        {d, size.get<uint64_t>(), media_type.get<std::string>(), file_name.get<std::string>()});
  }
  std::string canonical = m.encode();
  if (canonical != json) throw ProtoError("manifest: not in canonical form");
  m.layers = sorted(std::move(m.layers));
  return m;
}

}  // namespace fanout::proto
