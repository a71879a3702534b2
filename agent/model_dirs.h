#pragma once
// Materialised model directories (<models_dir>/<model>/<version>/...) hold hard links to cached
// blobs. A link keeps a blob's bytes on disk after the cache deletes its own name, and those bytes
// are not under cache.max_size, so evicting a blob also removes every version directory that
// links it: the cache's cap stays honest. A pinned version's directory is never touched, because
// all its blobs are pinned and so never evicted. A loader that has a file open keeps reading it.
#include <cstddef>
#include <filesystem>

namespace fanout::agent {

// Removes each <models_dir>/<model>/<version> directory (a finished one or a leftover temp one)
// that holds a hard link to `blob` (same device and inode). Returns how many it removed. A blob
// with no other link (st_nlink 1) costs one stat. Errors are logged, never thrown: a failed
// cleanup must not stop an eviction.
size_t remove_model_dirs_linking(const std::filesystem::path& models_dir,
                                 const std::filesystem::path& blob);

}  // namespace fanout::agent
