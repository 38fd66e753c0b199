// The internal JSON parser and writer.
#include "io/json.h"

#include <gtest/gtest.h>

#include <cstdint>

#include <cmath>
#include <limits>

namespace json = pzrt::json;

namespace {

TEST(Json, ParsesAllKinds) {
  json::Value v;
  std::string err;
  ASSERT_TRUE(json::parse(R"( {"a": [1, -2, 3.5e2, true, false, null],
      "s": "q\"\\\/\n\u00e9\ud83d\ude00", "big": 9007199254740993, "o": {}} )",
                          v, err))
      << err;
  ASSERT_TRUE(v.isObject());
  const json::Value *a = v.find("a");
  ASSERT_TRUE(a && a->isArray());
  EXPECT_EQ(a->size(), 6u);
  EXPECT_EQ((*a)[0].asInt(), 1);
  EXPECT_EQ((*a)[1].asInt(), -2);
  EXPECT_EQ((*a)[2].asDouble(), 350.0);
  EXPECT_TRUE((*a)[3].asBool());
  EXPECT_TRUE((*a)[5].isNull());
  EXPECT_EQ(v.find("s")->asString(), "q\"\\/\n\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(v.find("big")->asInt(), 9007199254740993LL); // exact beyond 2^53
  EXPECT_TRUE(v.find("o")->isObject());
  EXPECT_EQ(v.find("missing"), nullptr);
}

TEST(Json, RoundTrip) {
  json::Value o = json::Value::object(), arr = json::Value::array();
  arr.push(1);
  arr.push(0.1);
  arr.push("x\ty");
  o.set("arr", arr);
  o.set("n", int64_t{-7});
  o.set("t", true);
  std::string text = json::dump(o);
  EXPECT_EQ(text, R"({"arr":[1,0.1,"x\ty"],"n":-7,"t":true})");
  json::Value back;
  std::string err;
  ASSERT_TRUE(json::parse(json::dump(o, 2), back, err)) << err;
  EXPECT_EQ(json::dump(back), text);
}

TEST(Json, NonFiniteNumbersAreNull) {
  std::string s;
  json::appendNumber(s, std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(s, "null");
  s.clear();
  json::appendNumber(s, 0.1);
  EXPECT_EQ(s, "0.1");
}

struct BadCase {
  const char *text;
  const char *message;
};

TEST(Json, ErrorsSayWhatAndWhere) {
  const BadCase cases[] = {
      {"{\"a\": 1,}", "expected a string key at byte 8"},
      {"[1 2]", "expected ',' or ']' at byte 3"},
      {"{\"a\" 1}", "expected ':' at byte 5"},
      {"\"abc", "unterminated string at byte 4"},
      {"01", "leading zero in number at byte 0"},
      {"[1] x", "trailing characters after the JSON value at byte 4"},
      {"{\"a\":1,\"a\":2}", "duplicate key \"a\""},
      {"tru", "invalid literal at byte 0"},
      {"", "unexpected end of input at byte 0"},
      {"\"\\q\"", "invalid escape at byte 2"},
  };
  for (const BadCase &c : cases) {
    json::Value v;
    std::string err;
    EXPECT_FALSE(json::parse(c.text, v, err)) << c.text;
    EXPECT_NE(err.find(c.message), std::string::npos) << c.text << " -> " << err;
  }
}

TEST(Json, DeepNestingIsRejectedNotACrash) {
  std::string deep(100000, '[');
  json::Value v;
  std::string err;
  EXPECT_FALSE(json::parse(deep, v, err));
  EXPECT_NE(err.find("nesting deeper than 256"), std::string::npos);
}

TEST(Json, DoublesConvertToIntegersWithoutOverflow) {
  struct Case {
    const char *text;
    int64_t want;
    bool isInt;
  } cases[] = {
      {"1e300", INT64_MAX, false},      {"-1e300", INT64_MIN, false},
      {"9223372036854775808", INT64_MAX, false}, // one past int64: a double
      {"-3.9", -3, false},              {"42", 42, true},
  };
  for (const Case &c : cases) {
    json::Value v;
    std::string err;
    ASSERT_TRUE(json::parse(c.text, v, err)) << c.text << ": " << err;
    EXPECT_EQ(v.isInt(), c.isInt) << c.text;
    EXPECT_EQ(v.asInt(), c.want) << c.text;
  }
}

} // namespace
