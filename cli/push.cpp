// fanoutctl push: hash every file of a directory (one layer each), upload the blobs the object
// store lacks, write the manifest blob, register the version.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <vector>

#include "cli/commands.h"
#include "cli/progress.h"
#include "common/digest/sha256.h"
#include "proto/manifest.h"

namespace fanout::cli {
namespace {

namespace fs = std::filesystem;

std::string media_type_for(const fs::path& path) {
  std::string ext = path.extension().string();
  if (ext == ".json") return "application/json";
  if (ext == ".safetensors") return "application/vnd.fanout.layer.safetensors";
  if (ext == ".gguf") return "application/vnd.fanout.layer.gguf";
  if (ext == ".txt" || ext == ".model") return "text/plain";
  return "application/octet-stream";
}

std::pair<std::string, std::string> split_assignment(const std::string& flag,
                                                     const std::string& kv) {
  auto eq = kv.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw CommandError(kExitConfig, flag + " \"" + kv + "\": expected KEY=VALUE");
  }
  return {kv.substr(0, eq), kv.substr(eq + 1)};
}

// Hashes one file with large reads, reporting bytes to `progress` as it goes.
Digest hash_file(const fs::path& path, Progress& progress, uint64_t& done) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw CommandError(kExitFailure, "cannot read " + path.string());
  Sha256 hash;
  std::vector<char> buf(4 << 20);
  while (true) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      ::close(fd);
      throw CommandError(kExitFailure, "error reading " + path.string());
    }
    if (n == 0) break;
    hash.update(buf.data(), static_cast<size_t>(n));
    done += static_cast<uint64_t>(n);
    progress.update(done);
  }
  ::close(fd);
  return hash.finish();
}

}  // namespace

void cmd_push(Context& ctx, const PushOptions& o) {
  registry::validate_name("model name", o.model);
  const auto& config = ctx.config();
  // Refuse before moving any byte when the token cannot register the version.
  ctx.registry().authenticate(config.token, registry::Scope::kWrite);

  fs::path root(o.dir);
  if (!fs::is_directory(root)) throw CommandError(kExitFailure, o.dir + " is not a directory");
  std::vector<fs::path> files;
  uint64_t total = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    files.push_back(entry.path());
    total += entry.file_size();
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw CommandError(kExitFailure, o.dir + " holds no files");

  proto::Manifest manifest;
  {
    Progress progress("hashing  ", total);
    uint64_t done = 0;
    for (const auto& f : files) {
      Digest d = hash_file(f, progress, done);
      manifest.layers.push_back(
          {d, fs::file_size(f), media_type_for(f), fs::relative(f, root).generic_string()});
    }
    progress.finish(std::to_string(files.size()) + " files");
  }

  auto store = ctx.object_store();
  uint64_t uploaded_bytes = 0, skipped_bytes = 0;
  size_t uploaded = 0, skipped = 0;
  {
    Progress progress("uploading", total);
    uint64_t done = 0;
    for (size_t i = 0; i < files.size(); ++i) {
      const auto& layer = manifest.layers[i];
      std::string key = blob_key(layer.digest);
      auto existing = store->size(key);
      if (existing && *existing == layer.size) {
        ++skipped, skipped_bytes += layer.size;
      } else {
        store->put(key, files[i]);
        ++uploaded, uploaded_bytes += layer.size;
      }
      done += layer.size;
      progress.update(done, std::to_string(i + 1) + "/" + std::to_string(files.size()) + " layers");
    }
    progress.finish(std::to_string(uploaded) + " uploaded (" + human_bytes(uploaded_bytes) + "), " +
                    std::to_string(skipped) + " already there (" + human_bytes(skipped_bytes) +
                    ")");
  }

  std::string manifest_json = manifest.encode();
  Digest manifest_digest = Sha256::of(manifest_json);
  if (!store->size(blob_key(manifest_digest))) {
    fs::path tmp = fs::temp_directory_path() / ("fanoutctl-manifest-" + std::to_string(::getpid()));
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << manifest_json;
      if (!out) throw CommandError(kExitFailure, "cannot write " + tmp.string());
    }
    store->put(blob_key(manifest_digest), tmp);
    fs::remove(tmp);
  }

  registry::NewVersion nv;
  nv.model = o.model;
  nv.artifact = {manifest_digest.str(), std::string(proto::kManifestMediaType), manifest_json, {}};
  for (const auto& l : manifest.layers) {
    nv.artifact.layers.push_back({l.digest.str(), l.size, l.media_type, l.file_name});
  }
  bool has_run = !o.run_id.empty() || !o.dataset.empty() || !o.commit.empty() || !o.image.empty() ||
                 !o.params.empty();
  if (has_run) {
    registry::Run run;
    // Without --run-id the run is named by what it produced.
    run.id = o.run_id.empty() ? "run-" + manifest_digest.hex().substr(0, 16) : o.run_id;
    run.dataset = o.dataset;
    run.code_commit = o.commit;
    run.image_digest = o.image;
    for (const auto& kv : o.params) run.params.insert(split_assignment("--param", kv));
    nv.run = run;
  }
  for (const auto& kv : o.metrics) {
    auto [k, v] = split_assignment("--metric", kv);
    try {
      size_t used = 0;
      nv.metrics[k] = std::stod(v, &used);
      if (used != v.size()) throw std::invalid_argument(v);
    } catch (const std::exception&) {
      throw CommandError(kExitConfig, "--metric " + kv + ": the value must be a number");
    }
  }
  auto registered = ctx.registry().register_version(nv, config.token);
  std::cout << o.model << " version " << registered.version.number << " "
            << registered.version.artifact_digest
            << (registered.created ? "" : " (already registered: same manifest)") << "\n";
}

}  // namespace fanout::cli
