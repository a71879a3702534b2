#pragma once
// Streams a file (or one byte range of it) over httplib without loading it into memory.
#include <httplib.h>

#include <filesystem>
#include <string>

#include "common/metrics/metrics.h"

namespace fanout::http {

// Answers 200 with the whole file, or 206 for a single "Range: bytes=a-b" / "bytes=a-" /
// "bytes=-n" request, or 416 (JSON error) for an unsatisfiable or malformed range. Sets
// Accept-Ranges and Content-Range. Adds every body byte sent to `bytes_sent` if given.
// `direct` reads around the page cache (common/store/direct_io.h): for files read about once,
// such as a blob an agent hands to its consumer.
void serve_file(const httplib::Request& req, httplib::Response& res,
                const std::filesystem::path& path, const std::string& content_type,
                metrics::Counter* bytes_sent = nullptr, bool direct = false);

}  // namespace fanout::http
