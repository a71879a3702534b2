#include "proto/error_body.h"

#include <gtest/gtest.h>

#include "proto/proto_error.h"

namespace fanout::proto {
namespace {

TEST(ErrorBody, RoundTrips) {
  ErrorBody body{"not_found", "sha256:ab is \"unknown\"\n"};
  EXPECT_EQ(decode_error_body(encode_error_body(body)), body);
  EXPECT_EQ(encode_error_body({"e", "d"}), R"({"detail":"d","error":"e"})");
}

TEST(ErrorBody, InvalidUtf8InDetailIsReplacedNotThrown) {
  std::string encoded = encode_error_body({"bad", std::string("\xff\xfe", 2)});
  EXPECT_EQ(decode_error_body(encoded).error, "bad");
}

TEST(ErrorBody, DetailIsOptional) {
  EXPECT_EQ(decode_error_body(R"({"error":"x"})"), (ErrorBody{"x", ""}));
}

TEST(ErrorBody, RejectsWhatIsNotAnErrorBody) {
  for (const char* text :
       {"", "[]", "{}", R"({"error":1})", R"({"error":"x","detail":2})", "not json"}) {
    EXPECT_THROW(decode_error_body(text), ProtoError) << text;
  }
}

}  // namespace
}  // namespace fanout::proto
