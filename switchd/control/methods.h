// The control methods: one table mapping each JSON-RPC method name to a handler. JSON in, JSON
// out, no sockets: the I/O layer that owns ports is reached through PortBackend, so every method is
// unit-tested with a fake backend. docs/control-protocol.md documents each method.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "switchd/core/datapath.h"
#include "switchd/core/status.h"
#include "switchd/core/types.h"

namespace switchd {

// What show-ports reports about a port beyond the datapath's own state.
struct PortDetails {
  std::string kind = "tap";
  std::string ifname;                // the interface's current name (may differ after a rename)
  std::optional<int> ifindex;        // in switchd's namespace; nullopt once moved elsewhere
  std::optional<MacAddress> mac;     // the interface's MAC, if it could be read
  bool up = false;
};

// Implemented by the daemon's I/O layer (real TAPs) and by tests (fakes).
class PortBackend {
 public:
  virtual ~PortBackend() = default;
  // Creates or attaches the port `name` of `kind` and registers it in the datapath. Errors:
  // kAlreadyExists, kInvalidArgument (bad kind), kSystem (the OS refused).
  virtual Result<PortId> AddPort(std::string_view name, std::string_view kind) = 0;
  // Closes the port and unregisters it from the datapath.
  virtual Status DelPort(PortId port) = 0;
  virtual PortDetails Describe(PortId port) const = 0;
};

class ControlMethods {
 public:
  // `datapath` and `backend` must outlive this object.
  ControlMethods(Datapath& datapath, PortBackend& backend);

  // Runs `method` with `params` (an object; null is treated as {}) at time `now`. Returns the
  // result, or an error Status: kInvalidArgument for bad params, kNotFound for an unknown port or
  // entry, and so on (docs/control-protocol.md). Precondition: HasMethod(method).
  Result<nlohmann::json> Call(std::string_view method, const nlohmann::json& params, Time now);

  bool HasMethod(std::string_view method) const;
  std::vector<std::string> MethodNames() const;

 private:
  Datapath& datapath_;
  PortBackend& backend_;
};

}  // namespace switchd
