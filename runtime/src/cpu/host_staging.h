// Host staging of exec.h's MPI transfers on a device other than the CPU
// (its buffers are device memory the host cannot touch): host copies of a
// transfer's regions, through the device's operations (core/device.h), so
// that pzrt_cpu links no device library. Not part of the C API.
#ifndef PZRT_SRC_CPU_HOST_STAGING_H
#define PZRT_SRC_CPU_HOST_STAGING_H

#include <cstddef>
#include <memory>
#include <vector>

struct pzrt_device;
struct pzrt_stream;

namespace pzrt {

// The buffers of a transfer: the region it reads (src) and the region it
// writes (dst), in device addresses; either may be empty, and they may
// overlap (an in-place all-reduce, a broadcast).
struct Regions {
  const void *src = nullptr;
  size_t srcBytes = 0;
  void *dst = nullptr;
  size_t dstBytes = 0;
};

// The source is copied from the device once the compute stream's work is
// done; the transfer runs on the copies (src, dst); finish() writes the
// destination's copy back to the device. Overlapping regions share one
// copy of their union (so an in-place transfer sees its own data, and
// bytes of the union outside dst are never written back). Without a
// device the copies are the buffers themselves and nothing is copied.
struct Staging {
  pzrt_device *device = nullptr; // NULL: no staging (host memory)
  std::vector<unsigned char> srcCopy, dstCopy;
  const void *src = nullptr; // what the transfer reads and writes
  void *dst = nullptr;
  Regions regions;
  // 0, or -1 with pzrt_last_error().
  int finish();
};

// `device` NULL or the CPU's: no copies. Else waits for `compute` and
// copies the source region to the host. NULL with pzrt_last_error()
// naming `what` on failure.
std::shared_ptr<Staging> stage(pzrt_device *device, pzrt_stream *compute, const Regions &r,
                               const char *what);

} // namespace pzrt

#endif // PZRT_SRC_CPU_HOST_STAGING_H
