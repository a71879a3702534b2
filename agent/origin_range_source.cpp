#include "agent/origin_range_source.h"

#include <httplib.h>

#include <cstring>
#include <stdexcept>

#include "common/log/log.h"

namespace fanout::agent {

OriginRangeSource::OriginRangeSource(std::vector<std::string> origins,
                                     std::chrono::milliseconds timeout)
    : ring_(std::move(origins)), timeout_(timeout) {}

void OriginRangeSource::read(const Digest& digest, uint64_t offset, uint32_t length, uint8_t* out) {
  if (length == 0) return;
  const std::string range =
      "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + length - 1);
  std::string failures;
  for (const auto& origin : ring_.owners(digest, ring_.size())) {
    httplib::Client client(origin);
    client.set_connection_timeout(timeout_);
    client.set_read_timeout(timeout_);
    int status = 0;
    size_t got = 0;
    bool overflow = false;
    auto res = client.Get(
        "/v1/blobs/" + digest.str(), {{"Range", range}},
        [&](const httplib::Response& r) {
          status = r.status;
          return r.status == 206;
        },
        [&](const char* data, size_t size) {
          if (got + size > length) {
            overflow = true;
            return false;
          }
          std::memcpy(out + got, data, size);
          got += size;
          return true;
        });
    std::string why;
    if (status != 0 && status != 206) {
      why = "HTTP " + std::to_string(status);
    } else if (!res) {
      why = overflow ? "more bytes than asked for" : httplib::to_string(res.error());
    } else if (got != length) {
      why = "short answer (" + std::to_string(got) + " of " + std::to_string(length) + " bytes)";
    } else {
      return;
    }
    spdlog::debug("fallback {} {} from {}: {}", digest.str(), range, origin, why);
    failures += (failures.empty() ? "" : "; ") + origin + ": " + why;
  }
  throw std::runtime_error("fallback read of " + digest.str() + " " + range +
                           (failures.empty() ? ": no origins configured" : " failed: " + failures));
}

proto::MetainfoWithSignature OriginRangeSource::metainfo(const Digest& digest) {
  std::string failures;
  for (const auto& origin : ring_.owners(digest, ring_.size())) {
    httplib::Client client(origin);
    client.set_connection_timeout(timeout_);
    client.set_read_timeout(timeout_);
    auto res = client.Get("/v1/blobs/" + digest.str() + "/metainfo");
    std::string why;
    if (!res) {
      why = httplib::to_string(res.error());
    } else if (res->status != 200) {
      why = "HTTP " + std::to_string(res->status);
    } else if (res->body.size() > proto::Metainfo::kMaxEncodedSize) {
      why = "metainfo too large";
    } else {
      try {
        proto::Metainfo info = proto::Metainfo::decode(res->body);
        if (info.digest == digest) {
          return {std::move(info), res->get_header_value(proto::kMetainfoSignatureHeader)};
        }
        why = "metainfo of " + info.digest.str();
      } catch (const std::exception& e) {
        why = e.what();
      }
    }
    failures += (failures.empty() ? "" : "; ") + origin + ": " + why;
  }
  throw std::runtime_error("metainfo of " + digest.str() + " from the origins: " +
                           (failures.empty() ? "no origins configured" : failures));
}

}  // namespace fanout::agent
