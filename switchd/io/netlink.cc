#include "switchd/io/netlink.h"

#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/msg.h>
#include <netlink/route/link.h>
#include <netlink/route/rtnl.h>

#include <cerrno>

namespace switchd {
namespace {

struct LinkDeleter {
  void operator()(rtnl_link* link) const { rtnl_link_put(link); }
};
using LinkPtr = std::unique_ptr<rtnl_link, LinkDeleter>;

std::string NlError(int err) { return nl_geterror(err); }

struct DrainContext {
  const std::function<void(const LinkEvent&)>* on_event;
};

void ParseLink(nl_object* object, void* arg) {
  auto* event = static_cast<LinkEvent*>(arg);
  auto* link = reinterpret_cast<rtnl_link*>(object);
  event->ifindex = rtnl_link_get_ifindex(link);
  if (const char* name = rtnl_link_get_name(link)) event->name = name;
  event->flags = rtnl_link_get_flags(link);
  if (nl_addr* addr = rtnl_link_get_addr(link); addr && nl_addr_get_len(addr) == 6) {
    event->mac = MacAddress::FromBytes(
        std::as_bytes(std::span(static_cast<const char*>(nl_addr_get_binary_addr(addr)), 6)));
  }
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

Status NetlinkClient::SetLinkUp(int ifindex) {
  rtnl_link* raw = nullptr;
  if (int err = rtnl_link_get_kernel(sock_.get(), ifindex, nullptr, &raw); err < 0) {
    return Status::System("cannot read link " + std::to_string(ifindex) + ": " + NlError(err));
  }
  LinkPtr current(raw);
  LinkPtr change(rtnl_link_alloc());
  if (!change) return Status::System("cannot allocate a link object");
  rtnl_link_set_flags(change.get(), IFF_UP);
  if (int err = rtnl_link_change(sock_.get(), current.get(), change.get(), 0); err < 0) {
    return Status::System("cannot bring up link " + std::to_string(ifindex) + ": " + NlError(err));
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
