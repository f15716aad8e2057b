#include "switchd/io/tap.h"

#include "switchd/core/offload.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

// UDP segmentation offload, Linux 6.2+ (linux/if_tun.h); Debian 12's headers predate it.
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

namespace switchd {

Result<Tap> Tap::Open(std::string_view name, bool offloads) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return Status::InvalidArgument("invalid interface name '" + std::string(name) +
                                   "' (expected 1 to 15 characters)");
  }
  std::string quoted = "'" + std::string(name) + "'";
  const bool existed = if_nametoindex(std::string(name).c_str()) != 0;
  UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return Status::System("cannot open /dev/net/tun: " + std::string(strerror(errno)));
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (offloads ? IFF_VNET_HDR : 0);
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  if (ioctl(fd.get(), TUNSETIFF, &ifr) < 0) {
    int err = errno;
    std::string reason = strerror(err);
    if (err == EBUSY) reason += " (another program holds the TAP open)";
    if (err == EINVAL && existed)
      reason += " (an interface with that name exists and is not a TAP)";
    return Status::System("cannot open TAP " + quoted + ": " + reason);
  }
  // The kernel may pick another name (it expands '%d'); the port must be the TAP it names.
  if (strncmp(ifr.ifr_name, std::string(name).c_str(), IFNAMSIZ) != 0) {
    return Status::InvalidArgument("cannot open TAP " + quoted + ": the kernel named it '" +
                                   std::string(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ)) +
                                   "'");
  }
  if (offloads) {
    // The default header size is sizeof(struct virtio_net_hdr), kVnetHeaderSize; say so anyway,
    // since a persistent TAP may have been left with another size.
    int header_size = static_cast<int>(kVnetHeaderSize);
    if (ioctl(fd.get(), TUNSETVNETHDRSZ, &header_size) < 0) {
      return Status::System("cannot set the virtio-net header size of TAP " + quoted + ": " +
                            strerror(errno));
    }
    // USO (UDP segmentation) exists from Linux 6.2; older kernels refuse the flags with EINVAL.
    const unsigned tcp = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
    if (ioctl(fd.get(), TUNSETOFFLOAD, tcp | TUN_F_USO4 | TUN_F_USO6) < 0 &&
        ioctl(fd.get(), TUNSETOFFLOAD, tcp) < 0) {
      return Status::System("cannot enable offloads on TAP " + quoted + ": " + strerror(errno));
    }
  }
  return Tap(std::move(fd), !existed, offloads);
}

Result<bool> Tap::CreatePersistent(std::string_view name) {
  const bool existed = if_nametoindex(std::string(name).c_str()) != 0;
  // Opening attaches to an existing persistent TAP or creates one; either way this descriptor is
  // the only one, and TUNSETPERSIST keeps the interface when it closes.
  Result<Tap> tap = Open(name, /*offloads=*/false);
  if (!tap.ok()) return tap.status();
  if (ioctl(tap->fd(), TUNSETPERSIST, 1) < 0) {
    return Status::System("cannot make TAP '" + std::string(name) +
                          "' persistent: " + strerror(errno));
  }
  return !existed;
}

bool Tap::InOurNamespace() const {
  UniqueFd device_ns(ioctl(fd_.get(), TUNGETDEVNETNS));
  if (!device_ns) return false;
  struct stat device {};
  struct stat ours {};
  if (fstat(device_ns.get(), &device) < 0 || stat("/proc/self/ns/net", &ours) < 0) return false;
  return device.st_dev == ours.st_dev && device.st_ino == ours.st_ino;
}

std::optional<std::string> Tap::CurrentName() const {
  ifreq ifr{};
  if (ioctl(fd_.get(), TUNGETIFF, &ifr) < 0) return std::nullopt;
  return std::string(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ));
}

std::optional<MacAddress> Tap::HardwareAddress() const {
  ifreq ifr{};
  if (ioctl(fd_.get(), SIOCGIFHWADDR, &ifr) < 0) return std::nullopt;
  return MacAddress::FromBytes(std::as_bytes(std::span(ifr.ifr_hwaddr.sa_data, 6)));
}

}  // namespace switchd
