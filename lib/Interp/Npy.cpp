//===- Npy.cpp - read and write NumPy .npy files --------------------------===//

#include "pz/Interp/Npy.h"

#include "pz/Support/InputFile.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <cstring>

using namespace mlir;
using namespace mlir::pz::interp;

namespace {

/// The dtype of an .npy file: kind 'f', 'i', 'u' or 'b', a size in bytes
/// and a byte order.
struct Dtype {
  char kind = 0;
  unsigned size = 0;
  bool bigEndian = false;
};

/// Reads the Python dict literal of an .npy header, reporting errors at
/// absolute byte offsets.
class HeaderParser {
public:
  HeaderParser(StringRef text, size_t base, StringRef name)
      : text(text), base(base), name(name) {}

  llvm::Error parse(Dtype &dtype, bool &fortran, std::vector<int64_t> &shape) {
    bool haveDescr = false, haveOrder = false, haveShape = false;
    if (!consume('{'))
      return error("expected '{' to open the header dict");
    while (true) {
      skipSpace();
      if (consume('}'))
        break;
      skipSpace();
      size_t keyPos = pos;
      std::string key;
      if (auto err = parseString(key))
        return err;
      if (!consume(':'))
        return error("expected ':' after key '" + key + "'");
      if (key == "descr") {
        skipSpace();
        size_t at = pos;
        std::string descr;
        if (auto err = parseString(descr))
          return err;
        if (auto err = parseDescr(descr, at, dtype))
          return err;
        haveDescr = true;
      } else if (key == "fortran_order") {
        skipSpace();
        if (text.substr(pos).starts_with("True")) {
          fortran = true;
          pos += 4;
        } else if (text.substr(pos).starts_with("False")) {
          fortran = false;
          pos += 5;
        } else {
          return error("expected True or False for 'fortran_order'");
        }
        haveOrder = true;
      } else if (key == "shape") {
        if (auto err = parseShape(shape))
          return err;
        haveShape = true;
      } else {
        return errorAt(keyPos, "unexpected key '" + key + "'");
      }
      skipSpace();
      if (consume('}'))
        break;
      if (!consume(','))
        return error("expected ',' or '}' in the header dict");
    }
    if (!haveDescr || !haveOrder || !haveShape)
      return errorAt(0, "the header dict needs 'descr', 'fortran_order' and "
                        "'shape'");
    return llvm::Error::success();
  }

private:
  llvm::Error errorAt(size_t at, const Twine &msg) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   name + ": malformed npy at byte " +
                                       Twine(base + at) + ": " + msg);
  }
  llvm::Error error(const Twine &msg) { return errorAt(pos, msg); }

  void skipSpace() {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' ||
                                 text[pos] == '\n' || text[pos] == '\r'))
      ++pos;
  }
  bool consume(char c) {
    skipSpace();
    if (pos < text.size() && text[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }

  llvm::Error parseString(std::string &out) {
    skipSpace();
    if (pos >= text.size() || (text[pos] != '\'' && text[pos] != '"'))
      return error("expected a quoted string");
    char quote = text[pos++];
    size_t end = text.find(quote, pos);
    if (end == StringRef::npos)
      return error("unterminated string");
    out = text.slice(pos, end).str();
    pos = end + 1;
    return llvm::Error::success();
  }

  llvm::Error parseDescr(StringRef descr, size_t at, Dtype &dtype) {
    StringRef s = descr;
    if (!s.empty() &&
        (s[0] == '<' || s[0] == '>' || s[0] == '|' || s[0] == '=')) {
      dtype.bigEndian = s[0] == '>';
      s = s.drop_front();
    }
    unsigned size = 0;
    if (s.size() < 2 || s.drop_front().getAsInteger(10, size))
      return errorAt(at, "unsupported dtype '" + descr + "'");
    dtype.kind = s[0];
    dtype.size = size;
    bool ok = (dtype.kind == 'f' && (size == 2 || size == 4 || size == 8)) ||
              ((dtype.kind == 'i' || dtype.kind == 'u') &&
               (size == 1 || size == 2 || size == 4 || size == 8)) ||
              (dtype.kind == 'b' && size == 1);
    if (!ok)
      return errorAt(at, "unsupported dtype '" + descr +
                             "' (supported: bool, int8-64, uint8-64, "
                             "float16/32/64)");
    return llvm::Error::success();
  }

  llvm::Error parseShape(std::vector<int64_t> &shape) {
    if (!consume('('))
      return error("expected '(' to open the shape tuple");
    shape.clear();
    while (true) {
      skipSpace();
      if (consume(')'))
        return llvm::Error::success();
      size_t start = pos;
      while (pos < text.size() && llvm::isDigit(text[pos]))
        ++pos;
      int64_t dim = 0;
      if (start == pos || text.slice(start, pos).getAsInteger(10, dim))
        return errorAt(start, "expected a non-negative dim in the shape");
      shape.push_back(dim);
      skipSpace();
      if (consume(')'))
        return llvm::Error::success();
      if (!consume(','))
        return error("expected ',' or ')' in the shape tuple");
    }
  }

  StringRef text;
  size_t base;
  StringRef name;
  size_t pos = 0;
};

/// The element at `p` as a double.
double decode(const char *p, const Dtype &dtype) {
  unsigned char bytes[8];
  std::memcpy(bytes, p, dtype.size);
  if (dtype.bigEndian)
    std::reverse(bytes, bytes + dtype.size);
  uint64_t bits = 0;
  for (unsigned i = 0; i < dtype.size; ++i)
    bits |= static_cast<uint64_t>(bytes[i]) << (8 * i);
  unsigned width = 8 * dtype.size;
  switch (dtype.kind) {
  case 'b':
    return bits != 0 ? 1.0 : 0.0;
  case 'u':
    return static_cast<double>(bits);
  case 'i':
    return static_cast<double>(llvm::APInt(width, bits).getSExtValue());
  default: {
    const llvm::fltSemantics &sem = width == 16   ? llvm::APFloat::IEEEhalf()
                                    : width == 32 ? llvm::APFloat::IEEEsingle()
                                                  : llvm::APFloat::IEEEdouble();
    return llvm::APFloat(sem, llvm::APInt(width, bits)).convertToDouble();
  }
  }
}

} // namespace

