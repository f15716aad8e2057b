#include "switchd/io/netlink.h"

#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/msg.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/rtnl.h>
#include <sched.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "switchd/io/unique_fd.h"

namespace switchd {
namespace {

struct LinkDeleter {
  void operator()(rtnl_link* link) const { rtnl_link_put(link); }
};
using LinkPtr = std::unique_ptr<rtnl_link, LinkDeleter>;

std::string NlError(int err) { return nl_geterror(err); }

struct AddrDeleter {
  void operator()(nl_addr* addr) const { nl_addr_put(addr); }
};
using AddrPtr = std::unique_ptr<nl_addr, AddrDeleter>;

struct RtnlAddrDeleter {
  void operator()(rtnl_addr* addr) const { rtnl_addr_put(addr); }
};
using RtnlAddrPtr = std::unique_ptr<rtnl_addr, RtnlAddrDeleter>;

// The link's Ethernet address, if it has one.
std::optional<MacAddress> LinkMac(rtnl_link* link) {
  nl_addr* addr = rtnl_link_get_addr(link);
  if (!addr || nl_addr_get_len(addr) != 6) return std::nullopt;
  return MacAddress::FromBytes(
      std::as_bytes(std::span(static_cast<const char*>(nl_addr_get_binary_addr(addr)), 6)));
}

struct DrainContext {
  const std::function<void(const LinkEvent&)>* on_event;
};

void ParseLink(nl_object* object, void* arg) {
  auto* event = static_cast<LinkEvent*>(arg);
  auto* link = reinterpret_cast<rtnl_link*>(object);
  event->ifindex = rtnl_link_get_ifindex(link);
  if (const char* name = rtnl_link_get_name(link)) event->name = name;
  event->flags = rtnl_link_get_flags(link);
  event->mac = LinkMac(link);
}

int OnMessage(nl_msg* msg, void* arg) {
  auto* context = static_cast<DrainContext*>(arg);
  const nlmsghdr* header = nlmsg_hdr(msg);
  if (header->nlmsg_type != RTM_NEWLINK && header->nlmsg_type != RTM_DELLINK) return NL_OK;
  LinkEvent event;
  event.kind = header->nlmsg_type == RTM_DELLINK ? LinkEvent::Kind::kDel : LinkEvent::Kind::kNew;
  if (nl_msg_parse(msg, ParseLink, &event) < 0 || event.ifindex == 0) return NL_OK;
  (*context->on_event)(event);
  return NL_OK;
}

}  // namespace

Result<NetlinkClient> NetlinkClient::Connect() {
  NlSockPtr sock(nl_socket_alloc());
  if (!sock) return Status::System("cannot allocate a netlink socket");
  if (int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0) {
    return Status::System("cannot connect to rtnetlink: " + NlError(err));
  }
  return NetlinkClient(std::move(sock));
}

Result<NetlinkClient> NetlinkClient::ConnectIn(int netns_fd) {
  UniqueFd home(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!home)
    return Status::System(std::string("cannot open our network namespace: ") + strerror(errno));
  if (setns(netns_fd, CLONE_NEWNET) < 0) {
    return Status::System(std::string("cannot enter the network namespace: ") + strerror(errno));
  }
  Result<NetlinkClient> client = Connect();
  // Back home before anything else happens on this thread; failing that, nothing is safe.
  if (setns(home.get(), CLONE_NEWNET) < 0) {
    std::perror("switchd: cannot return to its network namespace");
    std::abort();
  }
  return client;
}

Status NetlinkClient::ChangeLink(int ifindex, FunctionRef<void(rtnl_link*)> fill,
                                 const std::string& what) {
  rtnl_link* raw = nullptr;
  if (int err = rtnl_link_get_kernel(sock_.get(), ifindex, nullptr, &raw); err < 0) {
    return Status::System("cannot read link " + std::to_string(ifindex) + ": " + NlError(err));
  }
  LinkPtr current(raw);
  LinkPtr change(rtnl_link_alloc());
  if (!change) return Status::System("cannot allocate a link object");
  fill(change.get());
  if (int err = rtnl_link_change(sock_.get(), current.get(), change.get(), 0); err < 0) {
    return Status::System("cannot " + what + " link " + std::to_string(ifindex) + ": " +
                          NlError(err));
  }
  return Status::Ok();
}

Status NetlinkClient::SetLinkUp(int ifindex) {
  return ChangeLink(
      ifindex, [](rtnl_link* change) { rtnl_link_set_flags(change, IFF_UP); }, "bring up");
}

Result<LinkState> NetlinkClient::GetLink(const std::string& name) {
  rtnl_link* raw = nullptr;
  if (int err = rtnl_link_get_kernel(sock_.get(), 0, name.c_str(), &raw); err < 0) {
    if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) {
      return Status::NotFound("no interface '" + name + "'");
    }
    return Status::System("cannot read interface '" + name + "': " + NlError(err));
  }
  LinkPtr link(raw);
  LinkState state;
  state.ifindex = rtnl_link_get_ifindex(link.get());
  state.flags = rtnl_link_get_flags(link.get());
  state.mac = LinkMac(link.get());
  return state;
}

