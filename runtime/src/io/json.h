// A small JSON value, parser and writer for index.json, safetensors headers,
// metrics and traces. Objects keep insertion order. Integers that fit int64
// are kept exact.
#ifndef PZRT_SRC_IO_JSON_H
#define PZRT_SRC_IO_JSON_H

#include <cstdint>
#include <climits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pzrt::json {

class Value {
public:
  enum class Kind { Null, Bool, Int, Double, String, Array, Object };
  using Member = std::pair<std::string, Value>;

  Value() = default;
  Value(bool b) : kind_(Kind::Bool), b_(b) {}
  Value(int i) : kind_(Kind::Int), i_(i) {}
  Value(int64_t i) : kind_(Kind::Int), i_(i) {}
  Value(uint64_t i) : kind_(Kind::Int), i_(static_cast<int64_t>(i)) {}
  Value(double d) : kind_(Kind::Double), d_(d) {}
  Value(const char *s) : kind_(Kind::String), s_(s) {}
  Value(std::string s) : kind_(Kind::String), s_(std::move(s)) {}
  static Value array() { Value v; v.kind_ = Kind::Array; return v; }
  static Value object() { Value v; v.kind_ = Kind::Object; return v; }

  Kind kind() const { return kind_; }
  bool isNull() const { return kind_ == Kind::Null; }
  bool isBool() const { return kind_ == Kind::Bool; }
  bool isInt() const { return kind_ == Kind::Int; }
  bool isNumber() const { return kind_ == Kind::Int || kind_ == Kind::Double; }
  bool isString() const { return kind_ == Kind::String; }
  bool isArray() const { return kind_ == Kind::Array; }
  bool isObject() const { return kind_ == Kind::Object; }

  bool asBool() const { return b_; }
  // A double converts by truncation, saturating at the int64 range (NaN: 0);
  // check isInt() where only an integer will do.
  int64_t asInt() const {
    if (kind_ == Kind::Int)
      return i_;
    if (!(d_ == d_))
      return 0;
    if (d_ >= 9223372036854775807.0)
      return INT64_MAX;
    if (d_ <= -9223372036854775808.0)
      return INT64_MIN;
    return static_cast<int64_t>(d_);
  }
  double asDouble() const { return kind_ == Kind::Int ? static_cast<double>(i_) : d_; }
  const std::string &asString() const { return s_; }
  const std::vector<Value> &items() const { return a_; }
  std::vector<Value> &items() { return a_; }
  const std::vector<Member> &members() const { return o_; }

  // Arrays.
  void push(Value v) { a_.push_back(std::move(v)); }
  size_t size() const { return kind_ == Kind::Object ? o_.size() : a_.size(); }
  const Value &operator[](size_t i) const { return a_[i]; }
  // Objects: find returns nullptr if absent; set replaces or appends.
  const Value *find(std::string_view key) const;
  void set(std::string key, Value v);

private:
  Kind kind_ = Kind::Null;
  bool b_ = false;
  int64_t i_ = 0;
  double d_ = 0;
  std::string s_;
  std::vector<Value> a_;
  std::vector<Member> o_;
};

// Parses `text`. On failure returns false and sets err to
// "<what> at byte <offset>" (offset counted from the start of text).
bool parse(std::string_view text, Value &out, std::string &err);
// Compact JSON (indent < 0) or pretty-printed with `indent` spaces.
std::string dump(const Value &v, int indent = -1);
// Appends the JSON string literal for s (with quotes).
void appendString(std::string &out, std::string_view s);
// Appends a number: shortest round-trip form; NaN and infinities as null.
void appendNumber(std::string &out, double d);

} // namespace pzrt::json

#endif // PZRT_SRC_IO_JSON_H
