#pragma once
// Test doubles for the tracker's tests: a controllable clock, a real HTTP origin on loopback that
// answers GET /v1/blobs/{digest}/metainfo as told, and metainfo for made-up blobs.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "common/digest/digest.h"
#include "proto/error_body.h"
#include "proto/metainfo.h"
#include "proto/metainfo_signature.h"

namespace fanout::tracker::testing {

class FakeClock {
 public:
  std::chrono::steady_clock::time_point now() const {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(ms_.load()));
  }
  void advance(std::chrono::milliseconds by) { ms_ += by.count(); }
  // For SwarmRegistry / TrackerServer constructors.
  auto as_function() {
    return [this] { return now(); };
  }

 private:
  std::atomic<int64_t> ms_{1'000'000};
};

// The metainfo of `size` bytes derived from `seed`.
inline proto::Metainfo make_metainfo(uint64_t size, uint8_t seed) {
  std::string bytes(size, '\0');
  for (uint64_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 131 + seed) & 0xff);
  proto::MetainfoBuilder builder(size);
  builder.update(bytes.data(), bytes.size());
  return builder.finish();
}

class FakeOrigin {
 public:
  struct Reply {
    int status = 200;
    std::string body;
    std::string signature{};  // X-Fanout-Metainfo-Signature; none when empty
  };

  FakeOrigin() {
    server_.Get(R"(/v1/blobs/([^/]+)/metainfo)", [this](const httplib::Request& req,
                                                        httplib::Response& res) {
      ++requests_;
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_.load()));
      std::lock_guard lock(mu_);
      auto it = replies_.find(req.matches[1]);
      if (it == replies_.end()) {
        res.status = 404;
        res.set_content(proto::encode_error_body({"not_found", "no such blob"}),
                        "application/json");
        return;
      }
      res.status = it->second.status;
      if (!it->second.signature.empty()) {
        res.set_header(proto::kMetainfoSignatureHeader, it->second.signature);
      }
      res.set_content(it->second.body,
                      it->second.status == 200 ? "application/octet-stream" : "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeOrigin() {
    server_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void reply(const Digest& digest, Reply reply) {
    std::lock_guard lock(mu_);
    replies_[digest.str()] = std::move(reply);
  }
  void serve(const proto::Metainfo& metainfo, std::string signature = {}) {
    reply(metainfo.digest, {200, metainfo.encode(), std::move(signature)});
  }
  void set_delay(std::chrono::milliseconds delay) { delay_ms_ = delay.count(); }
  int requests() const { return requests_.load(); }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::map<std::string, Reply> replies_;
  std::atomic<int> requests_{0};
  std::atomic<int64_t> delay_ms_{0};
};

}  // namespace fanout::tracker::testing
