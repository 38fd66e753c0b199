// CRC-32C: reflected polynomial 0x82F63B78, initial value and final XOR
// 0xFFFFFFFF (so crc32c(0, "123456789") == 0xE3069283).
#include "io/crc32c.h"

#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace pzrt {

namespace {

constexpr uint32_t kPoly = 0x82F63B78u;

struct Tables {
  uint32_t t[8][256];
  Tables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = (c >> 1) ^ ((c & 1u) ? kPoly : 0u);
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i)
      for (int s = 1; s < 8; ++s)
        t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xffu];
  }
};

const Tables &tables() {
  static const Tables tb;
  return tb;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t hardwareUpdate(uint32_t c, const unsigned char *p,
                                                          size_t n) {
  uint64_t c64 = c;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c64 = _mm_crc32_u64(c64, v);
    p += 8;
    n -= 8;
  }
  c = static_cast<uint32_t>(c64);
  while (n-- > 0)
    c = _mm_crc32_u8(c, *p++);
  return c;
}

bool haveSse42() {
  static const bool have = __builtin_cpu_supports("sse4.2");
  return have;
}
#endif

} // namespace

uint32_t crc32cPortable(uint32_t crc, const void *data, size_t size) {
  const Tables &tb = tables();
  const unsigned char *p = static_cast<const unsigned char *>(data);
  uint32_t c = ~crc;
  while (size >= 8) {
    uint32_t lo = static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
                  static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
    lo ^= c;
    c = tb.t[7][lo & 0xff] ^ tb.t[6][(lo >> 8) & 0xff] ^ tb.t[5][(lo >> 16) & 0xff] ^
        tb.t[4][lo >> 24] ^ tb.t[3][p[4]] ^ tb.t[2][p[5]] ^ tb.t[1][p[6]] ^ tb.t[0][p[7]];
    p += 8;
    size -= 8;
  }
  while (size-- > 0)
    c = (c >> 8) ^ tb.t[0][(c ^ *p++) & 0xffu];
  return ~c;
}

bool crc32cHardware(uint32_t crc, const void *data, size_t size, uint32_t &out) {
#if defined(__x86_64__)
  if (!haveSse42())
    return false;
  out = ~hardwareUpdate(~crc, static_cast<const unsigned char *>(data), size);
  return true;
#else
  (void)crc;
  (void)data;
  (void)size;
  (void)out;
  return false;
#endif
}

uint32_t crc32c(uint32_t crc, const void *data, size_t size) {
  uint32_t out;
  if (crc32cHardware(crc, data, size, out))
    return out;
  return crc32cPortable(crc, data, size);
}

} // namespace pzrt