Status NetlinkClient::SetLinkAttributes(int ifindex, std::optional<uint32_t> mtu,
                                        std::optional<MacAddress> mac) {
  if (!mtu && !mac) return Status::Ok();
  AddrPtr address;
  if (mac) {
    address.reset(nl_addr_build(AF_LLC, mac->bytes().data(), 6));
    if (!address) return Status::System("cannot allocate an address object");
  }
  return ChangeLink(
      ifindex,
      [&](rtnl_link* change) {
        if (mtu) rtnl_link_set_mtu(change, *mtu);
        if (address) rtnl_link_set_addr(change, address.get());
      },
      std::string("set the ") +
          (mtu && mac ? "MTU and MAC"
           : mtu      ? "MTU"
                      : "MAC") +
          " of");
}

Status NetlinkClient::MoveToNamespace(int ifindex, int netns_fd) {
  LinkPtr change(rtnl_link_alloc());
  if (!change) return Status::System("cannot allocate a link object");
  rtnl_link_set_ifindex(change.get(), ifindex);
  rtnl_link_set_ns_fd(change.get(), netns_fd);
  // RTM_NEWLINK on an existing link (not NLM_F_CREATE) changes it: here, its namespace.
  if (int err = rtnl_link_change(sock_.get(), change.get(), change.get(), 0); err < 0) {
    return Status::System("cannot move link " + std::to_string(ifindex) +
                          " to the namespace: " + NlError(err));
  }
  return Status::Ok();
}

Status NetlinkClient::AddAddress(int ifindex, const std::string& cidr) {
  nl_addr* raw = nullptr;
  if (int err = nl_addr_parse(cidr.c_str(), AF_UNSPEC, &raw); err < 0) {
    return Status::InvalidArgument("invalid address '" + cidr + "': " + NlError(err));
  }
  AddrPtr local(raw);
  RtnlAddrPtr address(rtnl_addr_alloc());
  if (!address) return Status::System("cannot allocate an address object");
  rtnl_addr_set_ifindex(address.get(), ifindex);
  rtnl_addr_set_family(address.get(), nl_addr_get_family(local.get()));
  if (int err = rtnl_addr_set_local(address.get(), local.get()); err < 0) {
    return Status::InvalidArgument("invalid address '" + cidr + "': " + NlError(err));
  }
  // An address the interface has already (a persistent TAP's, kept from an earlier run) is fine.
  if (int err = rtnl_addr_add(sock_.get(), address.get(), 0); err < 0 && err != -NLE_EXIST) {
    return Status::System("cannot add address " + cidr + ": " + NlError(err));
  }
  return Status::Ok();
}

Status NetlinkClient::DeleteLink(int ifindex) {
  LinkPtr link(rtnl_link_alloc());
  if (!link) return Status::System("cannot allocate a link object");
  rtnl_link_set_ifindex(link.get(), ifindex);
  if (int err = rtnl_link_delete(sock_.get(), link.get()); err < 0) {
    return Status::System("cannot delete link " + std::to_string(ifindex) + ": " + NlError(err));
  }
  return Status::Ok();
}

Result<LinkMonitor> LinkMonitor::Open() {
  NlSockPtr sock(nl_socket_alloc());
  if (!sock) return Status::System("cannot allocate a netlink socket");
  // Notifications are not replies to our requests: sequence numbers do not apply.
  nl_socket_disable_seq_check(sock.get());
  if (int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0) {
    return Status::System("cannot connect to rtnetlink: " + NlError(err));
  }
  if (int err = nl_socket_add_memberships(sock.get(), RTNLGRP_LINK, 0); err < 0) {
    return Status::System("cannot subscribe to link events: " + NlError(err));
  }
  nl_socket_set_nonblocking(sock.get());
  // Room for a burst of notifications (many TAPs changing at once) before the kernel drops any.
  nl_socket_set_buffer_size(sock.get(), 1 << 20, 0);
  return LinkMonitor(std::move(sock));
}

int LinkMonitor::fd() const { return nl_socket_get_fd(sock_.get()); }

bool LinkMonitor::Drain(const std::function<void(const LinkEvent&)>& on_event) {
  DrainContext context{&on_event};
  nl_socket_modify_cb(sock_.get(), NL_CB_VALID, NL_CB_CUSTOM, OnMessage, &context);
  // Bounded: a socket buffer holds a finite number of messages; stop at EAGAIN or after a cap.
  for (int i = 0; i < 1024; ++i) {
    int err = nl_recvmsgs_default(sock_.get());
    if (err >= 0) continue;
    if (err == -NLE_AGAIN) return true;
    if (err == -NLE_NOMEM || err == -NLE_DUMP_INTR) return false;  // overrun: state may be stale
    return true;
  }
  return true;
}

}  // namespace switchd
