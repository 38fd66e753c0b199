// JSON parser and writer (RFC 8259; UTF-8 passed through, \u escapes decoded).
#include "io/json.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace pzrt::json {

const Value *Value::find(std::string_view key) const {
  for (const Member &m : o_)
    if (m.first == key)
      return &m.second;
  return nullptr;
}

void Value::set(std::string key, Value v) {
  kind_ = Kind::Object;
  for (Member &m : o_) {
    if (m.first == key) {
      m.second = std::move(v);
      return;
    }
  }
  o_.emplace_back(std::move(key), std::move(v));
}

namespace {

constexpr int kMaxDepth = 256;

struct Parser {
  std::string_view s;
  size_t pos = 0;
  std::string err;

  bool fail(const std::string &what) {
    if (err.empty())
      err = what + " at byte " + std::to_string(pos);
    return false;
  }
  void ws() {
    while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n' || s[pos] == '\r'))
      ++pos;
  }
  bool literal(const char *word, Value v, Value &out) {
    std::string_view w(word);
    if (s.substr(pos, w.size()) != w)
      return fail("invalid literal");
    pos += w.size();
    out = std::move(v);
    return true;
  }
  static void appendUtf8(std::string &o, uint32_t cp) {
    if (cp < 0x80) {
      o += static_cast<char>(cp);
    } else if (cp < 0x800) {
      o += static_cast<char>(0xC0 | (cp >> 6));
      o += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      o += static_cast<char>(0xE0 | (cp >> 12));
      o += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      o += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      o += static_cast<char>(0xF0 | (cp >> 18));
      o += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      o += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      o += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  bool hex4(uint32_t &cp) {
    if (pos + 4 > s.size())
      return fail("truncated \\u escape");
    cp = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s[pos++];
      cp <<= 4;
      if (c >= '0' && c <= '9')
        cp |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        cp |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        cp |= static_cast<uint32_t>(c - 'A' + 10);
      else
        return fail("bad hex digit in \\u escape");
    }
    return true;
  }
  bool string(std::string &o) {
    ++pos; // opening quote
    while (true) {
      if (pos >= s.size())
        return fail("unterminated string");
      char c = s[pos];
      if (c == '"') {
        ++pos;
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20)
        return fail("control character in string");
      if (c != '\\') {
        o += c;
        ++pos;
        continue;
      }
      if (++pos >= s.size())
        return fail("unterminated escape");
      char e = s[pos++];
      switch (e) {
      case '"': o += '"'; break;
      case '\\': o += '\\'; break;
      case '/': o += '/'; break;
      case 'b': o += '\b'; break;
      case 'f': o += '\f'; break;
      case 'n': o += '\n'; break;
      case 'r': o += '\r'; break;
      case 't': o += '\t'; break;
      case 'u': {
        uint32_t cp = 0;
        if (!hex4(cp))
          return false;
        if (cp >= 0xD800 && cp < 0xDC00 && s.substr(pos, 2) == "\\u") {
          pos += 2;
          uint32_t lo = 0;
          if (!hex4(lo))
            return false;
          if (lo < 0xDC00 || lo > 0xDFFF)
            return fail("invalid surrogate pair");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        appendUtf8(o, cp);
        break;
      }
      default:
        --pos;
        return fail("invalid escape");
      }
    }
  }
  bool number(Value &out) {
    size_t start = pos;
    if (s[pos] == '-')
      ++pos;
    if (pos >= s.size() || s[pos] < '0' || s[pos] > '9')
      return fail("invalid number");
    if (s[pos] == '0' && pos + 1 < s.size() && s[pos + 1] >= '0' && s[pos + 1] <= '9')
      return fail("leading zero in number");
    bool isInt = true;
    while (pos < s.size()) {
      char c = s[pos];
      if (c >= '0' && c <= '9') {
        ++pos;
      } else if (c == '.' || c == 'e' || c == 'E' || c == '+' || (c == '-' && pos > start)) {
        isInt = false;
        ++pos;
      } else {
        break;
      }
    }
    const char *b = s.data() + start, *e = s.data() + pos;
    if (isInt) {
      int64_t i = 0;
      auto r = std::from_chars(b, e, i);
      if (r.ec == std::errc() && r.ptr == e) {
        out = Value(i);
        return true;
      }
    }
    double d = 0;
    auto r = std::from_chars(b, e, d);
    if (r.ptr != e || (r.ec != std::errc() && r.ec != std::errc::result_out_of_range)) {
      pos = start;
      return fail("invalid number");
    }
    out = Value(d);
    return true;
  }
  bool value(Value &out, int depth) {
    if (depth > kMaxDepth)
      return fail("nesting deeper than 256");
    ws();
    if (pos >= s.size())
      return fail("unexpected end of input");
    char c = s[pos];
    if (c == '{') {
      ++pos;
      out = Value::object();
      ws();
      if (pos < s.size() && s[pos] == '}') {
        ++pos;
        return true;
      }
      while (true) {
        ws();
        if (pos >= s.size() || s[pos] != '"')
          return fail("expected a string key");
        std::string key;
        if (!string(key))
          return false;
        ws();
        if (pos >= s.size() || s[pos] != ':')
          return fail("expected ':'");
        ++pos;
        Value v;
        if (!value(v, depth + 1))
          return false;
        if (out.find(key))
          return fail("duplicate key \"" + key + "\"");
        out.set(std::move(key), std::move(v));
        ws();
        if (pos < s.size() && s[pos] == ',') {
          ++pos;
          continue;
        }
        if (pos < s.size() && s[pos] == '}') {
          ++pos;
          return true;
        }
        return fail("expected ',' or '}'");
      }
    }
    if (c == '[') {
      ++pos;
      out = Value::array();
      ws();
      if (pos < s.size() && s[pos] == ']') {
        ++pos;
        return true;
      }
      while (true) {
        Value v;
        if (!value(v, depth + 1))
          return false;
        out.push(std::move(v));
        ws();
        if (pos < s.size() && s[pos] == ',') {
          ++pos;
          continue;
        }
        if (pos < s.size() && s[pos] == ']') {
          ++pos;
          return true;
        }
        return fail("expected ',' or ']'");
      }
    }
    if (c == '"') {
      std::string str;
      if (!string(str))
        return false;
      out = Value(std::move(str));
      return true;
    }
    if (c == 't')
      return literal("true", Value(true), out);
    if (c == 'f')
      return literal("false", Value(false), out);
    if (c == 'n')
      return literal("null", Value(), out);
    if (c == '-' || (c >= '0' && c <= '9'))
      return number(out);
    return fail(std::string("unexpected character '") + c + "'");
  }
};

void dumpTo(std::string &o, const Value &v, int indent, int level) {
  auto newline = [&](int l) {
    if (indent >= 0) {
      o += '\n';
      o.append(static_cast<size_t>(indent * l), ' ');
    }
  };
  switch (v.kind()) {
  case Value::Kind::Null: o += "null"; break;
  case Value::Kind::Bool: o += v.asBool() ? "true" : "false"; break;
  case Value::Kind::Int: o += std::to_string(v.asInt()); break;
  case Value::Kind::Double: appendNumber(o, v.asDouble()); break;
  case Value::Kind::String: appendString(o, v.asString()); break;
  case Value::Kind::Array:
    o += '[';
    for (size_t i = 0; i < v.items().size(); ++i) {
      if (i)
        o += indent >= 0 ? ", " : ",";
      dumpTo(o, v.items()[i], indent, level + 1);
    }
    o += ']';
    break;
  case Value::Kind::Object:
    o += '{';
    for (size_t i = 0; i < v.members().size(); ++i) {
      if (i)
        o += ',';
      newline(level + 1);
      appendString(o, v.members()[i].first);
      o += indent >= 0 ? ": " : ":";
      dumpTo(o, v.members()[i].second, indent, level + 1);
    }
    if (!v.members().empty())
      newline(level);
    o += '}';
    break;
  }
}

} // namespace

bool parse(std::string_view text, Value &out, std::string &err) {
  Parser p{text, 0, {}};
  Value v;
  if (!p.value(v, 0)) {
    err = p.err;
    return false;
  }
  p.ws();
  if (p.pos != text.size()) {
    p.fail("trailing characters after the JSON value");
    err = p.err;
    return false;
  }
  out = std::move(v);
  return true;
}

std::string dump(const Value &v, int indent) {
  std::string o;
  dumpTo(o, v, indent, 0);
  return o;
}

void appendString(std::string &o, std::string_view s) {
  o += '"';
  for (char c : s) {
    switch (c) {
    case '"': o += "\\\""; break;
    case '\\': o += "\\\\"; break;
    case '\n': o += "\\n"; break;
    case '\r': o += "\\r"; break;
    case '\t': o += "\\t"; break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
        o += buf;
      } else {
        o += c;
      }
    }
  }
  o += '"';
}

void appendNumber(std::string &o, double d) {
  if (!std::isfinite(d)) {
    o += "null";
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), d);
  o.append(buf, r.ptr);
}

} // namespace pzrt::json
