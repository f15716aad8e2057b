#include "switchd/io/packet_socket.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/uio.h>

#include <array>
#include <cerrno>
#include <cstring>

// Linux 4.20+ (linux/if_packet.h); older headers lack the name.
#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

namespace switchd {
namespace {

Status SocketError(const std::string& what, std::string_view name) {
  return Status::System("cannot " + what + " on '" + std::string(name) + "': " + strerror(errno));
}

}  // namespace

Result<PacketSocket> PacketSocket::Open(int ifindex, std::string_view name) {
  UniqueFd fd(::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL)));
  if (!fd) return SocketError("open a packet socket", name);
  const int one = 1;
  if (setsockopt(fd.get(), SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) {
    return SocketError("enable virtio-net headers (PACKET_VNET_HDR)", name);
  }
  if (setsockopt(fd.get(), SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0) {
    return SocketError("ignore outgoing frames (PACKET_IGNORE_OUTGOING)", name);
  }
  // No PACKET_QDISC_BYPASS: the bypass drops a GSO frame for a device that cannot take it (a TAP
  // whose reader has no offloads) instead of segmenting it, which the qdisc path does.
  // Room for bursts: a guest sends 64 KiB GSO frames back to back.
  const int buffer = 4 << 20;
  (void)setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  (void)setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);

  sockaddr_ll address{};
  address.sll_family = AF_PACKET;
  address.sll_protocol = htons(ETH_P_ALL);
  address.sll_ifindex = ifindex;
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) {
    return SocketError("bind a packet socket", name);
  }
  // Frames for other MACs are ours to switch, as on a bridge port.
  packet_mreq membership{};
  membership.mr_ifindex = ifindex;
  membership.mr_type = PACKET_MR_PROMISC;
  if (setsockopt(fd.get(), SOL_PACKET, PACKET_ADD_MEMBERSHIP, &membership, sizeof membership) < 0) {
    return SocketError("enable promiscuous mode", name);
  }
  return PacketSocket(std::move(fd), ifindex);
}

bool PacketSocket::Send(std::span<const std::byte> frame, const VnetHeader& vnet) const {
  std::array<std::byte, kVnetHeaderSize> header;
  WriteVnetHeader(vnet, header);
  iovec parts[2] = {{header.data(), header.size()},
                    {const_cast<std::byte*>(frame.data()), frame.size()}};
  msghdr message{};
  message.msg_iov = parts;
  message.msg_iovlen = 2;
  ssize_t n = ::sendmsg(fd_.get(), &message, MSG_DONTWAIT);
  return n == static_cast<ssize_t>(header.size() + frame.size());
}

PacketBatch::PacketBatch(size_t count)
    : storage_(count * kBufferSize), iovecs_(count), messages_(count) {
  for (size_t i = 0; i < count; ++i) {
    iovecs_[i] = {storage_.data() + i * kBufferSize, kBufferSize};
    messages_[i].msg_hdr.msg_iov = &iovecs_[i];
    messages_[i].msg_hdr.msg_iovlen = 1;
  }
}

int PacketBatch::Receive(int fd, size_t max_frames) {
  const unsigned count = static_cast<unsigned>(std::min(max_frames, messages_.size()));
  for (unsigned i = 0; i < count; ++i) messages_[i].msg_hdr.msg_flags = 0;
  int n;
  do {
    n = ::recvmmsg(fd, messages_.data(), count, MSG_DONTWAIT, nullptr);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
  return n;
}

std::span<std::byte> PacketBatch::frame(size_t i) {
  const mmsghdr& message = messages_[i];
  if (message.msg_hdr.msg_flags & MSG_TRUNC) return {};
  return {storage_.data() + i * kBufferSize, std::min<size_t>(message.msg_len, kBufferSize)};
}

}  // namespace switchd
