// Host staging of MPI transfers on a device (host_staging.h).
#include "cpu/host_staging.h"

#include "core/device.h"
#include "core/internal.h"
#include "pzrt/error.h"
#include "pzrt/exec.h"

#include <algorithm>
#include <cstdint>

namespace pzrt {

int Staging::finish() {
  if (!device || regions.dstBytes == 0)
    return 0;
  if (pzrt_device_write(device, regions.dst, dst, regions.dstBytes) != 0)
    return fail("host-staged transfer: copying its result to %s: %s", pzrt_device_name(device),
                pzrt_last_error());
  return 0;
}

std::shared_ptr<Staging> stage(pzrt_device *device, pzrt_stream *compute, const Regions &r,
                               const char *what) {
  auto st = std::make_shared<Staging>();
  st->regions = r;
  st->src = r.src;
  st->dst = r.dst;
  if (!device || !device->ops)
    return st;
  if (!compute || pzrt_stream_synchronize(compute) != 0) {
    fail("%s: waiting for the compute stream before the transfer: %s", what, pzrt_last_error());
    return nullptr;
  }
  st->device = device;
  auto lo = [](const void *p) { return reinterpret_cast<uintptr_t>(p); };
  const bool overlap = r.srcBytes && r.dstBytes && lo(r.src) < lo(r.dst) + r.dstBytes &&
                       lo(r.dst) < lo(r.src) + r.srcBytes;
  if (overlap) {
    const uintptr_t begin = std::min(lo(r.src), lo(r.dst));
    const uintptr_t end = std::max(lo(r.src) + r.srcBytes, lo(r.dst) + r.dstBytes);
    st->dstCopy.resize(end - begin);
    st->src = st->dstCopy.data() + (lo(r.src) - begin);
    st->dst = st->dstCopy.data() + (lo(r.dst) - begin);
    if (pzrt_device_read(device, st->dstCopy.data(), reinterpret_cast<const void *>(begin),
                         end - begin) != 0) {
      fail("%s: copying its buffers from %s: %s", what, pzrt_device_name(device),
           pzrt_last_error());
      return nullptr;
    }
    return st;
  }
  st->srcCopy.resize(r.srcBytes);
  st->dstCopy.resize(r.dstBytes);
  st->src = r.srcBytes ? st->srcCopy.data() : nullptr;
  st->dst = r.dstBytes ? st->dstCopy.data() : nullptr;
  if (r.srcBytes && pzrt_device_read(device, st->srcCopy.data(), r.src, r.srcBytes) != 0) {
    fail("%s: copying its source from %s: %s", what, pzrt_device_name(device), pzrt_last_error());
    return nullptr;
  }
  return st;
}

} // namespace pzrt
