// .npy reader: format 1.0/2.0/3.0 headers, little-endian numeric dtypes, C order.
#include "pzrt/data.h"

#include "core/checked.h"
#include "core/internal.h"
#include "io/fsutil.h"

#include <cstring>
#include <string>
#include <vector>

using pzrt::fail;

struct pzrt_npy {
  pzrt::MappedFile file;
  pzrt_dtype dtype = PZRT_F32;
  std::vector<int64_t> shape;
  int64_t rowElems = 1;
  const unsigned char *data = nullptr;
};

namespace {

// Parses the Python dict literal of a .npy header. Offsets in errors are
// absolute byte offsets in the file.
struct HeaderParser {
  const std::string &path;
  const char *s;
  size_t n, pos = 0, base;
  std::string err;

  bool fail(const std::string &what) {
    if (err.empty())
      err = pzrt::format("'%s': malformed .npy header: %s at byte %zu", path.c_str(), what.c_str(),
                         base + pos);
    return false;
  }
  void ws() {
    while (pos < n && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n' || s[pos] == '\r'))
      ++pos;
  }
  bool expect(char c) {
    ws();
    if (pos >= n || s[pos] != c)
      return fail(std::string("expected '") + c + "'");
    ++pos;
    return true;
  }
  bool str(std::string &out) {
    ws();
    if (pos >= n || (s[pos] != '\'' && s[pos] != '"'))
      return fail("expected a quoted string");
    char q = s[pos++];
    size_t start = pos;
    while (pos < n && s[pos] != q)
      ++pos;
    if (pos >= n)
      return fail("unterminated string");
    out.assign(s + start, pos - start);
    ++pos;
    return true;
  }
  bool boolean(bool &out) {
    ws();
    if (n - pos >= 4 && std::strncmp(s + pos, "True", 4) == 0) {
      pos += 4;
      out = true;
      return true;
    }
    if (n - pos >= 5 && std::strncmp(s + pos, "False", 5) == 0) {
      pos += 5;
      out = false;
      return true;
    }
    return fail("expected True or False");
  }
  bool tuple(std::vector<int64_t> &out) {
    if (!expect('('))
      return false;
    while (true) {
      ws();
      if (pos < n && s[pos] == ')') {
        ++pos;
        return true;
      }
      if (pos >= n || s[pos] < '0' || s[pos] > '9')
        return fail("expected a non-negative integer in shape");
      int64_t v = 0;
      while (pos < n && s[pos] >= '0' && s[pos] <= '9') {
        if (v > (INT64_MAX - 9) / 10)
          return fail("shape dimension too large");
        v = v * 10 + (s[pos++] - '0');
      }
      while (pos < n && s[pos] == 'L') // Python 2 long suffix
        ++pos;
      out.push_back(v);
      ws();
      if (pos < n && s[pos] == ',') {
        ++pos;
        continue;
      }
      if (pos < n && s[pos] == ')') {
        ++pos;
        return true;
      }
      return fail("expected ',' or ')' in shape");
    }
  }
};

int parseDescr(const std::string &path, const std::string &d, size_t offset, pzrt_dtype *out) {
  struct Known {
    const char *name;
    pzrt_dtype dtype;
  } known[] = {{"<f4", PZRT_F32}, {"<f8", PZRT_F64}, {"<f2", PZRT_F16}, {"<i4", PZRT_I32}, {"<i8", PZRT_I64},
               {"|u1", PZRT_U8},  {"<u1", PZRT_U8},  {"|b1", PZRT_U8},  {"<u2", PZRT_U16}, {"<u4", PZRT_U32},
               {"<u8", PZRT_U64}, {"|i1", PZRT_I8},  {"<i1", PZRT_I8},  {"<i2", PZRT_I16}};
  for (const Known &k : known) {
    if (d == k.name) {
      *out = k.dtype;
      return 0;
    }
  }
  if (!d.empty() && d[0] == '>')
    return fail("'%s': big-endian dtype '%s' at byte %zu is not supported; convert with "
                "arr.astype(arr.dtype.newbyteorder('<'))",
                path.c_str(), d.c_str(), offset);
  return fail("'%s': unsupported dtype '%s' at byte %zu of the .npy header (supported: <f4, <f8, <f2, "
              "<i4, <i8, |u1, <u2, <u4, <u8)",
              path.c_str(), d.c_str(), offset);
}

} // namespace

extern "C" {

pzrt_npy *pzrt_npy_open(const char *path) {
  auto *a = new pzrt_npy();
  auto bad = [&](int) -> pzrt_npy * {
    delete a;
    return nullptr;
  };
  if (!path)
    return bad(fail("npy_open: path is NULL"));
  if (a->file.open(path))
    return bad(-1);
  const unsigned char *p = a->file.data();
  size_t size = a->file.size();
  if (size < 10 || std::memcmp(p, "\x93NUMPY", 6) != 0)
    return bad(fail("'%s' is not a .npy file: missing the \\x93NUMPY magic at byte 0", path));
  int major = p[6];
  size_t headerLen = 0, headerStart = 0;
  if (major == 1) {
    headerLen = static_cast<size_t>(p[8] | (p[9] << 8));
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12)
      return bad(fail("'%s': truncated .npy preamble (file has %zu bytes)", path, size));
    headerLen = static_cast<size_t>(p[8]) | (static_cast<size_t>(p[9]) << 8) |
                (static_cast<size_t>(p[10]) << 16) | (static_cast<size_t>(p[11]) << 24);
    headerStart = 12;
  } else {
    return bad(fail("'%s': unsupported .npy format version %d.%d at byte 6", path, major, p[7]));
  }
  if (headerStart + headerLen > size)
    return bad(fail("'%s': .npy header length %zu (at byte 8) runs past the end of the %zu-byte "
                    "file",
                    path, headerLen, size));
  std::string spath(path);
  HeaderParser hp{spath, reinterpret_cast<const char *>(p + headerStart), headerLen, 0,
                  headerStart, {}};
  std::string descr;
  bool fortran = false, haveDescr = false, haveFortran = false, haveShape = false;
  if (!hp.expect('{'))
    return bad(pzrt::failStr(hp.err));
  while (true) {
    hp.ws();
    if (hp.pos < hp.n && hp.s[hp.pos] == '}') {
      ++hp.pos;
      break;
    }
    size_t keyPos = hp.pos;
    std::string key;
    if (!hp.str(key) || !hp.expect(':'))
      return bad(pzrt::failStr(hp.err));
    if (key == "descr") {
      hp.ws();
      size_t at = headerStart + hp.pos;
      if (!hp.str(descr))
        return bad(pzrt::failStr(hp.err));
      if (parseDescr(spath, descr, at, &a->dtype))
        return bad(-1);
      haveDescr = true;
    } else if (key == "fortran_order") {
      if (!hp.boolean(fortran))
        return bad(pzrt::failStr(hp.err));
      haveFortran = true;
    } else if (key == "shape") {
      if (!hp.tuple(a->shape))
        return bad(pzrt::failStr(hp.err));
      haveShape = true;
    } else {
      hp.pos = keyPos;
      hp.fail("unknown key '" + key + "'");
      return bad(pzrt::failStr(hp.err));
    }
    hp.ws();
    if (hp.pos < hp.n && hp.s[hp.pos] == ',') {
      ++hp.pos;
      continue;
    }
    if (!hp.expect('}'))
      return bad(pzrt::failStr(hp.err));
    break;
  }
  if (!haveDescr || !haveFortran || !haveShape)
    return bad(fail("'%s': .npy header at byte %zu lacks '%s'", path, headerStart,
                    !haveDescr ? "descr" : (!haveFortran ? "fortran_order" : "shape")));
  if (fortran)
    return bad(fail("'%s': Fortran-order arrays are not supported (header at byte %zu); save with "
                    "np.ascontiguousarray",
                    path, headerStart));
  const size_t elem = pzrt_dtype_size(a->dtype);
  int64_t numel = 0, bytes = 0, rowBytes = 0;
  if (!pzrt::checkedNumel(a->shape.data(), a->shape.size(), numel) ||
      !pzrt::checkedMul(numel, static_cast<int64_t>(elem), bytes) ||
      (a->shape.size() > 1 &&
       !pzrt::checkedBytes(a->shape.data() + 1, a->shape.size() - 1, elem, rowBytes)))
    return bad(fail("'%s': the shape in the .npy header at byte %zu is too large (more than "
                    "2^62 elements or bytes)",
                    path, headerStart));
  for (size_t i = 1; i < a->shape.size(); ++i)
    a->rowElems *= a->shape[i];
  size_t dataStart = headerStart + headerLen;
  size_t available = size - dataStart;
  if (static_cast<uint64_t>(bytes) > available)
    return bad(fail("'%s': shape needs %lld bytes of %s data after byte %zu, but only %zu remain",
                    path, static_cast<long long>(bytes), pzrt_dtype_name(a->dtype), dataStart,
                    available));
  a->data = p + dataStart;
  return a;
}

void pzrt_npy_close(pzrt_npy *a) { delete a; }
pzrt_dtype pzrt_npy_dtype(const pzrt_npy *a) { return a ? a->dtype : PZRT_F32; }
int pzrt_npy_ndim(const pzrt_npy *a) { return a ? static_cast<int>(a->shape.size()) : 0; }
const int64_t *pzrt_npy_shape(const pzrt_npy *a) { return a ? a->shape.data() : nullptr; }
int64_t pzrt_npy_row_elems(const pzrt_npy *a) { return a ? a->rowElems : 0; }
const void *pzrt_npy_data(const pzrt_npy *a) { return a ? a->data : nullptr; }

int pzrt_npy_rows(const pzrt_npy *a, int64_t first, int64_t count, void *out) {
  if (!a)
    return fail("npy_rows: array is NULL");
  if (a->shape.empty())
    return fail("'%s': 0-d array; data inputs need at least one dimension (rows)",
                a->file.path().c_str());
  if (a->shape[0] == 0)
    return fail("'%s': the array has no rows", a->file.path().c_str());
  if (first < 0 || count < 0)
    return fail("npy_rows: negative row index %lld or count %lld", (long long)first,
                (long long)count);
  size_t rowBytes = static_cast<size_t>(a->rowElems) * pzrt_dtype_size(a->dtype);
  const int64_t rows = a->shape[0], start = first % rows;
  for (int64_t i = 0; i < count; ++i) {
    int64_t row = (start + i % rows) % rows; // (first + i) mod rows, without overflow
    std::memcpy(static_cast<char *>(out) + static_cast<size_t>(i) * rowBytes,
                a->data + static_cast<size_t>(row) * rowBytes, rowBytes);
  }
  return 0;
}

int pzrt_npy_batch(const pzrt_npy *a, const pzrt_batch_slice *slice, void *out) {
  int64_t first = 0, count = 0;
  if (pzrt_batch_slice_range(slice, &first, &count))
    return -1;
  return pzrt_npy_rows(a, first, count, out);
}

} // extern "C"
