#include "common/objectstore/s3_store.h"

#include <fcntl.h>
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "common/digest/sha256.h"
#include "common/log/log.h"
#include "common/objectstore/backoff.h"
#include "common/store/file_io.h"

namespace fanout {
namespace {

// The text of the first <tag>...</tag> in an S3 XML body, or empty.
std::string xml_value(const std::string& body, const std::string& tag) {
  size_t start = body.find("<" + tag + ">");
  if (start == std::string::npos) return "";
  start += tag.size() + 2;
  size_t end = body.find("</" + tag + ">", start);
  if (end == std::string::npos) return "";
  return body.substr(start, end - start);
}

// "HTTP 503 SlowDown: Please reduce your request rate."
std::string describe_answer(int status, const std::string& body) {
  std::string out = "HTTP " + std::to_string(status);
  std::string code = xml_value(body, "Code");
  if (!code.empty()) out += " " + code;
  std::string message = xml_value(body, "Message");
  if (!message.empty()) out += ": " + message;
  return out;
}

// Throws the error an S3 answer means: 404 absent, 5xx (and 408/429 throttling) transient,
// anything else (403 bad signature, 400 ...) a plain failure that retrying cannot fix.
[[noreturn]] void throw_for_status(int status, const std::string& body, const std::string& what) {
  std::string msg = what + ": " + describe_answer(status, body);
  if (status == 404) throw ObjectNotFoundError(msg);
  if (status >= 500 || status == 408 || status == 429) throw TransientObjectStoreError(msg);
  throw ObjectStoreError(msg);
}

httplib::Headers to_headers(const sigv4::Params& params) {
  httplib::Headers headers;
  for (const auto& [k, v] : params) headers.emplace(k, v);
  return headers;
}

[[noreturn]] void throw_transport(httplib::Error error, const std::string& what) {
  throw TransientObjectStoreError(what + ": " + httplib::to_string(error));
}

}  // namespace

// A byte range fetched whole on the first read, then handed out from memory.
class S3RangeReader : public ObjectReader {
 public:
  S3RangeReader(S3Store& store, std::string key, uint64_t offset, uint64_t length)
      : store_(store), key_(std::move(key)), offset_(offset), length_(length) {}

  uint64_t size() const override { return length_; }

