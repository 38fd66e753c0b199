//===- NpyTest.cpp - the .npy reader and writer ---------------------------===//

#include "InterpTestUtils.h"

#include "pz/Interp/Npy.h"

#include "mlir/IR/Builders.h"

#include <cstring>

using namespace mlir;
using namespace mlir::pz::interp;
using namespace pztest;

namespace {

/// An .npy v1.0 file with `dict` as its header (padded) and `data`.
std::string npyFile(const std::string &dict, const std::string &data) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64)
    header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  return out + header + data;
}

template <typename T> std::string bytesOf(std::initializer_list<T> values) {
  std::string s;
  for (T v : values) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    s.append(b, sizeof(T));
  }
  return s;
}

std::string errorOf(llvm::Expected<HostTensor> t) {
  if (t)
    return "<no error>";
  return llvm::toString(t.takeError());
}

TEST(Npy, RoundTripsFloatAndIntegerTensors) {
  MLIRContext ctx;
  Builder b(&ctx);
  HostTensor f({2, 3}, {1.5, -2, 0.1, 1e300, -0.0, 3}, b.getF32Type());
  auto back = parseNpy(serializeNpy(f), "f.npy");
  ASSERT_TRUE(static_cast<bool>(back)) << llvm::toString(back.takeError());
  expectTensor(*back, {2, 3}, f.data, 0.0);
  HostTensor i({4}, {-3, 0, 7, 1LL << 40}, b.getI64Type());
  bool isInt = false;
  back = parseNpy(serializeNpy(i), "i.npy", &isInt);
  ASSERT_TRUE(static_cast<bool>(back));
  EXPECT_TRUE(isInt);
  expectTensor(*back, {4}, i.data, 0.0);
  // Unsigned tensors are '<u8', and the largest ui64 (2^64 as a double)
  // is written as 2^64 - 1.
  HostTensor u({3}, {0, 255, 18446744073709551616.0},
               b.getIntegerType(64, /*isSigned=*/false));
  std::string ubytes = serializeNpy(u);
  EXPECT_NE(ubytes.find("'descr': '<u8'"), std::string::npos);
  EXPECT_EQ(ubytes.substr(ubytes.size() - 8), std::string(8, '\xff'));
  back = parseNpy(ubytes, "u.npy");
  ASSERT_TRUE(static_cast<bool>(back));
  expectTensor(*back, {3}, {0, 255, 18446744073709551616.0}, 0.0);
  HostTensor scalar({}, {42}, b.getF64Type());
  std::string bytes = serializeNpy(scalar);
  EXPECT_NE(bytes.find("'shape': (), "), std::string::npos);
  EXPECT_EQ(bytes.size() % 64, 8u); // 64-aligned header, one 8-byte element
  back = parseNpy(bytes, "s.npy");
  ASSERT_TRUE(static_cast<bool>(back));
  expectTensor(*back, {}, {42}, 0.0);
}

TEST(Npy, ReadsOtherDtypesByteOrdersAndFortranOrder) {
  auto f4 = parseNpy(
      npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
              bytesOf<float>({0.5f, -4.0f})),
      "f4.npy");
  ASSERT_TRUE(static_cast<bool>(f4)) << llvm::toString(f4.takeError());
  expectTensor(*f4, {2}, {0.5, -4}, 0.0);
  // Big-endian int16 -2 and 258.
  auto i2 = parseNpy(
      npyFile("{'descr': '>i2', 'fortran_order': False, 'shape': (2,), }",
              std::string("\xff\xfe\x01\x02", 4)),
      "i2.npy");
  ASSERT_TRUE(static_cast<bool>(i2)) << llvm::toString(i2.takeError());
  expectTensor(*i2, {2}, {-2, 258}, 0.0);
  auto b1 = parseNpy(
      npyFile("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }",
              std::string("\x01\x00\x01", 3)),
      "b1.npy");
  ASSERT_TRUE(static_cast<bool>(b1));
  expectTensor(*b1, {3}, {1, 0, 1}, 0.0);
  // Fortran order: column-major [[1, 2, 3], [4, 5, 6]].
  auto fo = parseNpy(
      npyFile("{'descr': '<i8', 'fortran_order': True, 'shape': (2, 3), }",
              bytesOf<int64_t>({1, 4, 2, 5, 3, 6})),
      "fo.npy");
  ASSERT_TRUE(static_cast<bool>(fo));
  expectTensor(*fo, {2, 3}, {1, 2, 3, 4, 5, 6}, 0.0);
  auto f2 = parseNpy(
      npyFile("{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }",
              std::string("\x00\x3c", 2)), // 1.0 in IEEE half
      "f2.npy");
  ASSERT_TRUE(static_cast<bool>(f2));
  expectTensor(*f2, {1}, {1.0}, 0.0);
}

TEST(Npy, MalformedFilesReportTheByteOffset) {
  EXPECT_EQ(errorOf(parseNpy("NUMPY", "a.npy")),
            "a.npy: malformed npy at byte 0: missing the magic string "
            "\\x93NUMPY");
  std::string good =
      npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
              bytesOf<double>({1, 2}));
  EXPECT_EQ(errorOf(parseNpy(good.substr(0, 40), "b.npy")),
            "b.npy: malformed npy at byte 40: the file ends inside the header "
            "(118 bytes announced)");
  // The data is one element short.
  EXPECT_EQ(errorOf(parseNpy(good.substr(0, good.size() - 8), "c.npy")),
            "c.npy: malformed npy at byte 128: expected 16 bytes of data for 2 "
            "elements, found 8");
  // The dtype string starts at byte 20 (10-byte preamble + "{'descr': ").
  EXPECT_EQ(
      errorOf(parseNpy(
          npyFile("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }",
                  std::string(16, '\0')),
          "d.npy")),
      "d.npy: malformed npy at byte 20: unsupported dtype '<c16' (supported: "
      "bool, int8-64, uint8-64, float16/32/64)");
  EXPECT_EQ(errorOf(parseNpy(
                npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': "
                        "(2, x), }",
                        ""),
                "e.npy")),
            "e.npy: malformed npy at byte 64: expected a non-negative dim in "
            "the shape");
  std::string v9 = good;
  v9[6] = 9;
  EXPECT_EQ(errorOf(parseNpy(v9, "f.npy")),
            "f.npy: malformed npy at byte 6: unsupported format version 9.0");
}

} // namespace