llvm::Expected<HostTensor> mlir::pz::interp::parseNpy(StringRef bytes,
                                                      StringRef name,
                                                      bool *isIntegerDtype) {
  auto fail = [&](size_t at, const Twine &msg) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   name + ": malformed npy at byte " +
                                       Twine(at) + ": " + msg);
  };
  if (!bytes.starts_with("\x93NUMPY"))
    return fail(0, "missing the magic string \\x93NUMPY");
  if (bytes.size() < 10)
    return fail(bytes.size(), "the file ends inside the preamble");
  unsigned major = static_cast<unsigned char>(bytes[6]);
  if (major < 1 || major > 3)
    return fail(6, "unsupported format version " + Twine(major) + "." +
                       Twine(static_cast<unsigned>(
                           static_cast<unsigned char>(bytes[7]))));
  size_t lenBytes = major == 1 ? 2 : 4;
  if (bytes.size() < 8 + lenBytes)
    return fail(bytes.size(), "the file ends inside the header length");
  size_t headerLen = 0;
  for (size_t i = 0; i < lenBytes; ++i)
    headerLen |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i]))
                 << (8 * i);
  size_t headerStart = 8 + lenBytes;
  if (bytes.size() < headerStart + headerLen)
    return fail(bytes.size(), "the file ends inside the header (" +
                                  Twine(headerLen) + " bytes announced)");
  Dtype dtype;
  bool fortran = false;
  std::vector<int64_t> shape;
  HeaderParser parser(bytes.substr(headerStart, headerLen), headerStart, name);
  if (auto err = parser.parse(dtype, fortran, shape))
    return std::move(err);

  size_t dataStart = headerStart + headerLen;
  size_t have = bytes.size() - dataStart;
  uint64_t n = 1, want = 0;
  bool overflow = false;
  for (int64_t d : shape)
    overflow |= __builtin_mul_overflow(n, static_cast<uint64_t>(d), &n);
  overflow |= __builtin_mul_overflow(n, uint64_t(dtype.size), &want);
  if (overflow)
    return fail(headerStart, "the shape's element count overflows");
  if (have != want)
    return fail(dataStart, "expected " + Twine(want) + " bytes of data for " +
                               Twine(n) + " elements, found " + Twine(have));
  HostTensor t(shape, std::vector<double>(n));
  const char *data = bytes.data() + dataStart;
  if (!fortran || shape.size() < 2) {
    for (uint64_t i = 0; i < n; ++i)
      t.data[i] = decode(data + i * dtype.size, dtype);
  } else {
    // Column-major: the first dim varies fastest.
    std::vector<int64_t> idx(shape.size(), 0);
    for (uint64_t i = 0; i < n; ++i) {
      int64_t off = 0, stride = 1;
      for (size_t d = 0; d < shape.size(); ++d) {
        off += idx[d] * stride;
        stride *= shape[d];
      }
      t.data[i] = decode(data + off * dtype.size, dtype);
      for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
        if (++idx[d] < shape[d])
          break;
        idx[d] = 0;
      }
    }
  }
  if (isIntegerDtype)
    *isIntegerDtype = dtype.kind != 'f';
  return t;
}

