#include "switchd/control/config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "switchd/control/methods.h"
#include "switchd/core/datapath.h"
#include "switchd/core/types.h"

namespace switchd {
namespace {

using nlohmann::json;

constexpr const char* kLogLevels[] = {"debug", "info", "warn", "warning", "error"};

Status Invalid(const std::string& key, const std::string& expected, const json& got) {
  return Status::InvalidArgument("config: '" + key + "' must be " + expected + ", got " +
                                 got.dump());
}

Result<PortRequest> ParsePortEntry(const json& entry, size_t i) {
  std::string where = "ports[" + std::to_string(i) + "]";
  if (entry.is_string()) return ParsePortArgument(entry.get<std::string>());
  if (!entry.is_object()) return Invalid(where, "a name or an object {\"name\", \"kind\"}", entry);
  PortRequest port;
  for (const auto& [key, value] : entry.items()) {
    if (key == "name" && value.is_string()) {
      port.name = value.get<std::string>();
    } else if (key == "kind" && value.is_string()) {
      port.kind = value.get<std::string>();
    } else if (key == "name" || key == "kind") {
      return Invalid(where + "." + key, "a string", value);
    } else if (key == "offload") {
      if (!value.is_boolean()) return Invalid(where + ".offload", "true or false", value);
      port.offload = value.get<bool>();
    } else if (key == "max_macs" || key == "storm_limit" || key == "access" || key == "trunk" ||
               key == "native" || key == "learning" || key == "flood" || key == "bcast_flood" ||
               key == "mcast_flood" || key == "isolated") {
      port.settings[key] = value;  // checked by set-port (ValidateConfig)
    } else if (key == "netns" || key == "create_netns" || key == "address" || key == "mtu" ||
               key == "mac" || key == "vni" || key == "local" || key == "remotes" ||
               key == "dstport" || key == "learn_remotes") {
      port.link[key] = value;  // checked by add-port (ValidateConfig)
    } else {
      return Status::InvalidArgument("config: unknown key '" + key + "' in " + where +
                                     " (expected name, kind, offload, netns, create_netns, "
                                     "address, mtu, mac, vni, local, remotes, dstport, "
                                     "learn_remotes, max_macs, storm_limit, access, trunk, "
                                     "native, learning, flood, bcast_flood, mcast_flood, "
                                     "isolated)");
    }
  }
  if (port.name.empty()) return Invalid(where + ".name", "a non-empty string", entry);
  return port;
}

// Reads a whole file; errors do not name it.
Result<std::string> ReadText(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::System(std::string("cannot read: ") + strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::System(std::string("cannot read: ") + strerror(errno));
  return text.str();
}

// ---- Validation: a scratch datapath driven through the control methods.

// Drops every frame: the scratch datapath never receives any.
class NullSink final : public FrameSink {
 public:
  bool Send(PortId, std::span<const std::byte>, const VnetHeader&) override { return false; }
};

// Registers ports in the scratch datapath without opening anything.
class ScratchPorts final : public PortBackend {
 public:
  explicit ScratchPorts(Datapath& datapath) : datapath_(datapath) {}
  Result<PortId> AddPort(std::string_view name, std::string_view, const PortOptions& options,
                         const LinkOptions&) override {
    return datapath_.AddPort(name, options);  // add-port checked the kind
  }
  Status DelPort(PortId port) override {
    datapath_.RemovePort(port);
    return Status::Ok();
  }
  PortDetails Describe(PortId) const override { return {}; }

 private:
  Datapath& datapath_;
};

// ---- Diff: static entries keyed as the tables key them.

int64_t VlanOf(const json& entry) {
  auto it = entry.find("vlan");
  if (it == entry.end() || it->is_null() || !it->is_number_integer()) return kDefaultVlan;
  return it->get<int64_t>();
}

std::string NormalizedMac(const json& value) {
  if (!value.is_string()) return value.dump();
  std::optional<MacAddress> mac = MacAddress::Parse(value.get<std::string>());
  return mac ? mac->ToString() : value.get<std::string>();
}

std::string TextOf(const json& entry, const char* key) {
  auto it = entry.find(key);
  if (it == entry.end()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// A static entry's key in its table and its normalized value: two entries with the same key and
// value are the same entry however they are spelled.
struct NormalizedEntry {
  std::string key;
  json value;
};

NormalizedEntry NormalizeMac(const json& entry) {
  const std::string mac = NormalizedMac(entry.value("mac", json()));
  const int64_t vlan = VlanOf(entry);
  return {mac + "/" + std::to_string(vlan),
          json{{"mac", mac}, {"port", TextOf(entry, "port")}, {"vlan", vlan}}};
}

NormalizedEntry NormalizeArp(const json& entry) {
  const std::string ip = TextOf(entry, "ip");
  const int64_t vlan = VlanOf(entry);
  return {ip + "/" + std::to_string(vlan),
          json{{"ip", ip}, {"mac", NormalizedMac(entry.value("mac", json()))}, {"vlan", vlan}}};
}

using Normalizer = NormalizedEntry (*)(const json&);

// The entries of `next` that `old` does not hold with the same key and value, in file order.
std::vector<json> AddedEntries(const std::vector<json>& old, const std::vector<json>& next,
                               Normalizer normalize) {
  std::map<std::string, json> before;
  for (const json& entry : old) {
    NormalizedEntry n = normalize(entry);
    before[n.key] = n.value;
  }
  std::vector<json> added;
  for (const json& entry : next) {
    NormalizedEntry n = normalize(entry);
    auto it = before.find(n.key);
    if (it == before.end() || it->second != n.value) added.push_back(entry);
  }
  return added;
}

// The params that delete the entries of `old` whose key `next` no longer has, in file order.
std::vector<json> RemovedEntries(const std::vector<json>& old, const std::vector<json>& next,
                                 Normalizer normalize, const char* address_key) {
  std::set<std::string> after;
  for (const json& entry : next) after.insert(normalize(entry).key);
  std::set<std::string> seen;
  std::vector<json> removed;
  for (const json& entry : old) {
    NormalizedEntry n = normalize(entry);
    if (after.count(n.key) || !seen.insert(n.key).second) continue;
    removed.push_back({{address_key, n.value[address_key]}, {"vlan", n.value["vlan"]}});
  }
  return removed;
}

bool ContainsPort(const std::vector<PortRequest>& ports, std::string_view name) {
  return std::any_of(ports.begin(), ports.end(),
                     [&](const PortRequest& port) { return port.name == name; });
}

}  // namespace

json AddPortParams(const PortRequest& port) {
  json params = port.link;
  params["name"] = port.name;
  params["kind"] = port.kind;
  params["offload"] = port.offload;
  return params;
}

std::string MetricsAddress::ToString() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::optional<MetricsAddress> ParseMetricsAddress(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  const std::string_view port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const int number = std::stoi(std::string(port));
  if (number > 65535) return std::nullopt;
  MetricsAddress address;
  address.port = static_cast<uint16_t>(number);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    in6_addr ipv6;
    if (inet_pton(AF_INET6, std::string(host).c_str(), &ipv6) != 1) return std::nullopt;
  } else if (!Ipv4Address::Parse(host)) {
    return std::nullopt;
  }
  address.host = std::string(host);
  return address;
}

std::optional<json> SetPortParams(const PortRequest& port) {
  if (port.settings.empty()) return std::nullopt;
  json params = port.settings;
  params["port"] = port.name;
  return params;
}

Result<PortRequest> ParsePortArgument(std::string_view text) {
  PortRequest port;
  size_t colon = text.find(':');
  port.name = std::string(text.substr(0, colon));
  if (colon != std::string_view::npos) port.kind = std::string(text.substr(colon + 1));
  if (port.name.empty() || port.kind.empty()) {
    return Status::InvalidArgument("invalid port '" + std::string(text) +
                                   "' (expected NAME or NAME:KIND, e.g. tap0 or tap0:tap)");
  }
  return port;
}

Result<Config> ParseConfig(const json& document) {
  if (!document.is_object()) return Invalid("(top level)", "an object", document);
  Config config;
  for (const auto& [key, value] : document.items()) {
    if (key == "socket" || key == "socket_group") {
      if (!value.is_string() || value.get_ref<const std::string&>().empty()) {
        return Invalid(key, "a non-empty string", value);
      }
      (key == "socket" ? config.socket : config.socket_group) = value.get<std::string>();
    } else if (key == "log_level") {
      const bool known =
          value.is_string() && std::find(std::begin(kLogLevels), std::end(kLogLevels),
                                         value.get<std::string>()) != std::end(kLogLevels);
      if (!known) return Invalid(key, "\"debug\", \"info\", \"warn\" or \"error\"", value);
      config.log_level = value.get<std::string>();
    } else if (key == "max_macs") {
      if (!value.is_number_integer() || value.get<int64_t>() < static_cast<int64_t>(kMinMaxMacs) ||
          value.get<int64_t>() > static_cast<int64_t>(kMaxMaxMacs)) {
        return Invalid(
            key,
            "an integer from " + std::to_string(kMinMaxMacs) + " to " + std::to_string(kMaxMaxMacs),
            value);
      }
      config.max_macs = value.get<size_t>();
    } else if (key == "aging") {
      if (!value.is_number_integer() || value.get<int64_t>() < 1 ||
          value.get<int64_t>() > 1000000) {
        return Invalid(key, "a whole number of seconds from 1 to 1000000", value);
      }
      config.aging_seconds = value.get<int64_t>();
    } else if (key == "metrics") {
      std::optional<MetricsAddress> address =
          value.is_string() ? ParseMetricsAddress(value.get<std::string>()) : std::nullopt;
      if (!address) return Invalid(key, std::string(kMetricsAddressForm), value);
      config.metrics = std::move(*address);
    } else if (key == "ports") {
      if (!value.is_array()) return Invalid(key, "a list", value);
      for (size_t i = 0; i < value.size(); ++i) {
        Result<PortRequest> port = ParsePortEntry(value[i], i);
        if (!port.ok()) return port.status();
        config.ports.push_back(std::move(*port));
      }
    } else if (key == "macs" || key == "arp" || key == "mirrors") {
      if (!value.is_array()) return Invalid(key, "a list", value);
      for (size_t i = 0; i < value.size(); ++i) {
        if (!value[i].is_object()) {
          return Invalid(key + "[" + std::to_string(i) + "]", "an object", value[i]);
        }
        (key == "macs"  ? config.macs
         : key == "arp" ? config.arp
                        : config.mirrors)
            .push_back(value[i]);
      }
    } else {
      return Status::InvalidArgument("config: unknown key '" + key +
                                     "' (expected socket, socket_group, log_level, max_macs, "
                                     "aging, metrics, ports, macs, arp, mirrors)");
    }
  }
  return config;
}

Result<Config> ReadConfigFile(const std::string& path) {
  Result<std::string> text = ReadText(path);
  if (!text.ok()) return text.status();
  json document;
  try {
    // Comments (// and /* */) are allowed, so that a lab file can explain itself.
    document = json::parse(*text, nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const json::parse_error& e) {
    // e.what() reads "[json.exception.parse_error.101] parse error at line 3, column 5: ...".
    std::string what = e.what();
    size_t start = what.find("] ");
    return Status::InvalidArgument("not valid JSON: " +
                                   (start == std::string::npos ? what : what.substr(start + 2)));
  }
  return ParseConfig(document);
}

Result<Config> LoadConfigFile(const std::string& path) {
  Result<Config> config = ReadConfigFile(path);
  if (config.ok()) return config;
  const Status& status = config.status();
  const std::string& message = status.message();
  if (message.starts_with("cannot read: ")) {
    return Status(status.code(), "cannot read config '" + path + "': " + message.substr(13));
  }
  if (message.starts_with("not valid JSON: ")) {
    return Status(status.code(), "config '" + path + "' is not valid JSON: " + message.substr(16));
  }
  return Status(status.code(), path + ": " + message);
}

Config Merge(const Config& file, const Config& command_line) {
  Config merged = file;
  if (command_line.socket) merged.socket = command_line.socket;
  if (command_line.socket_group) merged.socket_group = command_line.socket_group;
  if (command_line.log_level) merged.log_level = command_line.log_level;
  if (command_line.max_macs) merged.max_macs = command_line.max_macs;
  if (command_line.aging_seconds) merged.aging_seconds = command_line.aging_seconds;
  if (command_line.metrics) merged.metrics = command_line.metrics;
  merged.ports.insert(merged.ports.end(), command_line.ports.begin(), command_line.ports.end());
  merged.macs.insert(merged.macs.end(), command_line.macs.begin(), command_line.macs.end());
  merged.arp.insert(merged.arp.end(), command_line.arp.begin(), command_line.arp.end());
  merged.mirrors.insert(merged.mirrors.end(), command_line.mirrors.begin(),
                        command_line.mirrors.end());
  return merged;
}

Status ValidateConfig(const Config& config, const std::vector<std::string>& other_ports,
                      size_t max_macs) {
  // Only static entries go into the scratch tables, so they need hold no more than those: the
  // outcome (fits, or "full of static entries") is the same as in tables of `max_macs`.
  DatapathConfig scratch_config;
  const size_t statics = std::max(config.macs.size(), config.arp.size());
  scratch_config.max_macs = std::min(max_macs, std::max(kMinMaxMacs, statics));
  scratch_config.max_arp = scratch_config.max_macs;
  NullSink sink;
  Datapath datapath(sink, scratch_config);
  ScratchPorts backend(datapath);
  ControlMethods methods(datapath, backend);
  const Time now{};

  for (const std::string& name : other_ports) {
    if (!ContainsPort(config.ports, name)) (void)datapath.AddPort(name, PortOptions{});
  }
  for (size_t i = 0; i < config.ports.size(); ++i) {
    const PortRequest& port = config.ports[i];
    Result<json> result = methods.Call("add-port", AddPortParams(port), now);
    if (result.ok()) {
      if (std::optional<json> settings = SetPortParams(port)) {
        result = methods.Call("set-port", *settings, now);
      }
    }
    if (!result.ok()) {
      return Status::InvalidArgument("config: ports[" + std::to_string(i) +
                                     "]: " + result.status().message());
    }
  }
  const std::pair<const char*, const std::vector<json>*> lists[] = {
      {"macs", &config.macs}, {"arp", &config.arp}, {"mirrors", &config.mirrors}};
  for (const auto& [key, entries] : lists) {
    const std::string_view list = key;
    const char* method = list == "macs" ? "add-mac" : list == "arp" ? "add-arp" : "add-mirror";
    for (size_t i = 0; i < entries->size(); ++i) {
      Result<json> result = methods.Call(method, (*entries)[i], now);
      if (!result.ok()) {
        return Status::InvalidArgument("config: " + std::string(key) + "[" + std::to_string(i) +
                                       "]: " + result.status().message());
      }
    }
  }
  return Status::Ok();
}

ConfigDiff Diff(const Config& old, const Config& next) {
  ConfigDiff diff;
  for (const PortRequest& port : next.ports) {
    auto it = std::find_if(old.ports.begin(), old.ports.end(),
                           [&](const PortRequest& p) { return p.name == port.name; });
    if (it == old.ports.end()) {
      diff.ports_added.push_back(port);
    } else if (port.NeedsRestartFrom(*it)) {
      diff.ports_changed.push_back(port.name);
    } else if (port.settings != it->settings) {
      diff.ports_resettled.push_back(port);
    }
  }
  for (const PortRequest& port : old.ports) {
    if (!ContainsPort(next.ports, port.name)) diff.ports_removed.push_back(port.name);
  }
  diff.macs_added = AddedEntries(old.macs, next.macs, NormalizeMac);
  diff.macs_removed = RemovedEntries(old.macs, next.macs, NormalizeMac, "mac");
  diff.arp_added = AddedEntries(old.arp, next.arp, NormalizeArp);
  diff.arp_removed = RemovedEntries(old.arp, next.arp, NormalizeArp, "ip");
  // Mirrors by name; a changed one is removed and added again.
  for (const json& mirror : old.mirrors) {
    const std::string name = TextOf(mirror, "name");
    auto same = std::find_if(next.mirrors.begin(), next.mirrors.end(),
                             [&](const json& m) { return TextOf(m, "name") == name; });
    if (same == next.mirrors.end() || *same != mirror) diff.mirrors_removed.push_back(name);
  }
  for (const json& mirror : next.mirrors) {
    if (std::find(old.mirrors.begin(), old.mirrors.end(), mirror) == old.mirrors.end()) {
      diff.mirrors_added.push_back(mirror);
    }
  }
  diff.socket_changed = old.socket != next.socket;
  diff.socket_group_changed = old.socket_group != next.socket_group;
  diff.log_level_changed = old.log_level != next.log_level;
  diff.max_macs_changed = old.max_macs != next.max_macs;
  diff.aging_changed = old.aging_seconds != next.aging_seconds;
  diff.metrics_changed = old.metrics != next.metrics;
  return diff;
}

ReloadPlan PlanReload(const Config& old_file, const Config& next_file, const Config& command_line,
                      const std::function<bool(std::string_view port)>& port_exists) {
  const ConfigDiff diff = Diff(old_file, next_file);
  ReloadPlan plan;
  plan.macs_to_delete = diff.macs_removed;
  plan.arp_to_delete = diff.arp_removed;
  for (const std::string& name : diff.ports_removed) {
    if (!ContainsPort(command_line.ports, name) && port_exists(name)) {
      plan.ports_to_delete.push_back(name);
    }
  }
  for (const PortRequest& port : next_file.ports) {
    if (!port_exists(port.name)) plan.ports_to_add.push_back(port);
  }
  for (const PortRequest& port : diff.ports_resettled) {
    if (!port_exists(port.name)) continue;  // added with its settings
    // A setting the file no longer gives goes back to its default.
    json params = {{"port", port.name},   {"max_macs", 0},    {"storm_limit", 0},
                   {"learning", true},    {"flood", true},    {"bcast_flood", true},
                   {"mcast_flood", true}, {"isolated", false}};
    if (!port.settings.contains("trunk")) params["access"] = kDefaultVlan;
    for (const auto& [key, value] : port.settings.items()) params[key] = value;
    plan.ports_to_configure.push_back(std::move(params));
  }
  // A port added again (deleted since the file was read) gets its static entries back too: they
  // went with it.
  std::set<std::string> changed_keys;
  for (const json& entry : diff.macs_added) changed_keys.insert(NormalizeMac(entry).key);
  for (const json& entry : next_file.macs) {
    const bool changed = changed_keys.count(NormalizeMac(entry).key) > 0;
    if (changed || ContainsPort(plan.ports_to_add, TextOf(entry, "port"))) {
      plan.macs_to_add.push_back(entry);
    }
  }
  plan.arp_to_add = diff.arp_added;
  plan.mirrors_to_delete = diff.mirrors_removed;
  plan.mirrors_to_add = diff.mirrors_added;
  // A port added again lost its mirrors with it: they come back too.
  for (const json& mirror : next_file.mirrors) {
    const bool port_readded = ContainsPort(plan.ports_to_add, TextOf(mirror, "source")) ||
                              ContainsPort(plan.ports_to_add, TextOf(mirror, "destination"));
    if (port_readded && std::find(plan.mirrors_to_add.begin(), plan.mirrors_to_add.end(), mirror) ==
                            plan.mirrors_to_add.end()) {
      plan.mirrors_to_add.push_back(mirror);
    }
  }

  for (const std::string& name : diff.ports_changed) {
    plan.warnings.push_back("port '" + name +
                            "': a new kind or offload setting needs a restart (or del-port and "
                            "add-port); keeping the port as it is");
  }
  if (diff.aging_changed) {
    if (command_line.aging_seconds) {
      plan.warnings.push_back("'aging' is set by --aging, which takes precedence; not changed");
    } else {
      plan.aging_seconds = next_file.aging_seconds.value_or(
          std::chrono::duration_cast<std::chrono::seconds>(DatapathConfig{}.aging_time).count());
    }
  }
  if (diff.log_level_changed && !command_line.log_level) {
    plan.log_level = next_file.log_level.value_or("info");
  }
  if (diff.max_macs_changed && !command_line.max_macs) {
    plan.warnings.push_back(
        "'max_macs' cannot change without a restart; the MAC table keeps its size");
  }
  if (diff.socket_changed && !command_line.socket) {
    plan.warnings.push_back(
        "'socket' cannot change without a restart; still listening on the "
        "old path");
  }
  if (diff.socket_group_changed && !command_line.socket_group) {
    plan.warnings.push_back(
        "'socket_group' cannot change without a restart; keeping the "
        "socket's group");
  }
  if (diff.metrics_changed && !command_line.metrics) {
    plan.warnings.push_back(
        "'metrics' cannot change without a restart; the metrics endpoint stays where it is");
  }
  return plan;
}

}  // namespace switchd
