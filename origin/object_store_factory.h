#pragma once
// Builds the ObjectStore the config names ("directory" or "s3").
#include <functional>
#include <memory>

#include "common/objectstore/object_store.h"
#include "origin/config.h"

namespace fanout::origin {

// S3 credentials left empty in the config come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN. Throws config::ConfigError when S3 has no credentials at all. on_retry is
// called once per retried upload request.
std::unique_ptr<ObjectStore> make_object_store(const ObjectStoreConfig& config,
                                               std::function<void()> on_retry = {});

}  // namespace fanout::origin
