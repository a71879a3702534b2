#pragma once
// Small helpers for talking to the servers under test with cpp-httplib.
#include <httplib.h>

#include <string>

namespace fanout::test {

// "HTTP 404, body: {...}" or "no response: Connection" — for failure messages.
std::string describe(const httplib::Result& result);

// GET base_url + path and return the body; empty when there is no 200 answer.
std::string get_body(const std::string& base_url, const std::string& path);

}  // namespace fanout::test
