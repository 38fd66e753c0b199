// Host copies of device buffers for the driver (host_stage.h).
#include "train/host_stage.h"

#include "core/device.h"
#include "pzrt/error.h"
#include "pzrt/exec.h"

namespace pzrt::train {

bool hostReachable(const pzrt_device *device) { return !device || !device->ops; }

void readDevice(pzrt_device *device, void *host, const void *buffer, size_t bytes,
                const char *why) {
  if (pzrt_device_read(device, host, buffer, bytes) != 0)
    throwInternal("reading %zu bytes from %s for %s: %s", bytes, pzrt_device_name(device), why,
                  pzrt_last_error());
}

void writeDevice(pzrt_device *device, void *buffer, const void *host, size_t bytes,
                 const char *why) {
  if (pzrt_device_write(device, buffer, host, bytes) != 0)
    throwInternal("writing %zu bytes to %s for %s: %s", bytes, pzrt_device_name(device), why,
                  pzrt_last_error());
}

HostCopy::HostCopy(pzrt_device *device, void *buffer, size_t bytes, bool read, const char *why)
    : device_(device), buffer_(buffer), bytes_(bytes), host_(buffer) {
  if (hostReachable(device))
    return;
  copy_.resize(bytes);
  host_ = copy_.data();
  if (read)
    readDevice(device, host_, buffer, bytes, why);
}

void HostCopy::writeBack(const char *why) {
  if (host_ != buffer_)
    writeDevice(device_, buffer_, host_, bytes_, why);
}

HostWeights::HostWeights(pzrt_device *device, const pzrt_program *m, Buffers &buffers, bool read,
                         const char *why)
    : device_(device), buffers_(buffers) {
  if (hostReachable(device))
    return;
  view_ = std::make_unique<Buffers>();
  view_->owning = false;
  auto stage = [&](const std::vector<void *> &from, std::vector<void *> &to,
                   const pzrt_tensor_spec *specs) {
    for (size_t i = 0; i < from.size(); ++i) {
      copies_.emplace_back(static_cast<size_t>(specBytes(specs[i])));
      std::vector<unsigned char> &c = copies_.back();
      if (read)
        readDevice(device, c.data(), from[i], c.size(), why);
      to.push_back(c.data());
    }
  };
  stage(buffers.params, view_->params, m->params);
  stage(buffers.states, view_->states, m->states);
}

void HostWeights::writeBack(const char *why) {
  if (!view_)
    return;
  size_t k = 0;
  for (void *p : buffers_.params)
    writeDevice(device_, p, copies_[k].data(), copies_[k].size(), why), ++k;
  for (void *p : buffers_.states)
    writeDevice(device_, p, copies_[k].data(), copies_[k].size(), why), ++k;
}

} // namespace pzrt::train
