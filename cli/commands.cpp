#include "cli/commands.h"

#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "common/digest/digest.h"
#include "common/digest/sha256.h"
#include "proto/metainfo.h"

namespace fanout::cli {
namespace {

int g_exit = 0;

void fail(const std::string& message) {
  std::cerr << "fanoutctl: " << message << "\n";
  g_exit = 1;
}

// "12.3 MiB" style sizes for progress lines.
std::string human(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) bytes /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", bytes, units[u]);
  return buf;
}

void cmd_digest(const std::vector<std::string>& files) {
  for (const auto& f : files) {
    try {
      std::cout << Sha256::of_file(f).str() << "  " << f << "\n";
    } catch (const std::exception& e) {
      fail(e.what());
    }
  }
}

// Fetches a blob through the node's agent, verifying its sha256 on the way, with progress.
void cmd_get(const std::string& agent, const std::string& digest_text, const std::string& out) {
  Digest digest;
  if (!Digest::try_parse(digest_text, digest)) {
    try {
      Digest::parse(digest_text);
    } catch (const DigestError& e) {
      return fail(digest_text + ": " + e.what());
    }
  }
  httplib::Client client(agent);
  client.set_read_timeout(std::chrono::hours(1));
  std::ofstream file;
  if (out != "-") {
    file.open(out, std::ios::binary | std::ios::trunc);
    if (!file) return fail("cannot write " + out);
  }
  Sha256 hash;
  uint64_t received = 0;
  auto start = std::chrono::steady_clock::now();
  auto last_print = start;
  std::string error_body;
  int status = 0;
  auto res = client.Get(
      "/v1/blobs/" + digest.str(),
      [&](const httplib::Response& r) {
        status = r.status;
        return true;
      },
      [&](const char* data, size_t size) {
        if (status != 200) {
          error_body.append(data, size);
          return true;
        }
        hash.update(data, size);
        received += size;
        if (file.is_open()) file.write(data, static_cast<std::streamsize>(size));
        else std::cout.write(data, static_cast<std::streamsize>(size));
        auto now = std::chrono::steady_clock::now();
        if (now - last_print > std::chrono::milliseconds(500)) {
          double secs = std::chrono::duration<double>(now - start).count();
          std::cerr << "\r" << human(received) << " at " << human(received / secs) << "/s"
                    << std::flush;
          last_print = now;
        }
        return true;
      });
  if (!res) return fail("agent " + agent + ": " + httplib::to_string(res.error()));
  if (status != 200) return fail("agent answered " + std::to_string(status) + ": " + error_body);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Digest actual = hash.finish();
  std::cerr << "\r" << human(received) << " in " << secs << " s\n";
  if (actual != digest) return fail("received bytes hash to " + actual.str() + ", not " + digest.str());
  std::cerr << "verified " << digest.str() << "\n";
}

}  // namespace

void register_commands(CLI::App& app) {
  auto* digest = app.add_subcommand("digest", "Print the sha256 digest of files");
  static std::vector<std::string> files;
  digest->add_option("files", files, "Files to hash")->required();
  digest->callback([] { cmd_digest(files); });

  auto* get = app.add_subcommand("get", "Fetch a blob through the node's agent and verify it");
  static std::string agent = "http://127.0.0.1:7200", blob, out = "-";
  get->add_option("digest", blob, "sha256:<hex>")->required();
  get->add_option("--agent", agent, "Agent base URL")->capture_default_str();
  get->add_option("-o,--output", out, "Output file (- for stdout)")->capture_default_str();
  get->callback([] { cmd_get(agent, blob, out); });
}

int exit_code() { return g_exit; }

}  // namespace fanout::cli
