// Pipeline sends and receives on NCCL (trainer.h; docs/design/0020).
//
// With the compiled collectives on NCCL (dataComm_), a stage's activations
// and their gradients go from device buffer to device buffer too, instead
// of through host copies over MPI. Each link, a direction (activation or
// gradient) into one receiving global stage, has its own 2-rank NCCL
// communicator and stream: NCCL matches a pair's messages in the order they
// are posted on one communicator, and the schedule's validation guarantees
// that order per link only (the MPI path's tag is the link), not between
// the links of one pair of ranks. A send is enqueued on its link's stream
// after the compute stream's work so far; the next function that writes its
// buffer waits for it on the device (waitSends). A receive is enqueued after
// the compute stream's work so far (the slot's previous readers) and the
// compute stream waits for it. The host never waits for a link, so every
// rank posts its whole schedule; each link's messages then meet in order.
#include "train/trainer.h"

#include "comm/comm_impl.h"
#include "core/device.h"
#include "core/internal.h"
#include "pzrt/comm.h"
#include "pzrt/error.h"

#include <cstdio>
#include <string>

namespace pzrt::train {

void Trainer::createLinkComms() {
  const int pp = numStages(m_);
  if (!dataComm_ || numStages_ < 2 || pp < 2)
    return;
  const int coord = rank_ / stageStride_;
  // Every rank takes part in every split (collective over the world), in
  // one order: activations into stages 1.., then gradients into stages ..S-2.
  for (int grad = 0; grad < 2; ++grad)
    for (int g = grad ? 0 : 1; g < (grad ? numStages_ - 1 : numStages_); ++g) {
      const int sender = grad ? g + 1 : g - 1;
      const bool sends = sender % pp == coord, receives = g % pp == coord;
      // A pair: the sender and the receiver with this rank's coordinates on
      // the other axes (rank mod stageStride); everyone else alone.
      const int color = sends || receives ? rank_ % stageStride_ : stageStride_ + rank_;
      pzrt_comm *c = pzrt_comm_split(dataComm_, color, receives ? 1 : 0,
                                     pzrt::format("pp.%s.%d", grad ? "grad" : "act", g).c_str());
      if (!c)
        throwInternal("creating the pipeline link of the %s into stage %d: %s",
                      grad ? "gradients" : "activations", g, pzrt_last_error());
      if (!sends && !receives) {
        pzrt_comm_destroy(c);
        continue;
      }
      // Both ranks of the link connect it now, together (see connectPeers).
      if (c->connectPeers()) {
        std::string why = pzrt_last_error();
        pzrt_comm_destroy(c);
        throwInternal("connecting the pipeline link %s: %s",
                      pzrt::format("pp.%s.%d", grad ? "grad" : "act", g).c_str(), why.c_str());
      }
      pzrt_stream *s = pzrt_stream_create(ctx_.device);
      if (!s) {
        pzrt_comm_destroy(c);
        throwInternal("a stream for the pipeline link %s: %s", pzrt_comm_name(c),
                      pzrt_last_error());
      }
      // The host's waits (loss reads, checks) do not wait for a link: its
      // sends end when the peer receives, which it may do after its own
      // host wait. The compute stream waits for the link's events.
      if (ctx_.device->ops->streamDetach)
        ctx_.device->ops->streamDetach(s);
      links_.push_back({grad == 1, g, c, s});
    }
  if (rank_ == 0)
    std::fprintf(stderr, "train: pipeline sends and receives on NCCL (%zu links on rank 0)\n",
                 links_.size());
}

void Trainer::destroyLinkComms() {
  for (Link &l : links_) {
    pzrt_comm_destroy(l.comm);
    pzrt_stream_destroy(l.stream);
  }
  links_.clear();
}

void Trainer::exchangeOnDevice(const pzrt_action &a, bool send, bool act, int receiving,
                               pzrt_dtype dtype, size_t count) {
  const Link *link = nullptr;
  for (const Link &l : links_)
    if (l.grad == !act && l.stage == receiving)
      link = &l;
  if (!link)
    throwInternal("no pipeline link for the %s into stage %d", act ? "activations" : "gradients",
                  receiving);
  const pzrt::DeviceOps &ops = *ctx_.device->ops;
  pzrt_stream *compute = ctx_.streams[0];
  void *buf = send ? buf_->outputs[static_cast<size_t>(a.tensor)]
                   : buf_->inputs[static_cast<size_t>(buf_->slotOf(a.micro_batch))]
                                 [static_cast<size_t>(a.tensor)];
  // In the pair, the sender is rank 0 and the receiver rank 1.
  pzrt_event *ready = ops.orderRecord(compute);
  int rc = !ready || ops.orderWait(link->stream, ready) ? -1 : 0;
  if (rc == 0)
    rc = link->comm->enqueueOn(link->stream->handle);
  if (rc == 0)
    rc = send ? pzrt_send(link->comm, buf, count, dtype, 1, 0)
              : pzrt_recv(link->comm, buf, count, dtype, 0, 0);
  if (link->comm->enqueueOn(nullptr))
    rc = -1;
  pzrt_event *done = rc == 0 ? ops.orderRecord(link->stream) : nullptr;
  if (!done)
    throwInternal("pipeline %s on %s: %s", send ? "send" : "recv", pzrt_comm_name(link->comm),
                  *pzrt_last_error() ? pzrt_last_error() : "failed (no message)");
  if (send) // its buffer's next writer waits for it (waitSends)
    chunks_[cur_].sendingOnDevice[static_cast<size_t>(a.tensor)] = done;
  else if (ops.orderWait(compute, done))
    throwInternal("ordering the compute stream after a pipeline receive: %s", pzrt_last_error());
}

void Trainer::waitSendsOnDevice(int f) {
  std::vector<pzrt_event *> &sending = chunks_[cur_].sendingOnDevice;
  for (size_t o = 0; o < sending.size(); ++o) {
    if (!sending[o])
      continue;
    if (!writesOutput(f, o))
      continue;
    if (ctx_.device->ops->orderWait(ctx_.streams[0], sending[o]))
      throwInternal("ordering the compute stream after the pipeline send of %s: %s",
                    m_->outputs[o].name, pzrt_last_error());
    sending[o] = nullptr;
  }
}

} // namespace pzrt::train
