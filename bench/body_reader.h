#pragma once
// The harness's HTTP client for blob bodies. On a two-core machine the client reading N bodies
// competes with the N agents serving them, so it must be cheap: one blocking socket, 1 MiB reads.
// (httplib's client polls before every 4 KiB read: in the 50-agent run that was a tenth of the
// machine, spent measuring.)
#include <cstdint>
#include <string>

namespace fanout::bench {

// GET http://host:port/path with "Connection: close", reading the body at most `rate` bytes/s
// when rate > 0. Returns the body bytes read when the status is 200 and the whole announced
// Content-Length arrived; -1 on anything else.
int64_t get_body(const std::string& host, uint16_t port, const std::string& path, double rate);

}  // namespace fanout::bench
