// PacketSocket: an AF_PACKET socket bound to one interface, for ports the switch reaches through
// an interface's kernel side rather than through a TAP descriptor of its own: `vm` ports (a
// persistent TAP whose descriptor a hypervisor holds) and `attach` ports (a veth end, a TAP
// someone else owns, any Ethernet interface).
//
// The socket sees every frame the interface receives (promiscuous membership, dropped with the
// socket) and none it transmits (PACKET_IGNORE_OUTGOING), so the switch's own sends never come
// back. Frames carry a virtio-net header both ways (PACKET_VNET_HDR): a guest's 64 KiB GSO frames
// and partial checksums arrive whole and leave whole, and the kernel segments and checksums on
// transmit for a device that cannot take them. Transmit goes through the device's qdisc: the
// bypass (PACKET_QDISC_BYPASS) would skip the step that segments GSO frames for a device without
// TSO, and drop them.
//
// Receive is batched: ReceiveBatch fills up to a batch of buffers with one recvmmsg call.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "switchd/core/offload.h"
#include "switchd/core/status.h"
#include "switchd/io/unique_fd.h"

namespace switchd {

class PacketSocket {
 public:
  // Opens a non-blocking socket bound to `ifindex` (named `name` in messages).
  static Result<PacketSocket> Open(int ifindex, std::string_view name);

  int fd() const { return fd_.get(); }
  int ifindex() const { return ifindex_; }

  // Sends `frame` preceded by `vnet`. False if the kernel refused it (interface down, queue full,
  // too large for the MTU): the caller counts a drop.
  bool Send(std::span<const std::byte> frame, const VnetHeader& vnet) const;

 private:
  PacketSocket(UniqueFd fd, int ifindex) : fd_(std::move(fd)), ifindex_(ifindex) {}

  UniqueFd fd_;
  int ifindex_ = 0;
};

// Buffers for PacketSocket receives: `count` frames of up to kVnetHeaderSize + kMaxFrameSize
// bytes, allocated once and reused for every batch.
class PacketBatch {
 public:
  explicit PacketBatch(size_t count);

  // Receives up to size() frames from `fd` without blocking. Returns how many arrived (0 when
  // none was waiting), or -1 with errno set on an error (not EAGAIN).
  int Receive(int fd, size_t max_frames);
  // Frame `i` of the last Receive, virtio-net header first; empty if the frame was truncated.
  std::span<std::byte> frame(size_t i);
  size_t size() const { return messages_.size(); }

 private:
  static constexpr size_t kBufferSize = kVnetHeaderSize + kMaxFrameSize;
  std::vector<std::byte> storage_;
  std::vector<iovec> iovecs_;
  std::vector<mmsghdr> messages_;
};

}  // namespace switchd
