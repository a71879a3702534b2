#include "common/digest/sha256.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <stdexcept>
#include <system_error>
#include <vector>

namespace fanout {

struct Sha256::Ctx {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  if (!ctx_->md || EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("sha256: EVP_DigestInit_ex failed");
  }
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, size_t size) {
  if (size && EVP_DigestUpdate(ctx_->md, data, size) != 1) {
    throw std::runtime_error("sha256: EVP_DigestUpdate failed");
  }
}

Digest Sha256::finish() {
  Digest::Bytes out;
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_->md, out.data(), &len) != 1 || len != out.size() ||
      EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("sha256: EVP_DigestFinal_ex failed");
  }
  return Digest::from_bytes(out);
}

Digest Sha256::of(const void* data, size_t size) {
  Sha256 h;
  h.update(data, size);
  return h.finish();
}

Digest Sha256::of_file(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + path.string());
  Sha256 h;
  std::vector<char> buf(4 << 20);
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      throw std::system_error(err, std::generic_category(), "read " + path.string());
    }
    if (n == 0) break;
    h.update(buf.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  return h.finish();
}

}  // namespace fanout
