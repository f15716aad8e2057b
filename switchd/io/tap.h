// Tap: a TAP device the switch holds open through /dev/net/tun (IFF_TAP | IFF_NO_PI, non-blocking).
//
// With offloads, the TAP is opened with IFF_VNET_HDR and TUNSETOFFLOAD (checksum, TSO4/6, ECN and,
// where the kernel has it, USO4/6): each frame read or written is preceded by a virtio-net header
// (kVnetHeaderSize bytes) and may be a 64 KiB GSO frame with a partial checksum.
//
// The descriptor stays valid when the interface is moved into another network namespace or
// renamed there: queries go through the descriptor (TUNGETIFF, SIOCGIFHWADDR), never by name.
// When the interface is deleted, the descriptor is detached and IsAttached() turns false.
// Closing a TAP that this process created deletes it; a persistent TAP that existed before stays.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "switchd/core/status.h"
#include "switchd/core/types.h"
#include "switchd/io/unique_fd.h"

namespace switchd {

class Tap {
 public:
  // Creates TAP `name`, or attaches to an existing persistent TAP of that name. Errors (kSystem)
  // carry the strerror text, e.g. "cannot open TAP 'tap0': Device or resource busy".
  static Result<Tap> Open(std::string_view name, bool offloads);
  // Makes sure a persistent TAP `name` exists, leaving no descriptor open on it, so that another
  // program (a hypervisor) can open it. Returns true if it was created, false if a persistent TAP
  // of that name was there already. The interface outlives this process; delete it with netlink.
  static Result<bool> CreatePersistent(std::string_view name);

  int fd() const { return fd_.get(); }
  // True if this process created the interface (it goes away when the TAP is closed).
  bool created() const { return created_; }
  // True if frames carry a virtio-net header (IFF_VNET_HDR).
  bool offloads() const { return offloads_; }

  // The interface's current name (it may have been renamed), or nullopt once it was deleted.
  std::optional<std::string> CurrentName() const;
  bool IsAttached() const { return CurrentName().has_value(); }
  // Whether the interface lives in this process's network namespace (asked of the descriptor,
  // TUNGETDEVNETNS, not by name). False once it was moved elsewhere or deleted.
  bool InOurNamespace() const;
  // The interface's MAC address. The kernel resolves this query by name in the namespace the TAP
  // was opened in, so it is only meaningful while the TAP lives there.
  std::optional<MacAddress> HardwareAddress() const;

 private:
  Tap(UniqueFd fd, bool created, bool offloads)
      : fd_(std::move(fd)), created_(created), offloads_(offloads) {}

  UniqueFd fd_;
  bool created_ = false;
  bool offloads_ = false;
};

}  // namespace switchd
