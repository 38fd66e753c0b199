// .npy reading: hand-built headers, numpy-written files, malformed headers.
#include "pzrt/data.h"
#include "pzrt/error.h"
#include "pzrt/run.h"

#include "test_util.h"

#include <gtest/gtest.h>

#include <climits>
#include <cstring>
#include <string>
#include <vector>

namespace {

using pzrt::test::TempDir;

// Builds a .npy file: version 1 (2-byte length) or 2 (4-byte length).
std::string npyBytes(const std::string &dict, const std::string &data, int version = 1) {
  std::string pre = std::string("\x93NUMPY", 6) + static_cast<char>(version) + '\0';
  size_t lenBytes = version == 1 ? 2 : 4;
  std::string header = dict;
  while ((pre.size() + lenBytes + header.size() + 1) % 64 != 0)
    header += ' ';
  header += '\n';
  std::string len;
  for (size_t i = 0; i < lenBytes; ++i)
    len += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return pre + len + header + data;
}

std::string writeNpy(const TempDir &d, const char *name, const std::string &bytes) {
  pzrt::test::writeBytes(d.file(name), bytes);
  return d.file(name);
}

TEST(Npy, ReadsFloatMatrixAndWrapsRows) {
  TempDir d;
  std::vector<float> v;
  for (int i = 0; i < 15; ++i)
    v.push_back(static_cast<float>(i) * 0.5f);
  std::string path = writeNpy(
      d, "a.npy",
      npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (5, 3), }", pzrt::test::bytesOf(v)));
  pzrt_npy *a = pzrt_npy_open(path.c_str());
  ASSERT_NE(a, nullptr) << pzrt_last_error();
  EXPECT_EQ(pzrt_npy_dtype(a), PZRT_F32);
  ASSERT_EQ(pzrt_npy_ndim(a), 2);
  EXPECT_EQ(pzrt_npy_shape(a)[0], 5);
  EXPECT_EQ(pzrt_npy_row_elems(a), 3);
  // Step 1 of G = 4 on dp rank 0 of 2: rows 4, 5 -> 4, 0.
  pzrt_batch_slice s{1, 4, 0, 2, 0, 1};
  float out[6];
  ASSERT_EQ(pzrt_npy_batch(a, &s, out), 0);
  EXPECT_EQ(out[0], 6.0f); // row 4 = elements 12..14
  EXPECT_EQ(out[2], 7.0f);
  EXPECT_EQ(out[3], 0.0f); // row 5 wraps to row 0
  EXPECT_EQ(out[5], 1.0f);
  pzrt_npy_close(a);
}

TEST(Npy, Version2AndInt64) {
  TempDir d;
  std::vector<int64_t> v = {-1, 2, 1LL << 40, 4};
  std::string path = writeNpy(
      d, "b.npy",
      npyBytes("{\"descr\": \"<i8\", \"fortran_order\": False, \"shape\": (4,)}",
               pzrt::test::bytesOf(v), 2));
  pzrt_npy *a = pzrt_npy_open(path.c_str());
  ASSERT_NE(a, nullptr) << pzrt_last_error();
  EXPECT_EQ(pzrt_npy_dtype(a), PZRT_I64);
  EXPECT_EQ(pzrt_npy_row_elems(a), 1);
  int64_t out[3];
  ASSERT_EQ(pzrt_npy_rows(a, 2, 3, out), 0);
  EXPECT_EQ(out[0], 1LL << 40);
  EXPECT_EQ(out[1], 4);
  EXPECT_EQ(out[2], -1);
  pzrt_npy_close(a);
}

TEST(Npy, ReadsFilesWrittenByNumpy) {
  if (!pzrt::test::pythonHas("numpy"))
    GTEST_SKIP() << "numpy not available";
  TempDir d;
  std::string cmd = std::string(PZRT_TEST_PYTHON) + " -c \"import numpy as np; "
                    "np.save('" + d.file("f.npy") + "', np.arange(24, dtype='<f4').reshape(2,3,4)); "
                    "np.save('" + d.file("i.npy") + "', np.arange(6, dtype='<i4') * 7); "
                    "f = open('" + d.file("v2.npy") + "', 'wb'); "
                    "np.lib.format.write_array(f, np.arange(3, dtype='<i8'), version=(2, 0))\"";
  ASSERT_EQ(pzrt::test::runCommand(cmd), 0);
  pzrt_npy *f = pzrt_npy_open(d.file("f.npy").c_str());
  ASSERT_NE(f, nullptr) << pzrt_last_error();
  EXPECT_EQ(pzrt_npy_row_elems(f), 12);
  float row[12];
  ASSERT_EQ(pzrt_npy_rows(f, 1, 1, row), 0);
  EXPECT_EQ(row[0], 12.0f);
  EXPECT_EQ(row[11], 23.0f);
  pzrt_npy_close(f);
  pzrt_npy *i = pzrt_npy_open(d.file("i.npy").c_str());
  ASSERT_NE(i, nullptr) << pzrt_last_error();
  EXPECT_EQ(pzrt_npy_dtype(i), PZRT_I32);
  EXPECT_EQ(static_cast<const int32_t *>(pzrt_npy_data(i))[5], 35);
  pzrt_npy_close(i);
  pzrt_npy *v2 = pzrt_npy_open(d.file("v2.npy").c_str());
  ASSERT_NE(v2, nullptr) << pzrt_last_error();
  EXPECT_EQ(static_cast<const int64_t *>(pzrt_npy_data(v2))[2], 2);
  pzrt_npy_close(v2);
}

TEST(Npy, HalfPrecisionFilesRoundTripThroughNumpy) {
  if (!pzrt::test::pythonHas("numpy"))
    GTEST_SKIP() << "numpy not available";
  TempDir d;
  // f16 is '<f2' both ways; bf16 is written as its raw bits ('<u2').
  const uint16_t f16[3] = {0x3C00, 0xC000, 0x2E66}, bf16[2] = {0x3F80, 0xC0A0};
  int64_t s3[1] = {3}, s2[1] = {2};
  ASSERT_EQ(pzrt_npy_write(d.file("h.npy").c_str(), PZRT_F16, 1, s3, f16, 0), 0);
  ASSERT_EQ(pzrt_npy_write(d.file("b.npy").c_str(), PZRT_BF16, 1, s2, bf16, 0), 0);
  std::string cmd = std::string(PZRT_TEST_PYTHON) + " -c \"import numpy as np; "
                    "h = np.load('" + d.file("h.npy") + "'); b = np.load('" + d.file("b.npy") + "'); "
                    "assert h.dtype == np.float16 and h.tolist() == [1.0, -2.0, np.float16(0.1)], h; "
                    "assert b.dtype == np.uint16 and b.tolist() == [0x3F80, 0xC0A0], b; "
                    "np.save('" + d.file("n.npy") + "', np.array([0.5, -3], dtype='<f2'))\"";
  ASSERT_EQ(pzrt::test::runCommand(cmd), 0);
  pzrt_npy *n = pzrt_npy_open(d.file("n.npy").c_str());
  ASSERT_NE(n, nullptr) << pzrt_last_error();
  EXPECT_EQ(pzrt_npy_dtype(n), PZRT_F16);
  EXPECT_EQ(static_cast<const uint16_t *>(pzrt_npy_data(n))[0], 0x3800);
  EXPECT_EQ(static_cast<const uint16_t *>(pzrt_npy_data(n))[1], 0xC200);
  pzrt_npy_close(n);
}

TEST(Npy, UnsignedFilesRoundTripThroughNumpy) {
  if (!pzrt::test::pythonHas("numpy"))
    GTEST_SKIP() << "numpy not available";
  TempDir d;
  // U8 is '|u1' (or '|b1' with as_bool), U64 '<u8' with its full range.
  const uint8_t u8[3] = {0, 200, 255};
  const uint64_t u64[2] = {UINT64_MAX, 1ull << 63};
  int64_t s3[1] = {3}, s2[1] = {2};
  ASSERT_EQ(pzrt_npy_write(d.file("a.npy").c_str(), PZRT_U8, 1, s3, u8, 0), 0);
  ASSERT_EQ(pzrt_npy_write(d.file("m.npy").c_str(), PZRT_U8, 1, s3, u8, 1), 0);
  ASSERT_EQ(pzrt_npy_write(d.file("q.npy").c_str(), PZRT_U64, 1, s2, u64, 0), 0);
  std::string cmd = std::string(PZRT_TEST_PYTHON) + " -c \"import numpy as np; "
                    "a = np.load('" + d.file("a.npy") + "'); m = np.load('" + d.file("m.npy") + "'); "
                    "q = np.load('" + d.file("q.npy") + "'); "
                    "assert a.dtype == np.uint8 and a.tolist() == [0, 200, 255], a; "
                    "assert m.dtype == np.bool_, m; "
                    "assert q.dtype == np.uint64 and q.tolist() == [2**64 - 1, 2**63], q; "
                    "np.save('" + d.file("n.npy") + "', np.array([2**64 - 2, 7], dtype='<u8'))\"";
  ASSERT_EQ(pzrt::test::runCommand(cmd), 0);
  pzrt_npy *n = pzrt_npy_open(d.file("n.npy").c_str());
  ASSERT_NE(n, nullptr) << pzrt_last_error();
  EXPECT_EQ(pzrt_npy_dtype(n), PZRT_U64);
  EXPECT_EQ(static_cast<const uint64_t *>(pzrt_npy_data(n))[0], UINT64_MAX - 1);
  EXPECT_EQ(static_cast<const uint64_t *>(pzrt_npy_data(n))[1], 7u);
  pzrt_npy_close(n);
}

TEST(Npy, SignedNarrowFilesRoundTripThroughNumpy) {
  if (!pzrt::test::pythonHas("numpy"))
    GTEST_SKIP() << "numpy not available";
  TempDir d;
  // I8 is '|i1', I16 '<i2', each with its extremes.
  const int8_t i8[3] = {-128, -1, 127};
  const int16_t i16[2] = {-32768, 32767};
  int64_t s3[1] = {3}, s2[1] = {2};
  ASSERT_EQ(pzrt_npy_write(d.file("b.npy").c_str(), PZRT_I8, 1, s3, i8, 0), 0);
  ASSERT_EQ(pzrt_npy_write(d.file("h.npy").c_str(), PZRT_I16, 1, s2, i16, 0), 0);
  std::string cmd = std::string(PZRT_TEST_PYTHON) + " -c \"import numpy as np; "
                    "b = np.load('" + d.file("b.npy") + "'); h = np.load('" + d.file("h.npy") + "'); "
                    "assert b.dtype == np.int8 and b.tolist() == [-128, -1, 127], b; "
                    "assert h.dtype == np.int16 and h.tolist() == [-32768, 32767], h; "
                    "np.save('" + d.file("n.npy") + "', np.array([-7, 300], dtype='<i2'))\"";
  ASSERT_EQ(pzrt::test::runCommand(cmd), 0);
  pzrt_npy *n = pzrt_npy_open(d.file("n.npy").c_str());
  ASSERT_NE(n, nullptr) << pzrt_last_error();
  EXPECT_EQ(pzrt_npy_dtype(n), PZRT_I16);
  EXPECT_EQ(static_cast<const int16_t *>(pzrt_npy_data(n))[0], -7);
  EXPECT_EQ(static_cast<const int16_t *>(pzrt_npy_data(n))[1], 300);
  pzrt_npy_close(n);
}

struct Malformed {
  const char *name;
  std::string bytes;
  const char *message;
};

TEST(Npy, MalformedHeadersSayWhatAndWhere) {
  TempDir d;
  std::string f4(24, '\0');
  const std::string ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  std::string longLen = npyBytes(ok, f4);
  longLen[8] = '\xff';
  longLen[9] = '\x7f';
  const Malformed cases[] = {
      {"magic", "NOTNUMPYATALL", "missing the \\x93NUMPY magic at byte 0"},
      {"version", std::string("\x93NUMPY\x09\x00\x00\x00", 10), "format version 9.0 at byte 6"},
      {"length", longLen, "header length 32767 (at byte 8) runs past the end"},
      {"fortran", npyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", f4),
       "Fortran-order arrays are not supported"},
      {"bigendian", npyBytes("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", f4),
       "big-endian dtype '>f4' at byte 20 is not supported"},
      {"dtype", npyBytes("{'descr': '<c8', 'fortran_order': False, 'shape': (2, 3), }", f4),
       "unsupported dtype '<c8' at byte 20"},
      {"key", npyBytes("{'descr': '<f4', 'order': False, 'shape': (2, 3), }", f4),
       "unknown key 'order' at byte 27"},
      {"noshape", npyBytes("{'descr': '<f4', 'fortran_order': False}", f4), "lacks 'shape'"},
      {"tuple", npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2; 3), }", f4),
       "expected ',' or ')' in shape at byte 62"},
      {"bool", npyBytes("{'descr': '<f4', 'fortran_order': Nope, 'shape': (2, 3), }", f4),
       "expected True or False at byte 44"},
      {"truncated", npyBytes(ok, std::string(20, '\0')),
       "shape needs 24 bytes of F32 data after byte 128, but only 20 remain"},
  };
  for (const Malformed &c : cases) {
    std::string path = writeNpy(d, c.name, c.bytes);
    EXPECT_EQ(pzrt_npy_open(path.c_str()), nullptr) << c.name;
    std::string msg = pzrt_last_error();
    EXPECT_NE(msg.find(c.message), std::string::npos) << c.name << ": " << msg;
    EXPECT_NE(msg.find(path), std::string::npos) << c.name << ": " << msg;
  }
}

