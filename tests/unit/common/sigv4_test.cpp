// SigV4 against AWS's published example: "GET Object" from "Examples: Signature Calculations"
// in https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html (the first
// 10 bytes of examplebucket/test.txt, 2013-05-24, the documented example credentials).
#include "common/objectstore/sigv4.h"

#include <gtest/gtest.h>

#include <chrono>

namespace fanout::sigv4 {
namespace {

// 2013-05-24T00:00:00Z.
std::chrono::system_clock::time_point example_time() {
  return std::chrono::system_clock::from_time_t(1369353600);
}

const Credentials kExampleCredentials{"AKIAIOSFODNN7EXAMPLE",
                                      "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};

TEST(SigV4, AwsGetObjectExample) {
  Request request{"GET", "examplebucket.s3.amazonaws.com", "/test.txt", {},
                  {{"Range", "bytes=0-9"}}, std::string(kEmptyPayloadSha256)};
  Signature sig = sign(request, kExampleCredentials, "us-east-1", "s3", example_time());

  EXPECT_EQ(sig.canonical_request,
            "GET\n/test.txt\n\n"
            "host:examplebucket.s3.amazonaws.com\n"
            "range:bytes=0-9\n"
            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n\n"
            "host;range;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sig.string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(sig.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");

  std::string authorization;
  for (const auto& [k, v] : sig.headers) {
    if (k == "Authorization") authorization = v;
  }
  EXPECT_EQ(authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4, SessionTokenIsSentAndSigned) {
  Credentials creds = kExampleCredentials;
  creds.session_token = "token/with+chars";
  Request request{"HEAD", "h", "/k", {}, {}, std::string(kEmptyPayloadSha256)};
  Signature sig = sign(request, creds, "us-east-1", "s3", example_time());
  EXPECT_NE(sig.canonical_request.find("x-amz-security-token:token/with+chars\n"),
            std::string::npos);
  bool sent = false;
  for (const auto& [k, v] : sig.headers) sent |= k == "x-amz-security-token";
  EXPECT_TRUE(sent);
}

TEST(SigV4, UriEncodingAndCanonicalQuery) {
  EXPECT_EQ(uri_encode("a b/c~d_e.f-g*h", true), "a%20b/c~d_e.f-g%2Ah");
  EXPECT_EQ(uri_encode("a/b", false), "a%2Fb");
  // Sorted by encoded name; a valueless parameter signs as "name=".
  EXPECT_EQ(canonical_query({{"uploadId", "x y"}, {"partNumber", "2"}, {"uploads", ""}}),
            "partNumber=2&uploadId=x%20y&uploads=");
  EXPECT_EQ(canonical_query({{"prefix", "J"}, {"max-keys", "2"}}), "max-keys=2&prefix=J");
}

TEST(SigV4, AmzDate) {
  EXPECT_EQ(amz_date(example_time()), "20130524T000000Z");
}

}  // namespace
}  // namespace fanout::sigv4
