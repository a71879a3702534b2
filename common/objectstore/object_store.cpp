#include "common/objectstore/object_store.h"

namespace fanout {

void validate_object_key(std::string_view key) {
  auto bad = [&](const std::string& why) {
    // Quote the key with the NUL made visible, so log lines stay readable.
    std::string shown;
    for (char c : key) shown += c == '\0' ? std::string("\\0") : std::string(1, c);
    throw InvalidObjectKeyError("object key \"" + shown + "\": " + why);
  };
  if (key.empty()) bad("is empty");
  if (key.find('\0') != std::string_view::npos) bad("contains a NUL byte");
  if (key.find('\\') != std::string_view::npos) bad("contains a backslash");
  if (key.front() == '/') bad("must be relative, not start with '/'");
  for (size_t start = 0; start <= key.size();) {
    size_t slash = key.find('/', start);
    std::string_view part =
        key.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (part.empty()) bad("has an empty path component");
    if (part == "." || part == "..") bad("must not contain \".\" or \"..\" components");
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
}

std::string blob_key(const Digest& digest) {
  return "blobs/sha256/" + digest.hex();
}

void ObjectStore::read_range(const std::string& key, uint64_t offset, uint64_t length,
                             std::string& out) {
  std::unique_ptr<ObjectReader> reader = open_range(key, offset, length);
  out.resize(static_cast<size_t>(length));
  size_t got = 0;
  while (got < length) {
    size_t n = reader->read(out.data() + got, static_cast<size_t>(length) - got);
    if (n == 0) break;
    got += n;
  }
  out.resize(got);
}

}  // namespace fanout
