#include "switchd/control/methods.h"

#include "switchd/core/vxlan.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <tuple>
#include <utility>

namespace switchd {

namespace {

using nlohmann::json;

constexpr std::string_view kPortKinds[] = {"tap", "vm", "attach", "vxlan"};
constexpr size_t kMaxPortNameSize = 15;  // IFNAMSIZ - 1
constexpr int64_t kMaxAgingSeconds = 1000000;
constexpr int64_t kMaxPortMacs = 1 << 24;
constexpr int64_t kMaxStormLimit = 100000000;
constexpr int64_t kMinMtu = 68;  // IPv4's minimum (RFC 791)
constexpr int64_t kMaxMtu = 65535;

// What a parameter holds; each type fills one field of Args, so a method has at most one
// parameter of each type.
enum class ParamType {
  kMac,           // Args::mac
  kUnicastMac,    // Args::mac, multicast (and broadcast) refused
  kIp,            // Args::ip
  kVlan,          // Args::vlan
  kPort,          // Args::port: the name of an existing port
  kNewPort,       // Args::new_port: a name for a port to create
  kPortKind,      // Args::port_kind
  kSeconds,       // Args::seconds
  kOffload,       // Args::offload: true or false
  kMaxMacs,       // Args::max_macs: 0..16777216 (0: no limit of the port's own)
  kStormLimit,    // Args::storm_limit: frames per second, 0..100000000 (0: off)
  kNetns,         // Args::link.netns: a network namespace name
  kCreateNetns,   // Args::link.create_netns: true or false
  kCidr,          // Args::link.address: an IPv4 or IPv6 address with a prefix length
  kMtu,           // Args::link.mtu: 68..65535
  kLinkMac,       // Args::link.mac: a unicast MAC for the port's interface
  kAccessVlan,    // Args::access: a VLAN 1..4094
  kVlanList,      // Args::trunk: "10,20,30-40" (or a list of VLAN numbers)
  kNativeVlan,    // Args::native: a VLAN 1..4094
  kSwitch,        // Args::switches[name]: true or false (learning, flood, ... isolated)
  kDestPort,      // Args::destination: the name of an existing port
  kMirrorName,    // Args::name: a mirror's name
  kDirection,     // Args::direction: "rx", "tx" or "both"
  kEvents,        // Args::events: a list of event kinds and groups (events.h)
  kFilePath,      // Args::file: an absolute path
  kFrameCount,    // Args::count: 1..1000000000
  kDuration,      // Args::duration: seconds, 1..86400
  kVni,           // Args::vxlan.vni: 1..16777215
  kLocalIp,       // Args::vxlan.local: an IPv4 address
  kRemoteList,    // Args::vxlan.remotes: IPv4 addresses (a list, or one string)
  kUdpPort,       // Args::vxlan.dstport: 1..65535
  kLearnRemotes,  // Args::vxlan.learn_remotes: true or false
};

// The on/off port settings, by param name, in the order show-ports lists them.
constexpr std::string_view kSwitchNames[] = {"learning", "flood", "bcast_flood", "mcast_flood",
                                             "isolated"};
constexpr size_t kSwitchCount = std::size(kSwitchNames);

// The PortSettings field of each name in kSwitchNames, in the same order.
constexpr bool PortSettings::*kSwitchFields[] = {
    &PortSettings::learning, &PortSettings::flood, &PortSettings::bcast_flood,
    &PortSettings::mcast_flood, &PortSettings::isolated};
static_assert(std::size(kSwitchFields) == kSwitchCount);

bool& SwitchOf(PortSettings& settings, size_t i) { return settings.*kSwitchFields[i]; }
bool SwitchOf(const PortSettings& settings, size_t i) { return settings.*kSwitchFields[i]; }

struct ParamSpec {
  std::string_view name;
  ParamType type;
  bool required;
};

// A method's params after validation: a field is set when its parameter was given.
struct Args {
  std::optional<MacAddress> mac;
  std::optional<Ipv4Address> ip;
  std::optional<VlanId> vlan;
  std::optional<PortId> port;
  std::string new_port;
  std::string port_kind{kPortKinds[0]};
  int64_t seconds = 0;
  bool offload = true;
  std::optional<size_t> max_macs;
  std::optional<uint32_t> storm_limit;
  LinkOptions link;
  std::optional<VlanId> access;
  std::optional<VlanSet> trunk;
  std::optional<VlanId> native;
  std::array<std::optional<bool>, kSwitchCount> switches;
  std::optional<PortId> destination;
  std::string name;
  std::optional<Mirror::Direction> direction;
  std::optional<EventKinds> events;
  std::string file;
  uint64_t count = 0;
  uint64_t duration = 0;
  std::optional<VxlanOptions> vxlan;  // set when any VXLAN param was given
};

struct Context {
  Datapath& datapath;
  PortBackend& backend;
  Time now;
  const Args& args;
  ControlSession* session;  // the connection the request came on, if any
};

using Handler = Result<json> (*)(const Context&);

struct MethodSpec {
  std::string_view name;
  std::string_view summary;
  std::vector<ParamSpec> params;
  Handler handler;
};

const std::vector<MethodSpec>& Methods();

const MethodSpec* FindMethod(std::string_view name) {
  for (const MethodSpec& spec : Methods()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

// ---- Parameter validation: the one place where params are checked and parsed.

// A JSON value as quoted in an error message: strings in single quotes, scalars as JSON, and
// arrays and objects elided (they may be large or deeply nested).
std::string Describe(const json& value) {
  if (value.is_string()) return QuoteInput(value.get_ref<const std::string&>());
  if (value.is_array()) return "[...]";
  if (value.is_object()) return "{...}";
  return value.dump();
}

const std::string* AsString(const json& value) {
  return value.is_string() ? &value.get_ref<const std::string&>() : nullptr;
}

std::optional<int64_t> AsInteger(const json& value) {
  if (value.is_number_unsigned()) {
    const auto v = value.get<uint64_t>();
    if (v > static_cast<uint64_t>(INT64_MAX)) return INT64_MAX;
    return static_cast<int64_t>(v);
  }
  if (value.is_number_integer()) return value.get<int64_t>();
  return std::nullopt;
}

// Linux's rules for interface names (dev_valid_name), which TAP ports are named after.
bool IsValidPortName(std::string_view name) {
  if (name.empty() || name.size() > kMaxPortNameSize || name == "." || name == "..") return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    // '%' would make the kernel pick a name ("tap%d" -> "tap0") instead of using this one.
    return c == '/' || c == ':' || c == '%' || byte <= 0x20 || byte == 0x7f;
  });
}

std::string PortKindList() {
  std::string list;
  for (std::string_view kind : kPortKinds) {
    if (!list.empty()) list += ", ";
    list += kind;
  }
  return list;
}

Status ParseMac(const json& value, bool unicast_only, Args& args) {
  const std::string* text = AsString(value);
  const std::optional<MacAddress> mac = text ? MacAddress::Parse(*text) : std::nullopt;
  if (!mac) {
    return Status::InvalidArgument("invalid MAC address " + Describe(value) +
                                   " (expected aa:bb:cc:dd:ee:ff)");
  }
  if (unicast_only && mac->IsMulticast()) {
    return Status::InvalidArgument("multicast MAC address '" + mac->ToString() +
                                   "' cannot be added (expected a unicast address)");
  }
  args.mac = *mac;
  return Status::Ok();
}

// "198.18.0.1/24" or "2001:db8::1/64", written back the way inet_ntop writes the address; nullopt
// if it is not an address with a prefix length that fits its family.
std::optional<std::string> CanonicalCidr(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos || slash + 1 >= text.size()) return std::nullopt;
  const std::string address(text.substr(0, slash));
  const std::string_view length_text = text.substr(slash + 1);
  unsigned length = 0;
  auto [end, error] =
      std::from_chars(length_text.data(), length_text.data() + length_text.size(), length);
  if (error != std::errc() || end != length_text.data() + length_text.size()) return std::nullopt;
  unsigned char bytes[16];
  char written[INET6_ADDRSTRLEN];
  for (int family : {AF_INET, AF_INET6}) {
    if (inet_pton(family, address.c_str(), bytes) != 1) continue;
    if (length > (family == AF_INET ? 32u : 128u)) return std::nullopt;
    if (!inet_ntop(family, bytes, written, sizeof written)) return std::nullopt;
    return std::string(written) + "/" + std::to_string(length);
  }
  return std::nullopt;
}

// An address a VTEP can have: not 0.0.0.0, not multicast (224/4), not limited broadcast.
bool IsUnicastHost(Ipv4Address ip) {
  const uint32_t v = ip.value();
  return v != 0 && (v >> 28) != 0xe && v != 0xffffffffu;
}

Status ParseParam(const ParamSpec& spec, const json& value, const Datapath& datapath, Args& args) {
  switch (spec.type) {
    case ParamType::kMac:
    case ParamType::kUnicastMac:
      return ParseMac(value, spec.type == ParamType::kUnicastMac, args);
    case ParamType::kIp: {
      const std::string* text = AsString(value);
      args.ip = text ? Ipv4Address::Parse(*text) : std::nullopt;
      if (!args.ip) {
        return Status::InvalidArgument("invalid IPv4 address " + Describe(value) +
                                       " (expected a.b.c.d)");
      }
      return Status::Ok();
    }
    case ParamType::kVlan: {
      const std::optional<int64_t> vlan = AsInteger(value);
      if (!vlan || *vlan < 1 || *vlan > kMaxVlan) {
        return Status::InvalidArgument("invalid VLAN " + Describe(value) +
                                       " (expected an integer 1..4094)");
      }
      args.vlan = static_cast<VlanId>(*vlan);
      return Status::Ok();
    }
    case ParamType::kPort: {
      const std::string* name = AsString(value);
      if (!name) {
        return Status::InvalidArgument("invalid port name " + Describe(value) +
                                       " (expected a string)");
      }
      args.port = datapath.FindPort(*name);
      if (!args.port) return Status::NotFound("unknown port " + QuoteInput(*name));
      return Status::Ok();
    }
    case ParamType::kNewPort: {
      const std::string* name = AsString(value);
      if (!name || !IsValidPortName(*name)) {
        return Status::InvalidArgument(
            "invalid port name " + Describe(value) +
            " (expected 1-15 characters, no '/', ':', '%' or whitespace, not '.' or '..')");
      }
      args.new_port = *name;
      return Status::Ok();
    }
    case ParamType::kPortKind: {
      const std::string* kind = AsString(value);
      if (!kind ||
          std::find(std::begin(kPortKinds), std::end(kPortKinds), *kind) == std::end(kPortKinds)) {
        return Status::InvalidArgument("unsupported port kind " + Describe(value) +
                                       " (valid kinds: " + PortKindList() + ")");
      }
      args.port_kind = *kind;
      return Status::Ok();
    }
    case ParamType::kSeconds: {
      const std::optional<int64_t> seconds = AsInteger(value);
      if (!seconds || *seconds < 1 || *seconds > kMaxAgingSeconds) {
        return Status::InvalidArgument("invalid aging time " + Describe(value) +
                                       " (expected an integer 1..1000000 seconds)");
      }
      args.seconds = *seconds;
      return Status::Ok();
    }
    case ParamType::kMaxMacs: {
      const std::optional<int64_t> n = AsInteger(value);
      if (!n || *n < 0 || *n > kMaxPortMacs) {
        return Status::InvalidArgument("invalid MAC limit " + Describe(value) +
                                       " (expected an integer 0..16777216, 0 for none)");
      }
      args.max_macs = static_cast<size_t>(*n);
      return Status::Ok();
    }
    case ParamType::kStormLimit: {
      const std::optional<int64_t> n = AsInteger(value);
      if (!n || *n < 0 || *n > kMaxStormLimit) {
        return Status::InvalidArgument("invalid storm limit " + Describe(value) +
                                       " (expected frames per second 0..100000000, 0 for off)");
      }
      args.storm_limit = static_cast<uint32_t>(*n);
      return Status::Ok();
    }
    case ParamType::kNetns: {
      const std::string* name = AsString(value);
      if (!name || name->empty() || name->size() > 255 || *name == "." || *name == ".." ||
          name->find('/') != std::string::npos) {
        return Status::InvalidArgument("invalid network namespace name " + Describe(value) +
                                       " (expected 1-255 characters, no '/', not . or ..)");
      }
      args.link.netns = *name;
      return Status::Ok();
    }
    case ParamType::kCreateNetns: {
      if (!value.is_boolean()) {
        return Status::InvalidArgument("invalid create_netns setting " + Describe(value) +
                                       " (expected true or false)");
      }
      args.link.create_netns = value.get<bool>();
      return Status::Ok();
    }
    case ParamType::kCidr: {
      const std::string* text = AsString(value);
      std::optional<std::string> cidr = text ? CanonicalCidr(*text) : std::nullopt;
      if (!cidr) {
        return Status::InvalidArgument("invalid address " + Describe(value) +
                                       " (expected ADDRESS/PREFIX, e.g. 198.18.0.1/24)");
      }
      args.link.address = *cidr;
      return Status::Ok();
    }
    case ParamType::kMtu: {
      const std::optional<int64_t> n = AsInteger(value);
      if (!n || *n < kMinMtu || *n > kMaxMtu) {
        return Status::InvalidArgument("invalid MTU " + Describe(value) +
                                       " (expected an integer 68..65535)");
      }
      args.link.mtu = static_cast<uint32_t>(*n);
      return Status::Ok();
    }
    case ParamType::kLinkMac: {
      if (Status status = ParseMac(value, /*unicast_only=*/true, args); !status.ok()) {
        return status;
      }
      args.link.mac = args.mac;
      return Status::Ok();
    }
    case ParamType::kAccessVlan:
    case ParamType::kNativeVlan: {
      const std::optional<int64_t> vlan = AsInteger(value);
      if (!vlan || *vlan < 1 || *vlan > kMaxVlan) {
        return Status::InvalidArgument("invalid " + std::string(spec.name) + " VLAN " +
                                       Describe(value) + " (expected an integer 1..4094)");
      }
      (spec.type == ParamType::kAccessVlan ? args.access : args.native) =
          static_cast<VlanId>(*vlan);
      return Status::Ok();
    }
    case ParamType::kVlanList: {
      std::optional<VlanSet> set;
      if (const std::string* text = AsString(value)) {
        set = VlanSet::Parse(*text);
      } else if (value.is_array() && !value.empty()) {
        set.emplace();
        for (const json& item : value) {
          const std::optional<int64_t> vlan = AsInteger(item);
          if (!vlan || *vlan < 1 || *vlan > kMaxVlan) {
            set.reset();
            break;
          }
          set->Add(static_cast<VlanId>(*vlan));
        }
      }
      if (!set) {
        return Status::InvalidArgument("invalid VLAN list " + Describe(value) +
                                       " (expected VLANs 1..4094 like \"10,20,30-40\")");
      }
      args.trunk = *set;
      return Status::Ok();
    }
    case ParamType::kSwitch: {
      if (!value.is_boolean()) {
        return Status::InvalidArgument("invalid " + std::string(spec.name) + " setting " +
                                       Describe(value) + " (expected true or false)");
      }
      for (size_t i = 0; i < kSwitchCount; ++i) {
        if (kSwitchNames[i] == spec.name) args.switches[i] = value.get<bool>();
      }
      return Status::Ok();
    }
    case ParamType::kDestPort: {
      const std::string* name = AsString(value);
      if (!name) {
        return Status::InvalidArgument("invalid port name " + Describe(value) +
                                       " (expected a string)");
      }
      args.destination = datapath.FindPort(*name);
      if (!args.destination) return Status::NotFound("unknown port " + QuoteInput(*name));
      return Status::Ok();
    }
    case ParamType::kMirrorName: {
      const std::string* name = AsString(value);
      if (!name || !IsValidPortName(*name)) {
        return Status::InvalidArgument(
            "invalid mirror name " + Describe(value) +
            " (expected 1-15 characters, no '/', ':', '%' or whitespace, not '.' or '..')");
      }
      args.name = *name;
      return Status::Ok();
    }
    case ParamType::kDirection: {
      const std::string* text = AsString(value);
      if (text && *text == "rx") {
        args.direction = Mirror::kRx;
      } else if (text && *text == "tx") {
        args.direction = Mirror::kTx;
      } else if (text && *text == "both") {
        args.direction = Mirror::kBoth;
      } else {
        return Status::InvalidArgument("invalid mirror direction " + Describe(value) +
                                       " (expected rx, tx or both)");
      }
      return Status::Ok();
    }
    case ParamType::kVni: {
      const std::optional<int64_t> n = AsInteger(value);
      if (!n || *n < 1 || *n > kMaxVni) {
        return Status::InvalidArgument("invalid VNI " + Describe(value) +
                                       " (expected an integer 1..16777215)");
      }
      args.vxlan.emplace(args.vxlan.value_or(VxlanOptions{})).vni = static_cast<uint32_t>(*n);
      return Status::Ok();
    }
    case ParamType::kLocalIp: {
      const std::string* text = AsString(value);
      const std::optional<Ipv4Address> ip = text ? Ipv4Address::Parse(*text) : std::nullopt;
      if (!ip || !IsUnicastHost(*ip)) {
        return Status::InvalidArgument("invalid local address " + Describe(value) +
                                       " (expected the unicast IPv4 address of this host)");
      }
      args.vxlan.emplace(args.vxlan.value_or(VxlanOptions{})).local = *ip;
      return Status::Ok();
    }
    case ParamType::kRemoteList: {
      std::vector<Ipv4Address> remotes;
      const json list = value.is_string() ? json::array({value}) : value;
      if (!list.is_array()) {
        return Status::InvalidArgument("invalid remotes " + Describe(value) +
                                       " (expected a list of IPv4 addresses)");
      }
      for (const json& item : list) {
        const std::string* text = AsString(item);
        const std::optional<Ipv4Address> ip = text ? Ipv4Address::Parse(*text) : std::nullopt;
        if (!ip || !IsUnicastHost(*ip)) {
          return Status::InvalidArgument("invalid remote " + Describe(item) +
                                         " (expected the unicast IPv4 address of a VTEP)");
        }
        if (std::find(remotes.begin(), remotes.end(), *ip) == remotes.end()) remotes.push_back(*ip);
      }
      args.vxlan.emplace(args.vxlan.value_or(VxlanOptions{})).remotes = std::move(remotes);
      return Status::Ok();
    }
    case ParamType::kUdpPort: {
      const std::optional<int64_t> n = AsInteger(value);
      if (!n || *n < 1 || *n > 65535) {
        return Status::InvalidArgument("invalid UDP port " + Describe(value) +
                                       " (expected an integer 1..65535)");
      }
      args.vxlan.emplace(args.vxlan.value_or(VxlanOptions{})).dstport = static_cast<uint16_t>(*n);
      return Status::Ok();
    }
    case ParamType::kLearnRemotes: {
      if (!value.is_boolean()) {
        return Status::InvalidArgument("invalid learn_remotes setting " + Describe(value) +
                                       " (expected true or false)");
      }
      args.vxlan.emplace(args.vxlan.value_or(VxlanOptions{})).learn_remotes = value.get<bool>();
      return Status::Ok();
    }
    case ParamType::kFilePath: {
      const std::string* path = AsString(value);
      if (!path || path->empty() || path->front() != '/' || path->size() > 4096 ||
          path->find('\0') != std::string::npos) {
        return Status::InvalidArgument("invalid file " + Describe(value) +
                                       " (expected an absolute path)");
      }
      args.file = *path;
      return Status::Ok();
    }
    case ParamType::kFrameCount:
    case ParamType::kDuration: {
      const bool count = spec.type == ParamType::kFrameCount;
      const int64_t max = count ? 1000000000 : 86400;
      const std::optional<int64_t> n = AsInteger(value);
      if (!n || *n < 1 || *n > max) {
        return Status::InvalidArgument(
            std::string("invalid ") + (count ? "frame count " : "duration ") + Describe(value) +
            " (expected an integer 1.." + std::to_string(max) + (count ? ")" : " seconds)"));
      }
      (count ? args.count : args.duration) = static_cast<uint64_t>(*n);
      return Status::Ok();
    }
    case ParamType::kOffload: {
      if (!value.is_boolean()) {
        return Status::InvalidArgument("invalid offload setting " + Describe(value) +
                                       " (expected true or false)");
      }
      args.offload = value.get<bool>();
      return Status::Ok();
    }
    case ParamType::kEvents: {
      if (!value.is_array()) {
        return Status::InvalidArgument(
            "invalid event list " + Describe(value) +
            " (expected a list of names, e.g. [\"mac\", \"port-added\"])");
      }
      EventKinds kinds;
      for (const json& item : value) {
        const std::string* name = AsString(item);
        const std::optional<EventKinds> named = name ? ParseEventKinds(*name) : std::nullopt;
        if (!named) {
          return Status::InvalidArgument("unknown event " + Describe(item) + " (expected " +
                                         EventNameList() + ")");
        }
        kinds = kinds | *named;
      }
      if (kinds.empty()) {
        return Status::InvalidArgument("empty event list (expected at least one name, or omit it)");
      }
      args.events = kinds;
      return Status::Ok();
    }
  }
  return Status::Internal("unhandled parameter type");
}

std::string ParamList(const MethodSpec& method) {
  std::string list;
  for (const ParamSpec& param : method.params) {
    if (!list.empty()) list += ", ";
    list += param.name;
  }
  return list;
}

// Checks `params` against `method`'s declared parameters and parses them into `args`. A parameter
// given as null counts as omitted.
Status ParseArgs(const MethodSpec& method, const json& params, const Datapath& datapath,
                 Args& args) {
  if (!params.is_null() && !params.is_object()) {
    return Status::InvalidArgument("params must be an object (named parameters)");
  }
  // Not a structured binding: clang 14 (the fuzz build) cannot capture one in the lambda below.
  for (const auto& item : params.items()) {
    const std::string& key = item.key();
    const bool known = std::any_of(method.params.begin(), method.params.end(),
                                   [&](const ParamSpec& spec) { return spec.name == key; });
    if (!known) {
      const std::string expected =
          method.params.empty() ? "it takes none" : "expected " + ParamList(method);
      return Status::InvalidArgument("unknown parameter " + QuoteInput(key) + " for '" +
                                     std::string(method.name) + "' (" + expected + ")");
    }
  }
  for (const ParamSpec& spec : method.params) {
    const auto it = params.is_object() ? params.find(spec.name) : params.end();
    if (it == params.end() || it->is_null()) {
      if (!spec.required) continue;
      return Status::InvalidArgument("missing parameter '" + std::string(spec.name) + "' for '" +
                                     std::string(method.name) + "'");
    }
    if (Status status = ParseParam(spec, *it, datapath, args); !status.ok()) return status;
  }
  return Status::Ok();
}

// ---- Result formatting.

// Whole seconds from `since` to `now`; never negative (an entry refreshed "after" now reads 0).
int64_t AgeSeconds(Time now, Time since) {
  if (now <= since) return 0;
  return std::chrono::duration_cast<std::chrono::seconds>(now - since).count();
}

// The number users see: PortIds count from 0, the protocol's port numbers from 1.
uint32_t PortNumber(PortId port) { return ToIndex(port) + 1; }

json PortNameOrNull(const Datapath& datapath, PortId port) {
  if (!datapath.HasPort(port)) return nullptr;
  return datapath.port_name(port);
}

// A VXLAN port's tunnel, as show-ports and show-config report it.
json VxlanJson(const VxlanOptions& vxlan) {
  json remotes = json::array();
  for (Ipv4Address remote : vxlan.remotes) remotes.push_back(remote.ToString());
  return json{{"vni", vxlan.vni},
              {"local", vxlan.local.ToString()},
              {"dstport", vxlan.dstport},
              {"remotes", std::move(remotes)},
              {"learn_remotes", vxlan.learn_remotes}};
}

// A port's VLAN setting as show-ports reports it.
void AddVlanJson(const PortVlan& vlan, json& out) {
  const bool access = vlan.mode == VlanMode::kAccess;
  out["vlan_mode"] = access ? "access" : "trunk";
  out["vlan"] = access ? json(vlan.access) : json(nullptr);
  out["trunk"] = access ? json(nullptr) : json(vlan.trunk.ToString());
  out["native"] = !access && vlan.native != 0 ? json(vlan.native) : json(nullptr);
}

json PortJson(const Context& ctx, const PortInfo& port) {
  const PortDetails details = ctx.backend.Describe(port.id);
  const PortCounters& c = port.counters;
  json result{
      {"name", port.name},
      {"index", PortNumber(port.id)},
      {"kind", details.kind},
      {"ifname", details.ifname},
      {"netns", details.link.netns ? json(*details.link.netns) : json(nullptr)},
      {"ifindex", details.ifindex ? json(*details.ifindex) : json(nullptr)},
      {"mac", details.mac ? json(details.mac->ToString()) : json(nullptr)},
      {"up", details.up},
      {"offload", port.offloads},
      {"rx_packets", c.rx_packets},
      {"rx_bytes", c.rx_bytes},
      {"tx_packets", c.tx_packets},
      {"tx_bytes", c.tx_bytes},
      {"drops", c.drops()},
      {"rx_dropped", c.rx_dropped},
      {"tx_dropped", c.tx_dropped},
      {"macs", ctx.datapath.mac_table().CountOnPort(port.id)},
      {"max_macs", port.settings.max_macs},
      {"storm_limit", port.settings.storm_limit},
      {"storm_dropped", c.storm_dropped},
      {"unlearned", c.unlearned},
  };
  AddVlanJson(port.settings.vlan, result);
  for (size_t i = 0; i < kSwitchCount; ++i) {
    result[std::string(kSwitchNames[i])] = SwitchOf(port.settings, i);
  }
  result["mirror_destination"] = port.mirror_destination;
  if (const std::optional<VxlanOptions>& vxlan = details.link.vxlan) {
    json tunnel = VxlanJson(*vxlan);
    if (details.counters.is_object()) tunnel.update(details.counters);
    result["vxlan"] = std::move(tunnel);
  }
  return result;
}

json ParamsHelp(const MethodSpec& method) {
  static constexpr std::string_view kTypeNames[] = {
      "MAC",           "unicast MAC", "IPv4",    "VLAN",        "port",        "new port name",
      "port kind",     "seconds",     "boolean", "MAC limit",   "storm limit", "namespace name",
      "boolean",       "CIDR",        "MTU",     "unicast MAC", "VLAN",        "VLAN list",
      "VLAN",          "boolean",     "port",    "mirror name", "direction",   "event list",
      "absolute path", "frame count", "seconds", "VNI",         "IPv4",        "IPv4 list",
      "UDP port",      "boolean"};
  json params = json::array();
  for (const ParamSpec& param : method.params) {
    params.push_back({{"name", param.name},
                      {"type", kTypeNames[static_cast<size_t>(param.type)]},
                      {"required", param.required}});
  }
  return params;
}

// ---- Handlers: params are already validated; they act and format.

Result<json> ShowPorts(const Context& ctx) {
  json ports = json::array();
  for (const PortInfo& port : ctx.datapath.Ports()) ports.push_back(PortJson(ctx, port));
  return ports;
}

Result<json> ShowMacs(const Context& ctx) {
  std::vector<MacEntry> entries = ctx.datapath.mac_table().Entries();
  std::erase_if(entries, [&](const MacEntry& e) {
    return (ctx.args.port && e.port != *ctx.args.port) ||
           (ctx.args.vlan && e.vlan != *ctx.args.vlan);
  });
  std::sort(entries.begin(), entries.end(), [](const MacEntry& a, const MacEntry& b) {
    return std::tuple(ToIndex(a.port), a.vlan, a.mac) < std::tuple(ToIndex(b.port), b.vlan, b.mac);
  });
  std::vector<bool> vxlan_ports;  // by port index: asked of the backend once per port
  for (const PortInfo& port : ctx.datapath.Ports()) {
    if (vxlan_ports.size() <= ToIndex(port.id)) vxlan_ports.resize(ToIndex(port.id) + 1);
    vxlan_ports[ToIndex(port.id)] = ctx.backend.Describe(port.id).link.vxlan.has_value();
  }
  json macs = json::array();
  for (const MacEntry& e : entries) {
    macs.push_back({{"mac", e.mac.ToString()},
                    {"port", PortNameOrNull(ctx.datapath, e.port)},
                    {"vlan", e.vlan},
                    {"type", e.is_static ? "static" : "dynamic"},
                    {"age", AgeSeconds(ctx.now, e.last_seen)},
                    {"moves", e.moves}});
    // A MAC behind a VXLAN port: the remote VTEP it is behind.
    if (ToIndex(e.port) < vxlan_ports.size() && vxlan_ports[ToIndex(e.port)]) {
      const std::optional<Ipv4Address> remote = ctx.backend.RemoteOf(e.port, e.mac);
      macs.back()["remote"] = remote ? json(remote->ToString()) : json(nullptr);
    }
  }
  return macs;
}

Result<json> ShowArp(const Context& ctx) {
  std::vector<ArpBinding> bindings = ctx.datapath.arp_table().Entries();
  std::erase_if(bindings,
                [&](const ArpBinding& b) { return ctx.args.vlan && b.vlan != *ctx.args.vlan; });
  std::sort(bindings.begin(), bindings.end(), [](const ArpBinding& a, const ArpBinding& b) {
    return std::tuple(a.vlan, a.ip) < std::tuple(b.vlan, b.ip);
  });
  json arp = json::array();
  for (const ArpBinding& b : bindings) {
    const std::optional<PortId> port = ctx.datapath.mac_table().Lookup(b.mac, b.vlan);
    arp.push_back({{"ip", b.ip.ToString()},
                   {"mac", b.mac.ToString()},
                   {"port", port ? PortNameOrNull(ctx.datapath, *port) : json(nullptr)},
                   {"vlan", b.vlan},
                   {"type", b.is_static ? "static" : "dynamic"},
                   {"age", AgeSeconds(ctx.now, b.last_seen)}});
  }
  return arp;
}

Result<json> ShowStats(const Context& ctx) {
  const MacTable& macs = ctx.datapath.mac_table();
  const ArpTable& arp = ctx.datapath.arp_table();
  const DatapathStats& frames = ctx.datapath.stats();
  const PortCounters totals = ctx.datapath.TotalCounters();
  const size_t static_macs = macs.static_count();
  const size_t static_arp = arp.static_count();
  return json{
      {"macs",
       {{"current", macs.size()},
        {"max", macs.capacity()},
        {"static", static_macs},
        {"learned", macs.stats().learned},
        {"moved", macs.stats().moved},
        {"expired", macs.stats().expired},
        {"evicted", macs.stats().evicted},
        {"not_learned", macs.stats().not_learned},
        {"move_damped", macs.stats().move_damped},
        {"port_limited", macs.stats().port_limited}}},
      {"arp",
       {{"current", arp.size()},
        {"max", arp.capacity()},
        {"static", static_arp},
        {"learned", arp.stats().learned},
        {"changed", arp.stats().changed},
        {"expired", arp.stats().expired},
        {"evicted", arp.stats().evicted},
        {"not_learned", arp.stats().not_learned},
        {"answered", frames.arp_answered},
        {"flooded", frames.arp_flooded}}},
      {"frames",
       {{"malformed", frames.malformed},
        {"vlan_dropped", frames.vlan_dropped},
        {"local_dropped", frames.local_dropped},
        {"unicast_forwarded", frames.unicast_forwarded},
        {"flooded", frames.flooded},
        {"unknown_unicast", frames.unknown_unicast},
        {"storm_dropped", frames.storm_dropped},
        {"gso_segmented", frames.gso_segmented},
        {"checksums_completed", frames.checksums_completed},
        {"offload_dropped", frames.offload_dropped},
        {"tx_failed", frames.tx_failed},
        {"isolated_dropped", frames.isolated_dropped},
        {"mirror_port_dropped", frames.mirror_port_dropped},
        {"mirrored", frames.mirrored},
        // Since start, removed ports included: at least the sums over show-ports.
        {"rx_packets", totals.rx_packets},
        {"rx_bytes", totals.rx_bytes},
        {"tx_packets", totals.tx_packets},
        {"tx_bytes", totals.tx_bytes},
        {"rx_dropped", totals.rx_dropped},
        {"tx_dropped", totals.tx_dropped},
        // Every reason: rx_dropped (malformed, VLAN, storm, mirror port) + tx_dropped (tx failed,
        // offload) + local_dropped + isolated_dropped.
        {"dropped", totals.drops() + frames.local_dropped + frames.isolated_dropped}}},
      {"aging",
       std::chrono::duration_cast<std::chrono::seconds>(ctx.datapath.aging_time()).count()},
      {"ports", ctx.datapath.Ports().size()},
  };
}

Result<json> AddPort(const Context& ctx) {
  const std::string& name = ctx.args.new_port;
  const std::string& kind = ctx.args.port_kind;
  const LinkOptions& link = ctx.args.link;
  if (ctx.datapath.FindPort(name)) {
    return Status::AlreadyExists("port " + QuoteInput(name) + " already exists");
  }
  if (kind != "tap" && (link.netns || link.address)) {
    return Status::InvalidArgument(
        std::string(link.netns ? "netns" : "address") + " applies to tap ports only (" +
        (kind == "attach" ? "an " : "a ") + kind + " port's interface stays where it is: " +
        (kind == "vm" ? "its far side is the hypervisor's" : "it is someone else's") + ")");
  }
  if (kind == "vxlan") {
    if (!ctx.args.vxlan || ctx.args.vxlan->vni == 0 || ctx.args.vxlan->local.IsZero()) {
      return Status::InvalidArgument(
          "a vxlan port needs vni and local (add-vxlan NAME --vni N "
          "--local IP --remote IP)");
    }
    const VxlanOptions& tunnel = *ctx.args.vxlan;
    if (std::find(tunnel.remotes.begin(), tunnel.remotes.end(), tunnel.local) !=
        tunnel.remotes.end()) {
      return Status::InvalidArgument("remote " + tunnel.local.ToString() +
                                     " is the port's own local address");
    }
    if (link.netns || link.address || link.mtu || link.mac) {
      return Status::InvalidArgument(
          "netns, address, mtu and mac do not apply to vxlan ports (they have no interface)");
    }
  } else if (ctx.args.vxlan) {
    return Status::InvalidArgument(
        "vni, local, remotes, dstport and learn_remotes apply to "
        "vxlan ports only (add-vxlan)");
  }
  if (link.create_netns && !link.netns) {
    return Status::InvalidArgument("create_netns needs netns (the namespace to create)");
  }
  if (kind != "tap" && !ctx.args.offload) {
    return Status::InvalidArgument(
        "offload off applies to tap ports only (the kernel finishes offloaded frames for " + kind +
        " ports)");
  }
  LinkOptions with_tunnel = link;
  with_tunnel.vxlan = ctx.args.vxlan;
  // A tunnel takes complete frames: the datapath segments and checksums GSO frames for it.
  const bool offloads = kind == "vxlan" ? false : ctx.args.offload;
  Result<PortId> id =
      ctx.backend.AddPort(name, kind, PortOptions{.offloads = offloads}, with_tunnel);
  if (!id.ok()) return id.status();
  for (const PortInfo& port : ctx.datapath.Ports()) {
    if (port.id == *id) return PortJson(ctx, port);
  }
  return Status::Internal("port " + QuoteInput(name) + " was added but is not in the datapath");
}

Result<json> AddVxlan(const Context& ctx) {
  Args args = ctx.args;
  args.port_kind = "vxlan";
  return AddPort(Context{ctx.datapath, ctx.backend, ctx.now, args, ctx.session});
}

Result<json> AddRemote(const Context& ctx) {
  if (!IsUnicastHost(*ctx.args.ip)) {
    return Status::InvalidArgument("invalid remote '" + ctx.args.ip->ToString() +
                                   "' (expected the unicast IPv4 address of a VTEP)");
  }
  if (Status status = ctx.backend.AddRemote(*ctx.args.port, *ctx.args.ip); !status.ok()) {
    return status;
  }
  return json::object();
}

Result<json> DelRemote(const Context& ctx) {
  if (Status status = ctx.backend.DelRemote(*ctx.args.port, *ctx.args.ip); !status.ok()) {
    return status;
  }
  return json::object();
}

Result<json> SetPort(const Context& ctx) {
  const Args& a = ctx.args;
  const bool any_switch = std::any_of(a.switches.begin(), a.switches.end(),
                                      [](const auto& v) { return v.has_value(); });
  if (!a.max_macs && !a.storm_limit && !a.access && !a.trunk && !a.native && !any_switch) {
    return Status::InvalidArgument(
        "set-port needs a setting to change (max_macs, storm_limit, access, trunk, native, "
        "learning, flood, bcast_flood, mcast_flood, isolated)");
  }
  PortSettings settings = ctx.datapath.port_settings(*a.port);
  if (a.max_macs) settings.max_macs = *a.max_macs;
  if (a.storm_limit) settings.storm_limit = *a.storm_limit;
  if (a.access && (a.trunk || a.native)) {
    return Status::InvalidArgument(std::string("access and ") + (a.trunk ? "trunk" : "native") +
                                   " exclude each other (a port is an access port or a trunk)");
  }
  if (a.access) settings.vlan = PortVlan::Access(*a.access);
  if (a.trunk) {
    // The whole trunk setting: without a native VLAN, untagged frames are dropped.
    settings.vlan = PortVlan::Trunk(*a.trunk, a.native.value_or(0));
  } else if (a.native) {
    if (settings.vlan.mode != VlanMode::kTrunk) {
      return Status::InvalidArgument(
          "native applies to trunk ports (set-port PORT trunk VLANS native VLAN)");
    }
    settings.vlan.native = *a.native;
  }
  for (size_t i = 0; i < kSwitchCount; ++i) {
    if (a.switches[i]) SwitchOf(settings, i) = *a.switches[i];
  }
  if (Status status = ctx.datapath.ConfigurePort(*a.port, settings); !status.ok()) return status;
  for (const PortInfo& port : ctx.datapath.Ports()) {
    if (port.id == *a.port) return PortJson(ctx, port);
  }
  return Status::Internal("configured port is not in the datapath");
}

std::string_view DirectionName(Mirror::Direction direction) {
  return direction == Mirror::kRx ? "rx" : direction == Mirror::kTx ? "tx" : "both";
}

json MirrorJson(const Datapath& datapath, const Mirror& m) {
  return json{{"name", m.name},
              {"source", datapath.port_name(m.source)},
              {"destination", datapath.port_name(m.destination)},
              {"direction", DirectionName(m.direction)},
              {"frames", m.frames}};
}

Result<json> AddMirror(const Context& ctx) {
  const Args& a = ctx.args;
  Status status =
      ctx.datapath.AddMirror(a.name, *a.port, *a.destination, a.direction.value_or(Mirror::kBoth));
  if (!status.ok()) return status;
  return MirrorJson(ctx.datapath, ctx.datapath.mirrors().back());
}

Result<json> DelMirror(const Context& ctx) {
  if (Status status = ctx.datapath.DelMirror(ctx.args.name); !status.ok()) return status;
  return json::object();
}

Result<json> ShowMirrors(const Context& ctx) {
  json mirrors = json::array();
  for (const Mirror& m : ctx.datapath.mirrors()) mirrors.push_back(MirrorJson(ctx.datapath, m));
  return mirrors;
}

Result<json> DelPort(const Context& ctx) {
  if (Status status = ctx.backend.DelPort(*ctx.args.port); !status.ok()) return status;
  return json::object();
}

Result<json> AddMac(const Context& ctx) {
  const Args& a = ctx.args;
  Status status =
      ctx.datapath.mac_table().AddStatic(*a.mac, a.vlan.value_or(kDefaultVlan), *a.port, ctx.now);
  if (!status.ok()) return status;
  return json::object();
}

Result<json> DelMac(const Context& ctx) {
  const Args& a = ctx.args;
  MacTable& table = ctx.datapath.mac_table();
  const size_t removed = a.vlan ? (table.Remove(*a.mac, *a.vlan) ? 1 : 0) : table.RemoveMac(*a.mac);
  if (removed == 0) {
    return Status::NotFound("no MAC entry for '" + a.mac->ToString() + "'" +
                            (a.vlan ? " in VLAN " + std::to_string(*a.vlan) : ""));
  }
  return json{{"removed", removed}};
}

Result<json> FlushMacs(const Context& ctx) {
  const size_t flushed = ctx.datapath.mac_table().Flush(ctx.args.port, /*include_static=*/false);
  return json{{"flushed", flushed}};
}

Result<json> AddArp(const Context& ctx) {
  const Args& a = ctx.args;
  Status status =
      ctx.datapath.arp_table().AddStatic(*a.ip, a.vlan.value_or(kDefaultVlan), *a.mac, ctx.now);
  if (!status.ok()) return status;
  return json::object();
}

Result<json> DelArp(const Context& ctx) {
  const Args& a = ctx.args;
  ArpTable& table = ctx.datapath.arp_table();
  const size_t removed = a.vlan ? (table.Remove(*a.ip, *a.vlan) ? 1 : 0) : table.RemoveIp(*a.ip);
  if (removed == 0) {
    return Status::NotFound("no ARP binding for '" + a.ip->ToString() + "'" +
                            (a.vlan ? " in VLAN " + std::to_string(*a.vlan) : ""));
  }
  return json{{"removed", removed}};
}

Result<json> SetAging(const Context& ctx) {
  ctx.datapath.set_aging_time(std::chrono::seconds(ctx.args.seconds));
  return json{{"aging", ctx.args.seconds}};
}

// A port as a config file's "ports" entry: what add-port and set-port were given, defaults left
// out, so that `switchd --config` with it builds the same port.
json PortConfigJson(const Context& ctx, const PortInfo& port) {
  const PortDetails details = ctx.backend.Describe(port.id);
  json entry = {{"name", port.name}, {"kind", details.kind}};
  if (!port.offloads && details.kind == "tap") entry["offload"] = false;
  const LinkOptions& link = details.link;
  if (link.netns) entry["netns"] = *link.netns;
  if (link.create_netns) entry["create_netns"] = true;
  if (link.address) entry["address"] = *link.address;
  if (link.mtu) entry["mtu"] = *link.mtu;
  if (link.mac) entry["mac"] = link.mac->ToString();
  if (link.vxlan) {
    json tunnel = VxlanJson(*link.vxlan);
    if (link.vxlan->dstport == kVxlanPort) tunnel.erase("dstport");
    if (!link.vxlan->learn_remotes) tunnel.erase("learn_remotes");
    entry.update(tunnel);
  }
  if (port.settings.max_macs) entry["max_macs"] = port.settings.max_macs;
  if (port.settings.storm_limit) entry["storm_limit"] = port.settings.storm_limit;
  const PortVlan& vlan = port.settings.vlan;
  if (vlan.mode == VlanMode::kAccess && vlan.access != kDefaultVlan) entry["access"] = vlan.access;
  if (vlan.mode == VlanMode::kTrunk) {
    entry["trunk"] = vlan.trunk.ToString();
    if (vlan.native != 0) entry["native"] = vlan.native;
  }
  const PortSettings defaults;
  for (size_t i = 0; i < kSwitchCount; ++i) {
    if (SwitchOf(port.settings, i) != SwitchOf(defaults, i)) {
      entry[std::string(kSwitchNames[i])] = SwitchOf(port.settings, i);
    }
  }
  return entry;
}

Result<json> ShowConfig(const Context& ctx) {
  json ports = json::array();
  for (const PortInfo& port : ctx.datapath.Ports()) ports.push_back(PortConfigJson(ctx, port));
  std::vector<MacEntry> statics = ctx.datapath.mac_table().Entries();
  std::erase_if(statics, [](const MacEntry& e) { return !e.is_static; });
  std::sort(statics.begin(), statics.end(), [](const MacEntry& a, const MacEntry& b) {
    return std::tuple(ToIndex(a.port), a.vlan, a.mac) < std::tuple(ToIndex(b.port), b.vlan, b.mac);
  });
  json macs = json::array();
  for (const MacEntry& e : statics) {
    if (!ctx.datapath.HasPort(e.port)) continue;
    macs.push_back(
        {{"mac", e.mac.ToString()}, {"port", ctx.datapath.port_name(e.port)}, {"vlan", e.vlan}});
  }
  std::vector<ArpBinding> bindings = ctx.datapath.arp_table().Entries();
  std::erase_if(bindings, [](const ArpBinding& b) { return !b.is_static; });
  std::sort(bindings.begin(), bindings.end(), [](const ArpBinding& a, const ArpBinding& b) {
    return std::tuple(a.vlan, a.ip) < std::tuple(b.vlan, b.ip);
  });
  json arp = json::array();
  for (const ArpBinding& b : bindings) {
    arp.push_back({{"ip", b.ip.ToString()}, {"mac", b.mac.ToString()}, {"vlan", b.vlan}});
  }
  json mirrors = json::array();
  for (const Mirror& m : ctx.datapath.mirrors()) {
    json entry = MirrorJson(ctx.datapath, m);
    entry.erase("frames");
    mirrors.push_back(std::move(entry));
  }
  return json{
      {"max_macs", ctx.datapath.mac_table().capacity()},
      {"aging",
       std::chrono::duration_cast<std::chrono::seconds>(ctx.datapath.aging_time()).count()},
      {"ports", std::move(ports)},
      {"macs", std::move(macs)},
      {"arp", std::move(arp)},
      {"mirrors", std::move(mirrors)},
  };
}

Result<json> Capture(const Context& ctx) {
  if (ctx.session == nullptr) {
    return Status::InvalidArgument("capture needs a connection to the control socket");
  }
  return ctx.session->StartCapture(*ctx.args.port, ctx.args.file, ctx.args.count,
                                   ctx.args.duration);
}

Result<json> Monitor(const Context& ctx) {
  if (ctx.session == nullptr) {
    return Status::InvalidArgument("monitor needs a connection to the control socket");
  }
  const EventKinds kinds = ctx.args.events.value_or(EventKinds::All());
  if (Status status = ctx.session->Subscribe(kinds); !status.ok()) return status;
  json names = json::array();
  for (EventKind kind : kinds.List()) names.push_back(EventKindName(kind));
  return json{{"events", std::move(names)}};
}

Result<json> Version(const Context&) { return json{{"version", SWITCHD_VERSION}}; }

Result<json> Help(const Context&) {
  json methods = json::array();
  for (const MethodSpec& method : Methods()) {
    methods.push_back(
        {{"method", method.name}, {"summary", method.summary}, {"params", ParamsHelp(method)}});
  }
  return methods;
}

// The method table. docs/control-protocol.md describes each entry; keep the two in step.
const std::vector<MethodSpec>& Methods() {
  using enum ParamType;
  constexpr bool kRequired = true;
  constexpr bool kOptional = false;
  // clang-format off
  static const std::vector<MethodSpec> kMethods = {
      {"show-ports", "list the ports with their counters", {}, ShowPorts},
      {"show-macs", "list the MAC table",
       {{"port", kPort, kOptional}, {"vlan", kVlan, kOptional}}, ShowMacs},
      {"show-arp", "list the ARP table",
       {{"vlan", kVlan, kOptional}}, ShowArp},
      {"show-stats", "show table and forwarding counters", {}, ShowStats},
      {"add-port", "create or attach a port",
       {{"name", kNewPort, kRequired}, {"kind", kPortKind, kOptional}, {"offload", kOffload, kOptional},
        {"netns", kNetns, kOptional}, {"create_netns", kCreateNetns, kOptional},
        {"address", kCidr, kOptional}, {"mtu", kMtu, kOptional}, {"mac", kLinkMac, kOptional},
        {"vni", kVni, kOptional}, {"local", kLocalIp, kOptional},
        {"remotes", kRemoteList, kOptional}, {"dstport", kUdpPort, kOptional},
        {"learn_remotes", kLearnRemotes, kOptional}},
       AddPort},
      {"del-port", "remove a port with its MAC entries",
       {{"name", kPort, kRequired}}, DelPort},
      {"set-port", "change a port's settings",
       {{"port", kPort, kRequired}, {"max_macs", kMaxMacs, kOptional},
        {"storm_limit", kStormLimit, kOptional}, {"access", kAccessVlan, kOptional},
        {"trunk", kVlanList, kOptional}, {"native", kNativeVlan, kOptional},
        {"learning", kSwitch, kOptional}, {"flood", kSwitch, kOptional},
        {"bcast_flood", kSwitch, kOptional}, {"mcast_flood", kSwitch, kOptional},
        {"isolated", kSwitch, kOptional}},
       SetPort},
      {"add-mac", "add or replace a static MAC entry",
       {{"mac", kUnicastMac, kRequired}, {"port", kPort, kRequired}, {"vlan", kVlan, kOptional}},
       AddMac},
      {"del-mac", "remove a MAC entry (every VLAN unless vlan is given)",
       {{"mac", kMac, kRequired}, {"vlan", kVlan, kOptional}}, DelMac},
      {"flush-macs", "remove the dynamic MAC entries (of one port if given)",
       {{"port", kPort, kOptional}}, FlushMacs},
      {"add-arp", "add or replace a static ARP binding",
       {{"ip", kIp, kRequired}, {"mac", kUnicastMac, kRequired}, {"vlan", kVlan, kOptional}},
       AddArp},
      {"del-arp", "remove an ARP binding (every VLAN unless vlan is given)",
       {{"ip", kIp, kRequired}, {"vlan", kVlan, kOptional}}, DelArp},
      {"set-aging", "set the aging time of dynamic entries",
       {{"seconds", kSeconds, kRequired}}, SetAging},
      {"add-vxlan", "add a VXLAN port to remote VTEPs",
       {{"name", kNewPort, kRequired}, {"vni", kVni, kRequired}, {"local", kLocalIp, kRequired},
        {"remotes", kRemoteList, kOptional}, {"dstport", kUdpPort, kOptional},
        {"learn_remotes", kLearnRemotes, kOptional}},
       AddVxlan},
      {"add-remote", "add a remote VTEP to a VXLAN port",
       {{"port", kPort, kRequired}, {"ip", kIp, kRequired}}, AddRemote},
      {"del-remote", "remove a remote VTEP from a VXLAN port",
       {{"port", kPort, kRequired}, {"ip", kIp, kRequired}}, DelRemote},
      {"add-mirror", "copy a port's frames to another port",
       {{"name", kMirrorName, kRequired}, {"source", kPort, kRequired},
        {"destination", kDestPort, kRequired}, {"direction", kDirection, kOptional}},
       AddMirror},
      {"del-mirror", "remove a mirror",
       {{"name", kMirrorName, kRequired}}, DelMirror},
      {"show-mirrors", "list the mirrors", {}, ShowMirrors},
      {"show-config", "the running configuration, as a config file holds it", {}, ShowConfig},
      {"capture", "write a port's frames to a pcap file; capture-done tells when it ends",
       {{"port", kPort, kRequired}, {"file", kFilePath, kRequired},
        {"count", kFrameCount, kOptional}, {"seconds", kDuration, kOptional}}, Capture},
      {"monitor", "stream events to this connection until it closes",
       {{"events", kEvents, kOptional}}, Monitor},
      {"version", "show the daemon's version", {}, Version},
      {"help", "list the methods and their params", {}, Help},
  };
  // clang-format on
  return kMethods;
}

}  // namespace

ControlMethods::ControlMethods(Datapath& datapath, PortBackend& backend)
    : datapath_(datapath), backend_(backend) {}

Result<json> ControlMethods::Call(std::string_view method, const json& params, Time now,
                                  ControlSession* session) {
  const MethodSpec* spec = FindMethod(method);
  if (spec == nullptr) return Status::Internal("unknown method " + QuoteInput(method));
  Args args;
  if (Status status = ParseArgs(*spec, params, datapath_, args); !status.ok()) return status;
  return spec->handler(Context{datapath_, backend_, now, args, session});
}

bool ControlMethods::HasMethod(std::string_view method) const {
  return FindMethod(method) != nullptr;
}

std::vector<std::string> ControlMethods::MethodNames() const {
  std::vector<std::string> names;
  for (const MethodSpec& spec : Methods()) names.emplace_back(spec.name);
  return names;
}

Dispatcher ControlMethods::MakeDispatcher(Time now, ControlSession* session) {
  return Dispatcher{
      [this](std::string_view method) { return HasMethod(method); },
      [this, now, session](std::string_view method, const json& params) {
        return Call(method, params, now, session);
      },
  };
}

}  // namespace switchd