llvm::Expected<HostTensor> mlir::pz::interp::readNpy(StringRef path,
                                                     bool *isIntegerDtype) {
  if (std::string why = checkRegularFile(path); !why.empty())
    return llvm::createStringError(std::make_error_code(std::errc::invalid_argument),
                                   "cannot read " + why);
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return llvm::createStringError(buffer.getError(),
                                   "cannot read '" + path +
                                       "': " + buffer.getError().message());
  return parseNpy((*buffer)->getBuffer(), path, isIntegerDtype);
}

std::string mlir::pz::interp::serializeNpy(const HostTensor &tensor) {
  bool integer = tensor.isInteger();
  bool isUnsigned = integer && tensor.elementType.isUnsignedInteger();
  std::string dict = "{'descr': '";
  dict += isUnsigned ? "<u8" : integer ? "<i8" : "<f8";
  dict += "', 'fortran_order': False, 'shape': (";
  for (int64_t d : tensor.shape)
    dict += std::to_string(d) + (tensor.shape.size() == 1 ? "," : ", ");
  if (tensor.shape.size() > 1)
    dict.resize(dict.size() - 2);
  dict += "), }";
  // Pad so that the data starts at a multiple of 64 bytes; end with '\n'.
  size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(dict.size() & 0xff);
  out += static_cast<char>((dict.size() >> 8) & 0xff);
  out += dict;
  for (double v : tensor.data) {
    uint64_t bits;
    if (isUnsigned) {
      // 2^64 is the nearest double of the largest ui64 value.
      bits = v >= 0x1p64 ? UINT64_MAX : v <= 0 ? 0 : static_cast<uint64_t>(v);
    } else if (integer) {
      int64_t i = v >= 0x1p63    ? INT64_MAX
                  : v <= -0x1p63 ? INT64_MIN
                                 : static_cast<int64_t>(v);
      std::memcpy(&bits, &i, 8);
    } else {
      std::memcpy(&bits, &v, 8);
    }
    for (int b = 0; b < 8; ++b)
      out += static_cast<char>((bits >> (8 * b)) & 0xff);
  }
  return out;
}

llvm::Error mlir::pz::interp::writeNpy(StringRef path,
                                       const HostTensor &tensor) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return llvm::createStringError(ec, "cannot write '" + path +
                                           "': " + ec.message());
  os << serializeNpy(tensor);
  os.close();
  if (os.has_error())
    return llvm::createStringError(
        os.error(), "cannot write '" + path + "': " + os.error().message());
  return llvm::Error::success();
}