  size_t read(void* buf, size_t max) override {
    if (!fetched_) {
      store_.get_range(key_, offset_, length_, data_);
      fetched_ = true;
    }
    size_t n = std::min<size_t>(max, data_.size() - pos_);
    std::memcpy(buf, data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  S3Store& store_;
  std::string key_;
  uint64_t offset_;
  uint64_t length_;
  bool fetched_ = false;
  std::string data_;
  size_t pos_ = 0;
};

namespace {

// A whole object read as consecutive ranges, so no more than one range is in memory at once.
class S3SequentialReader : public ObjectReader {
 public:
  static constexpr uint64_t kChunk = 8ull << 20;
  S3SequentialReader(S3Store& store, std::string key, uint64_t size)
      : store_(store), key_(std::move(key)), size_(size) {}
  uint64_t size() const override { return size_; }
  size_t read(void* buf, size_t max) override {
    if (!current_ || current_remaining_ == 0) {
      if (next_ >= size_) return 0;
      uint64_t len = std::min(kChunk, size_ - next_);
      current_ = store_.open_range(key_, next_, len);
      current_remaining_ = len;
      next_ += len;
    }
    size_t n =
        current_->read(buf, static_cast<size_t>(std::min<uint64_t>(max, current_remaining_)));
    current_remaining_ -= n;
    return n;
  }

 private:
  S3Store& store_;
  std::string key_;
  uint64_t size_;
  uint64_t next_ = 0;
  std::unique_ptr<ObjectReader> current_;
  uint64_t current_remaining_ = 0;
};

}  // namespace

S3Store::S3Store(S3Options options) : options_(std::move(options)) {
  const std::string& e = options_.endpoint;
  size_t scheme_end = e.find("://");
  if (scheme_end == std::string::npos ||
      (e.substr(0, scheme_end) != "http" && e.substr(0, scheme_end) != "https")) {
    throw std::invalid_argument("S3 endpoint \"" + e + "\" is not an http:// or https:// URL");
  }
  std::string scheme = e.substr(0, scheme_end);
  std::string authority = e.substr(scheme_end + 3);
  if (!authority.empty() && authority.back() == '/') authority.pop_back();
  if (authority.empty() || authority.find('/') != std::string::npos) {
    throw std::invalid_argument("S3 endpoint \"" + e + "\" must be scheme://host[:port] only");
  }
  if (options_.bucket.empty()) throw std::invalid_argument("S3 bucket is empty");
  if (options_.multipart_part_size < (5ull << 20)) {
    throw std::invalid_argument("S3 multipart part size must be at least 5 MiB");
  }
  host_ = options_.virtual_host ? options_.bucket + "." + authority : authority;
  connect_url_ = scheme + "://" + host_;
}

S3Store::~S3Store() = default;

std::string S3Store::describe() const {
  return "s3://" + options_.bucket + "/" + options_.prefix + " at " + options_.endpoint;
}

std::string S3Store::object_path(const std::string& key) const {
  std::string path = "/";
  if (!options_.virtual_host) path += sigv4::uri_encode(options_.bucket, false) + "/";
  return path + sigv4::uri_encode(options_.prefix + key, true);
}

std::unique_ptr<httplib::Client> S3Store::take_client() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto client = std::move(idle_.back());
      idle_.pop_back();
      return client;
    }
  }
  auto client = std::make_unique<httplib::Client>(connect_url_);
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(options_.timeout);
  auto usecs = std::chrono::duration_cast<std::chrono::microseconds>(options_.timeout - secs);
  client->set_connection_timeout(secs.count(), usecs.count());
  client->set_read_timeout(secs.count(), usecs.count());
  client->set_write_timeout(secs.count(), usecs.count());
  client->set_keep_alive(true);
  return client;
}

void S3Store::give_back(std::unique_ptr<httplib::Client> client) {
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(client));
}

sigv4::Params S3Store::sign(const std::string& method, const std::string& path,
                            const sigv4::Params& query, sigv4::Params headers,
                            const std::string& payload_sha256) const {
  sigv4::Request request{method, host_, path, query, headers, payload_sha256};
  sigv4::Signature signature = sigv4::sign(request, options_.credentials, options_.region, "s3",
                                           std::chrono::system_clock::now());
  headers.emplace_back("Host", host_);
  for (auto& h : signature.headers) headers.push_back(std::move(h));
  return headers;
}

std::optional<uint64_t> S3Store::size(const std::string& key) {
  validate_object_key(key);
  const std::string what = "HEAD " + describe() + " " + key;
  const std::string path = object_path(key);
  auto headers = to_headers(sign("HEAD", path, {}, {}, std::string(sigv4::kEmptyPayloadSha256)));
  auto client = take_client();
  httplib::Result res = client->Head(path, headers);
  if (!res) throw_transport(res.error(), what);
  give_back(std::move(client));
  if (res->status == 404) return std::nullopt;
  if (res->status != 200) throw_for_status(res->status, res->body, what);
  if (!res->has_header("Content-Length")) {
    throw ObjectStoreError(what + ": answer has no Content-Length");
  }
  return std::stoull(res->get_header_value("Content-Length"));
}

std::unique_ptr<ObjectReader> S3Store::open(const std::string& key) {
  std::optional<uint64_t> size = this->size(key);
  if (!size) throw ObjectNotFoundError("no object " + key + " in " + describe());
  return std::make_unique<S3SequentialReader>(*this, key, *size);
}

std::unique_ptr<ObjectReader> S3Store::open_range(const std::string& key, uint64_t offset,
                                                  uint64_t length) {
  validate_object_key(key);
  // The range is fetched on the first read(); size() is what the caller asked for, and a body
  // that ends early is reported then (S3 clamps a range past the end, callers know the size).
  return std::make_unique<S3RangeReader>(*this, key, offset, length);
}

void S3Store::read_range(const std::string& key, uint64_t offset, uint64_t length,
                         std::string& out) {
  validate_object_key(key);
  get_range(key, offset, length, out);
}

