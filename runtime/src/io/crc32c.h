// CRC-32C (Castagnoli; iSCSI, RFC 3720 section B.4): the checksum that
// index.json records for every file of a checkpoint.
#ifndef PZRT_SRC_IO_CRC32C_H
#define PZRT_SRC_IO_CRC32C_H

#include <cstddef>
#include <cstdint>

namespace pzrt {

// Continues a CRC-32C: crc32c(crc32c(0, a), b) == crc32c(0, a + b). Uses the
// SSE 4.2 crc32 instruction when the CPU has it.
uint32_t crc32c(uint32_t crc, const void *data, size_t size);

// The portable table-driven implementation (slicing-by-8), and the SSE 4.2
// one (returns false when the CPU lacks it); exposed for the tests.
uint32_t crc32cPortable(uint32_t crc, const void *data, size_t size);
bool crc32cHardware(uint32_t crc, const void *data, size_t size, uint32_t &out);

} // namespace pzrt

#endif // PZRT_SRC_IO_CRC32C_H
