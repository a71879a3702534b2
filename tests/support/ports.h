#pragma once
// Loopback ports for the servers a test starts, so tests never collide with each other or
// with a fanout already running on its default ports.
#include <cstdint>

namespace fanout::test {

// A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it back). Never hands
// out the same port twice in one test process, so several servers started in a row do not
// collide while none of them has bound yet.
uint16_t free_port();

}  // namespace fanout::test
