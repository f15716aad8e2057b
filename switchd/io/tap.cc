#include "switchd/io/tap.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace switchd {

Result<Tap> Tap::Open(std::string_view name) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return Status::InvalidArgument("invalid interface name '" + std::string(name) +
                                   "' (expected 1 to 15 characters)");
  }
  std::string quoted = "'" + std::string(name) + "'";
  const bool existed = if_nametoindex(std::string(name).c_str()) != 0;
  UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return Status::System("cannot open /dev/net/tun: " + std::string(strerror(errno)));
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
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
  return Tap(std::move(fd), !existed);
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
