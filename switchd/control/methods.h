// The control methods: one table mapping each JSON-RPC method name to its parameters and handler.
// JSON in, JSON out, no sockets: the I/O layer that owns ports is reached through PortBackend, so
// every method is unit-tested with a fake backend. docs/control-protocol.md documents each method.
//
// Params are validated in one place, from each method's declared parameters, before its handler
// runs: required ones present, no unknown names, right JSON types, values parsed (MAC, IPv4, VLAN,
// port names resolved to ports). Handlers only act on the datapath and the backend.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "switchd/control/events.h"
#include "switchd/control/json_rpc.h"
#include "switchd/core/datapath.h"
#include "switchd/core/status.h"
#include "switchd/core/types.h"

namespace switchd {

// A VXLAN port's tunnel (add-vxlan, or add-port with kind "vxlan").
struct VxlanOptions {
  uint32_t vni = 0;
  Ipv4Address local;
  uint16_t dstport = 4789;
  std::vector<Ipv4Address> remotes;
  bool learn_remotes = false;  // take packets from unknown sources, adding them as remotes
  bool operator==(const VxlanOptions&) const = default;
};

// How a port's interface is set up when it is added, beyond what the datapath sees (add-port's
// netns, create_netns, address, mtu and mac params). Empty: the interface is left as it is.
struct LinkOptions {
  std::optional<std::string> netns;    // move the TAP into this named network namespace
  bool create_netns = false;           // create `netns` if it does not exist
  std::optional<std::string> address;  // CIDR, assigned to the interface (inside `netns`)
  std::optional<uint32_t> mtu;
  std::optional<MacAddress> mac;
  std::optional<VxlanOptions> vxlan;  // kind vxlan only
  bool operator==(const LinkOptions&) const = default;
};

// What show-ports reports about a port beyond the datapath's own state.
struct PortDetails {
  std::string kind = "tap";
  std::string ifname;             // the interface's current name (may differ after a rename)
  std::optional<int> ifindex;     // in switchd's namespace; nullopt once moved elsewhere
  std::optional<MacAddress> mac;  // the interface's MAC, if it could be read
  bool up = false;
  LinkOptions link;  // as given to add-port (show-config reports it back; remotes as they are now)
  nlohmann::json counters = nullptr;  // kind-specific counters (VXLAN), or null
};

// Implemented by the daemon's I/O layer (real TAPs) and by tests (fakes).
class PortBackend {
 public:
  virtual ~PortBackend() = default;
  // Creates or attaches the port `name` of `kind` ("tap", "vm" or "attach"; the params were
  // checked against it), sets its interface up as `link` says, and registers it in the datapath
  // with `options` (offloads: the port exchanges virtio-net headers). Errors: kAlreadyExists,
  // kInvalidArgument (bad kind), kNotFound (no such interface or namespace), kSystem (the OS
  // refused). Nothing is left behind on failure.
  virtual Result<PortId> AddPort(std::string_view name, std::string_view kind,
                                 const PortOptions& options, const LinkOptions& link) = 0;
  // Closes the port and unregisters it from the datapath (Datapath::RemovePort).
  virtual Status DelPort(PortId port) = 0;
  // The interface state of a registered port; called for every port by show-ports.
  virtual PortDetails Describe(PortId port) const = 0;
  // VXLAN ports: adds or removes a remote VTEP. kNotFound for a port that is not a VXLAN port
  // (or a remote it does not have), kAlreadyExists for a remote it has.
  virtual Status AddRemote(PortId port, Ipv4Address remote) {
    (void)port, (void)remote;
    return Status::NotFound("not a VXLAN port");
  }
  virtual Status DelRemote(PortId port, Ipv4Address remote) {
    (void)port, (void)remote;
    return Status::NotFound("not a VXLAN port");
  }
  // The remote VTEP `mac` was last seen behind, for a MAC on a VXLAN port; nullopt otherwise.
  virtual std::optional<Ipv4Address> RemoteOf(PortId port, MacAddress mac) const {
    (void)port, (void)mac;
    return std::nullopt;
  }
};

// The client connection a request came on, for the methods that act on it (monitor). The control
// socket implements it; requests with no connection (the configuration file) have none.
class ControlSession {
 public:
  virtual ~ControlSession() = default;
  // Subscribes the connection to the events of `kinds`, replacing its earlier subscription: after
  // the response to this request, each such event is sent to it as a notification.
  virtual Status Subscribe(EventKinds kinds) = 0;
  // Starts writing `port`'s frames (both directions) to the pcap file `file` (an absolute path,
  // opened with the permissions of the user at the other end of the connection). It ends after
  // `count` frames or `seconds` seconds (0: no such bound) or when the connection closes, and
  // then a "capture-done" event goes to this connection. Returns what the capture is.
  virtual Result<nlohmann::json> StartCapture(PortId port, const std::string& file, uint64_t count,
                                              uint64_t seconds) {
    (void)port, (void)file, (void)count, (void)seconds;
    return Status::InvalidArgument("capture needs a connection to the control socket");
  }
};

class ControlMethods {
 public:
  // `datapath` and `backend` must outlive this object.
  ControlMethods(Datapath& datapath, PortBackend& backend);

  // Runs `method` with `params` (an object; null is treated as {}) at time `now`. Returns the
  // result, or an error Status: kInvalidArgument for bad params, kNotFound for an unknown port or
  // entry, and so on (docs/control-protocol.md). An unknown method is kInternal: callers check
  // HasMethod first, as the envelope does. `session` is the connection the request came on, if
  // any: monitor fails without one.
  Result<nlohmann::json> Call(std::string_view method, const nlohmann::json& params, Time now,
                              ControlSession* session = nullptr);

  // True for the names in the method table.
  bool HasMethod(std::string_view method) const;
  // Every method name, in table order.
  std::vector<std::string> MethodNames() const;

  // These methods for HandleRequestLine, every call running at `now` for `session`. The
  // dispatcher refers to this object and `session`, which must outlive it.
  Dispatcher MakeDispatcher(Time now, ControlSession* session = nullptr);

 private:
  Datapath& datapath_;
  PortBackend& backend_;
};

}  // namespace switchd