void S3Store::get_range(const std::string& key, uint64_t offset, uint64_t length,
                        std::string& out) {
  const std::string range =
      "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + length - 1);
  const std::string what = "GET " + describe() + " " + key + " " + range;
  out.clear();
  if (length == 0) return;
  const std::string path = object_path(key);
  auto headers = to_headers(
      sign("GET", path, {}, {{"Range", range}}, std::string(sigv4::kEmptyPayloadSha256)));
  out.reserve(length);
  int status = 0;
  std::string error_body;
  auto client = take_client();
  httplib::Result res = client->Get(
      path, headers,
      [&](const httplib::Response& response) {
        status = response.status;
        return true;
      },
      [&](const char* data, size_t n) {
        if (status == 206 || (status == 200 && offset == 0)) {
          if (out.size() + n > length) {
            // A 200 for the whole object: keep only the range we asked for.
            out.append(data, length - out.size());
            return false;
          }
          out.append(data, n);
        } else if (error_body.size() < 4096) {
          error_body.append(data, n);
        }
        return true;
      });
  if (!res && !(res.error() == httplib::Error::Canceled && out.size() == length)) {
    if (out.size() < length && status != 0 && (status == 206 || status == 200)) {
      throw TransientObjectStoreError(what + ": body cut short after " +
                                      std::to_string(out.size()) + " of " + std::to_string(length) +
                                      " bytes (" + httplib::to_string(res.error()) + ")");
    }
    throw_transport(res.error(), what);
  }
  if (res) give_back(std::move(client));
  if (status != 206 && !(status == 200 && offset == 0)) throw_for_status(status, error_body, what);
  if (out.size() != length) {
    throw TransientObjectStoreError(what + ": short read, " + std::to_string(out.size()) + " of " +
                                    std::to_string(length) + " bytes");
  }
}

S3Store::Response S3Store::send(const std::string& method, const std::string& key,
                                const sigv4::Params& query, const std::string& body,
                                const std::string& what) {
  const std::string path = object_path(key);
  std::string target = path;
  std::string qs = sigv4::canonical_query(query);
  if (!qs.empty()) target += "?" + qs;
  auto headers = to_headers(sign(method, path, query, {}, sigv4::sha256_hex(body)));
  auto client = take_client();
  httplib::Result res = [&] {
    if (method == "POST") return client->Post(target, headers, body, "application/xml");
    if (method == "PUT") return client->Put(target, headers, body, "application/octet-stream");
    if (method == "DELETE") return client->Delete(target, headers);
    throw std::logic_error("S3Store::send: unsupported method " + method);
  }();
  if (!res) throw_transport(res.error(), what);
  give_back(std::move(client));
  Response out;
  out.status = res->status;
  out.body = std::move(res->body);
  out.etag = res->get_header_value("ETag");
  // S3 may answer a long CompleteMultipartUpload with 200 and an <Error> body.
  if (out.status / 100 != 2 || out.body.find("<Error>") != std::string::npos) {
    throw_for_status(out.status / 100 == 2 ? 500 : out.status, out.body, what);
  }
  return out;
}

void S3Store::put(const std::string& key, const std::filesystem::path& source) {
  validate_object_key(key);
  std::error_code ec;
  uint64_t size = std::filesystem::file_size(source, ec);
  if (ec)
    throw ObjectStoreError("put object " + key + ": " + source.string() + ": " + ec.message());
  if (size > options_.multipart_threshold) {
    put_multipart(key, source, size);
  } else {
    put_single(key, source, size);
  }
}

void S3Store::with_put_retries(const std::function<void(uint32_t attempt)>& request) {
  const uint32_t max_attempts = std::max<uint32_t>(options_.put_max_attempts, 1);
  for (uint32_t attempt = 1;; ++attempt) {
    try {
      request(attempt);
      return;
    } catch (const TransientObjectStoreError& e) {
      if (attempt >= max_attempts) {
        throw ObjectStoreError(std::string(e.what()) + " (gave up after " +
                               std::to_string(attempt) + " attempts)");
      }
      std::chrono::milliseconds delay;
      {
        std::lock_guard lock(mu_);
        delay = full_jitter_delay(options_.put_retry_base_delay, options_.put_retry_max_delay,
                                  attempt, rng_);
      }
      if (options_.on_retry) options_.on_retry();
      spdlog::info("object store: {}; retry {} of {} in {} ms", e.what(), attempt, max_attempts - 1,
                   delay.count());
      options_.sleep(delay);
    }
  }
}

