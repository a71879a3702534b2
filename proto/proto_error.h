#pragma once
#include <stdexcept>

namespace fanout::proto {

// Thrown by every decoder in proto/ when input is malformed; the message names the field.
class ProtoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace fanout::proto
