// Netlink through libnl-route-3: a request socket for link changes, and a monitor subscribed to
// link notifications (RTNLGRP_LINK) for the event loop.
//
// Both own their libnl socket (freed on destruction). Errors are Status values carrying libnl's
// message, e.g. "cannot bring up ifindex 7: Object not found".
#pragma once

#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "switchd/core/status.h"
#include "switchd/core/types.h"

namespace switchd {

struct NlSockDeleter {
  void operator()(nl_sock* sock) const { nl_socket_free(sock); }
};
using NlSockPtr = std::unique_ptr<nl_sock, NlSockDeleter>;

class NetlinkClient {
 public:
  // Connects a NETLINK_ROUTE socket for requests.
  static Result<NetlinkClient> Connect();
  // Sets IFF_UP on the link `ifindex` in this process's namespace.
  Status SetLinkUp(int ifindex);

 private:
  explicit NetlinkClient(NlSockPtr sock) : sock_(std::move(sock)) {}
  NlSockPtr sock_;
};

struct LinkEvent {
  enum class Kind { kNew, kDel };
  Kind kind = Kind::kNew;
  int ifindex = 0;
  std::string name;
  unsigned flags = 0;  // IFF_UP, IFF_RUNNING ...
  std::optional<MacAddress> mac;
};

class LinkMonitor {
 public:
  // Opens a non-blocking socket subscribed to link notifications.
  static Result<LinkMonitor> Open();

  int fd() const;
  // Reads every pending notification and calls `on_event` for each link message. Returns false
  // when the kernel dropped notifications (socket overrun): the caller must then re-check the
  // state it tracks.
  bool Drain(const std::function<void(const LinkEvent&)>& on_event);

 private:
  explicit LinkMonitor(NlSockPtr sock) : sock_(std::move(sock)) {}
  NlSockPtr sock_;
};

}  // namespace switchd