void S3Store::put_single(const std::string& key, const std::filesystem::path& source,
                         uint64_t size) {
  const std::string what = "PUT " + describe() + " " + key;
  const std::string path = object_path(key);
  // Below the threshold the file is small enough to hash for a signed payload first.
  Digest payload = Sha256::of_file(source);
  int fd = fileio::open_or_throw(source, O_RDONLY);
  try {
    with_put_retries([&](uint32_t) {
      // Signed again every try: the signature carries the time.
      auto headers = to_headers(
          sign("PUT", path, {}, {{"Content-Length", std::to_string(size)}}, payload.hex()));
      headers.erase("Content-Length");  // httplib sends it from content_length
      auto client = take_client();
      httplib::Result res = client->Put(
          path, headers, size,
          [&](size_t offset, size_t length, httplib::DataSink& sink) {
            std::vector<char> buf(std::min<size_t>(length, 1u << 20));
            fileio::pread_all(fd, buf.data(), buf.size(), static_cast<off_t>(offset), source);
            return sink.write(buf.data(), buf.size());
          },
          "application/octet-stream");
      if (!res) throw_transport(res.error(), what);
      give_back(std::move(client));
      if (res->status / 100 != 2) throw_for_status(res->status, res->body, what);
    });
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

void S3Store::put_multipart(const std::string& key, const std::filesystem::path& source,
                            uint64_t size) {
  const std::string base = describe() + " " + key;
  std::string upload_id;
  with_put_retries([&](uint32_t) {
    Response created = send("POST", key, {{"uploads", ""}}, "", "CreateMultipartUpload " + base);
    upload_id = xml_value(created.body, "UploadId");
  });
  if (upload_id.empty()) throw ObjectStoreError("CreateMultipartUpload " + base + ": no UploadId");
  try {
    int fd = fileio::open_or_throw(source, O_RDONLY);
    std::string complete = "<CompleteMultipartUpload>";
    try {
      std::string part;
      int number = 1;
      for (uint64_t offset = 0; offset < size; offset += options_.multipart_part_size, ++number) {
        part.resize(static_cast<size_t>(std::min(options_.multipart_part_size, size - offset)));
        fileio::pread_all(fd, part.data(), part.size(), static_cast<off_t>(offset), source);
        // A part sent again under its number replaces the earlier one: retrying is safe.
        Response r;
        with_put_retries([&](uint32_t) {
          r = send("PUT", key, {{"partNumber", std::to_string(number)}, {"uploadId", upload_id}},
                   part, "UploadPart " + std::to_string(number) + " of " + base);
        });
        complete += "<Part><PartNumber>" + std::to_string(number) + "</PartNumber><ETag>" + r.etag +
                    "</ETag></Part>";
      }
    } catch (...) {
      ::close(fd);
      throw;
    }
    ::close(fd);
    complete += "</CompleteMultipartUpload>";
    with_put_retries([&](uint32_t attempt) {
      // A retry may follow a try that completed the upload and only lost its answer; asked
      // again, AWS says NoSuchUpload and s3rver 500. Keys are content addresses, so the object
      // being there at its size means the upload is done.
      if (attempt > 1 && this->size(key) == size) return;
      send("POST", key, {{"uploadId", upload_id}}, complete, "CompleteMultipartUpload " + base);
    });
  } catch (...) {
    // Best effort: an upload left open costs storage until the bucket's lifecycle rule ends it.
    try {
      send("DELETE", key, {{"uploadId", upload_id}}, "", "AbortMultipartUpload " + base);
    } catch (const std::exception&) {
    }
    throw;
  }
}

}  // namespace fanout
