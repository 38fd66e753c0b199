// Host copies of device buffers for the driver's host code (the data feed,
// weights and checkpoints, pipeline sends and receives, the tied-gradient
// sum). On the CPU device a "copy" is the buffer itself: no copy, no
// synchronization, the CPU path unchanged. On another device (the CUDA
// backend's plain device memory, which the host cannot dereference) it is
// host memory filled with pzrt_device_read and written back with
// pzrt_device_write, which synchronize the device.
#ifndef PZRT_SRC_TRAIN_HOST_STAGE_H
#define PZRT_SRC_TRAIN_HOST_STAGE_H

#include "train/train_internal.h"

#include <memory>
#include <vector>

struct pzrt_device;

namespace pzrt::train {

// Whether buffers of `device` are host memory the driver may touch.
bool hostReachable(const pzrt_device *device);

// Reads and writes of device buffers; throw an internal Failure naming `why`.
void readDevice(pzrt_device *device, void *host, const void *buffer, size_t bytes,
                const char *why);
void writeDevice(pzrt_device *device, void *buffer, const void *host, size_t bytes,
                 const char *why);

// A host view of one buffer: the buffer itself on the CPU, else a copy
// (read from the device when `read`; written back by writeBack).
class HostCopy {
public:
  HostCopy(pzrt_device *device, void *buffer, size_t bytes, bool read, const char *why);
  void *data() { return host_; }
  void writeBack(const char *why);

private:
  pzrt_device *device_;
  void *buffer_;
  size_t bytes_;
  std::vector<unsigned char> copy_;
  void *host_;
};

// Host views of a program's parameters and optimizer states as a Buffers
// (params and states only, not owning them), for loadInitFile,
// loadCheckpoint and saveCheckpoint: on the CPU the buffers themselves.
class HostWeights {
public:
  HostWeights(pzrt_device *device, const pzrt_program *m, Buffers &buffers, bool read,
              const char *why);
  Buffers &view() { return view_ ? *view_ : buffers_; }
  // Writes every parameter and state back to the device (nothing on the CPU).
  void writeBack(const char *why);

private:
  pzrt_device *device_;
  Buffers &buffers_;
  std::vector<std::vector<unsigned char>> copies_;
  std::unique_ptr<Buffers> view_;
};

} // namespace pzrt::train

#endif // PZRT_SRC_TRAIN_HOST_STAGE_H