// A 0-d array opens (the run program feeds scalars), but has no rows to feed
// training data.
TEST(Npy, ZeroDimensionalArrayOpensButHasNoRows) {
  TempDir d;
  std::string path = writeNpy(
      d, "zerod", npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (), }",
                           std::string(4, '\0')));
  pzrt_npy *a = pzrt_npy_open(path.c_str());
  ASSERT_NE(a, nullptr) << pzrt_last_error();
  EXPECT_EQ(pzrt_npy_ndim(a), 0);
  float row = 0;
  EXPECT_EQ(pzrt_npy_rows(a, 0, 1, &row), -1);
  std::string msg = pzrt_last_error();
  EXPECT_NE(msg.find("0-d array"), std::string::npos) << msg;
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  pzrt_npy_close(a);
}

TEST(Npy, ShapesThatOverflowAreRejected) {
  TempDir d;
  struct Case {
    const char *shape;
  } cases[] = {
      {"(0, 1099511627776, 1099511627776)"}, // no rows, but a row of 2^80 elements
      {"(4611686018427387904, 2)"},          // 2^63 elements
      {"(2305843009213693952,)"},            // 2^61 elements, 2^63 bytes of float32
  };
  for (const Case &c : cases) {
    std::string path = writeNpy(
        d, "big.npy",
        npyBytes(std::string("{'descr': '<f4', 'fortran_order': False, 'shape': ") + c.shape +
                     ", }",
                 std::string(16, '\0')));
    EXPECT_EQ(pzrt_npy_open(path.c_str()), nullptr) << c.shape;
    EXPECT_NE(std::string(pzrt_last_error()).find("is too large (more than 2^62 elements or bytes)"),
              std::string::npos)
        << c.shape << ": " << pzrt_last_error();
  }
}

TEST(Npy, RowIndicesNearTheLimitWrapWithoutOverflow) {
  TempDir d;
  std::vector<float> v = {0, 1, 2, 3, 4};
  std::string path = writeNpy(
      d, "a.npy",
      npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", pzrt::test::bytesOf(v)));
  pzrt_npy *a = pzrt_npy_open(path.c_str());
  ASSERT_NE(a, nullptr) << pzrt_last_error();
  float out[4];
  const int64_t first = INT64_MAX - 1; // rows first .. first+3 pass INT64_MAX
  ASSERT_EQ(pzrt_npy_rows(a, first, 4, out), 0);
  for (int i = 0; i < 4; ++i) {
    int64_t row = static_cast<int64_t>((static_cast<unsigned __int128>(first) + i) % 5);
    EXPECT_EQ(out[i], static_cast<float>(row)) << i;
  }
  pzrt_npy_close(a);
  // A batch slice whose first row overflows is an error.
  pzrt_batch_slice s{INT64_MAX / 2, 4, 0, 1, 0, 1};
  int64_t f = 0, count = 0;
  EXPECT_EQ(pzrt_batch_slice_range(&s, &f, &count), -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("overflows the row index"), std::string::npos)
      << pzrt_last_error();
}

} // namespace
