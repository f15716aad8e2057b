// Netlink through libnl-route-3: a request socket for link changes, and a monitor subscribed to
// link notifications (RTNLGRP_LINK) for the event loop.
//
// Both own their libnl socket (freed on destruction). Errors are Status values carrying libnl's
// message, e.g. "cannot bring up ifindex 7: Object not found".
#pragma once

#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "switchd/core/function_ref.h"
#include "switchd/core/status.h"
#include "switchd/core/types.h"

namespace switchd {

struct NlSockDeleter {
  void operator()(nl_sock* sock) const { nl_socket_free(sock); }
};
using NlSockPtr = std::unique_ptr<nl_sock, NlSockDeleter>;

struct LinkState {
  int ifindex = 0;
  unsigned flags = 0;  // IFF_UP, IFF_RUNNING ...
  std::optional<MacAddress> mac;
};

class NetlinkClient {
 public:
  // Connects a NETLINK_ROUTE socket for requests, in this process's network namespace.
  static Result<NetlinkClient> Connect();
  // Connects one whose requests act in the network namespace `netns_fd` (a socket belongs to the
  // namespace it was created in; the thread enters that namespace for the call only).
  static Result<NetlinkClient> ConnectIn(int netns_fd);

  // Sets IFF_UP on the link `ifindex` in the socket's namespace.
  Status SetLinkUp(int ifindex);
  // The link `name` as the kernel reports it, or kNotFound.
  Result<LinkState> GetLink(const std::string& name);
  // Sets the MTU and/or the MAC address of link `ifindex` (what is given).
  Status SetLinkAttributes(int ifindex, std::optional<uint32_t> mtu, std::optional<MacAddress> mac);
  // Moves link `ifindex` into the network namespace `netns_fd`. The link arrives there down.
  Status MoveToNamespace(int ifindex, int netns_fd);
  // Adds the address `cidr` ("198.18.0.1/24", "2001:db8::1/64") to link `ifindex`.
  Status AddAddress(int ifindex, const std::string& cidr);
  // Deletes link `ifindex`.
  Status DeleteLink(int ifindex);

 private:
  explicit NetlinkClient(NlSockPtr sock) : sock_(std::move(sock)) {}
  // Reads link `ifindex`, lets `fill` set what changes on a blank link object, and asks the
  // kernel for it. Errors read "cannot <what> link 7: ...".
  Status ChangeLink(int ifindex, FunctionRef<void(rtnl_link*)> fill, const std::string& what);
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
