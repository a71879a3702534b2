#include "origin/object_store_factory.h"

#include <cstdlib>

#include "common/objectstore/directory_store.h"
#include "common/objectstore/s3_store.h"

namespace fanout::origin {
namespace {

std::string env_or(const std::string& configured, const char* variable) {
  if (!configured.empty()) return configured;
  const char* value = std::getenv(variable);
  return value ? value : "";
}

}  // namespace

std::unique_ptr<ObjectStore> make_object_store(const ObjectStoreConfig& config,
                                               std::function<void()> on_retry) {
  if (config.type == "directory") return std::make_unique<DirectoryStore>(config.path);
  S3Options s3;
  s3.endpoint = config.endpoint;
  s3.region = config.region;
  s3.bucket = config.bucket;
  s3.prefix = config.prefix;
  s3.virtual_host = config.addressing == "virtual";
  s3.timeout = config.timeout;
  s3.multipart_threshold = config.multipart_threshold;
  s3.multipart_part_size = config.multipart_part_size;
  s3.put_max_attempts = config.put_max_attempts;
  s3.put_retry_base_delay = config.put_retry_base_delay;
  s3.put_retry_max_delay = config.put_retry_max_delay;
  s3.on_retry = std::move(on_retry);
  // Config and environment are not mixed: a configured key id brings its own secret and token.
  bool from_config = !config.access_key_id.empty();
  s3.credentials.access_key_id = env_or(config.access_key_id, "AWS_ACCESS_KEY_ID");
  s3.credentials.secret_access_key =
      from_config ? config.secret_access_key : env_or("", "AWS_SECRET_ACCESS_KEY");
  s3.credentials.session_token =
      from_config ? config.session_token : env_or("", "AWS_SESSION_TOKEN");
  if (s3.credentials.access_key_id.empty() || s3.credentials.secret_access_key.empty()) {
    throw config::ConfigError(
        "object_store: S3 needs access_key_id and secret_access_key (or AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY in the environment)");
  }
  return std::make_unique<S3Store>(std::move(s3));
}

}  // namespace fanout::origin
