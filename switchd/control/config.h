// The daemon's configuration: what `switchd --config FILE` reads and what command-line options add
// to, and what a reload (SIGHUP) changes. Parsing, merging, validating and diffing are pure (JSON
// in, Config out, no sockets); docs/configuration.md describes the format and the reload rules.
//
// {
//   "socket": "/run/switchd/switchd.sock",
//   "socket_group": "netadmin",
//   "log_level": "info",
//   "max_macs": 8192,
//   "aging": 300,
//   "metrics": "127.0.0.1:9100",
//   "ports": ["tap0", {"name": "tap1", "kind": "tap"}],
//   "macs": [{"mac": "02:00:00:00:00:01", "port": "tap0", "vlan": 1}],
//   "arp": [{"ip": "198.18.0.1", "mac": "02:00:00:00:00:01", "vlan": 1}]
// }
// Every key is optional; unknown keys are errors (a typo must not be silently ignored).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "switchd/core/status.h"

namespace switchd {

struct PortRequest {
  std::string name;
  std::string kind = "tap";
  bool offload = true;  // exchange virtio-net headers (GSO, partial checksums) with the port
  // Runtime settings, as the params of set-port without "port" (max_macs, storm_limit); empty
  // when the file sets none. Applied with set-port right after the port is added.
  nlohmann::json settings = nlohmann::json::object();
  // How its interface is set up, as the add-port params netns, create_netns, address, mtu and mac
  // (checked by add-port); empty when the file gives none.
  nlohmann::json link = nlohmann::json::object();

  // Whether the port must be re-created to go from `other` to this (kind, offload or interface
  // set-up differ).
  bool NeedsRestartFrom(const PortRequest& other) const {
    return kind != other.kind || offload != other.offload || link != other.link;
  }
  bool operator==(const PortRequest&) const = default;
};

// The add-port params that create `port`.
nlohmann::json AddPortParams(const PortRequest& port);
// The set-port params for `port`'s settings, or nullopt when it has none.
std::optional<nlohmann::json> SetPortParams(const PortRequest& port);

// Where the Prometheus metrics endpoint listens (--metrics, "metrics"): a numeric IPv4 or IPv6
// address and a TCP port (0: one the kernel picks).
struct MetricsAddress {
  std::string host;  // "127.0.0.1" or "::1": numeric, IPv6 without brackets
  uint16_t port = 0;

  // "127.0.0.1:9100" or "[::1]:9100".
  std::string ToString() const;
  bool operator==(const MetricsAddress&) const = default;
};

// Parses "IPv4:PORT" or "[IPv6]:PORT" (PORT 0..65535). Nullopt for anything else, host names
// included: the endpoint is bound to an address, never resolved.
std::optional<MetricsAddress> ParseMetricsAddress(std::string_view text);
// What ParseMetricsAddress accepts, for error messages.
inline constexpr std::string_view kMetricsAddressForm =
    "ADDR:PORT with a numeric IPv4 or [IPv6] address, e.g. 127.0.0.1:9100 or [::1]:9100";

struct Config {
  std::optional<std::string> socket;
  std::optional<std::string> socket_group;  // group that owns the control socket (mode 0660)
  std::optional<std::string> log_level;
  std::optional<size_t> max_macs;
  std::optional<int64_t> aging_seconds;
  std::optional<MetricsAddress> metrics;  // the Prometheus endpoint; none without it
  std::vector<PortRequest> ports;
  // Static entries, kept as the params of the control methods that add them ("add-mac",
  // "add-arp"), so that the config and the control socket share one validation path.
  std::vector<nlohmann::json> macs;
  std::vector<nlohmann::json> arp;
  // Port mirrors, as the params of add-mirror ({"name", "source", "destination", "direction"}).
  std::vector<nlohmann::json> mirrors;
};

inline constexpr size_t kMinMaxMacs = 16;
inline constexpr size_t kMaxMaxMacs = 1 << 24;

// Parses a configuration document. Errors (kInvalidArgument) name the offending key, e.g.
// "config: 'max_macs' must be an integer from 16 to 16777216, got \"lots\"". Only the document's
// shape is checked here; ValidateConfig checks the ports and static entries.
Result<Config> ParseConfig(const nlohmann::json& document);
// Reads and parses the file at `path`. Errors name the file: "cannot read config 'x': No such
// file or directory", "config 'x' is not valid JSON: ...", "x: config: unknown key ...".
Result<Config> LoadConfigFile(const std::string& path);
// As LoadConfigFile, but errors do not name the file ("cannot read: No such file or directory",
// "not valid JSON: parse error at line 1 ...", "config: unknown key ..."), for callers that do.
Result<Config> ReadConfigFile(const std::string& path);
// Parses a --port argument "NAME" or "NAME:KIND".
Result<PortRequest> ParsePortArgument(std::string_view text);

// The configuration the daemon runs with: `file`, with the command line's ports added after the
// file's and its scalars (socket, socket_group, log_level, max_macs, aging, metrics) taking
// precedence.
Config Merge(const Config& file, const Config& command_line);

// Checks that `config`'s ports and static entries would be accepted by the control methods
// (add-port, add-mac, add-arp: the same checks and messages), without opening anything: they are
// applied to a scratch datapath whose tables hold `max_macs` entries. `other_ports` are ports that
// exist besides the config's (static entries may name them). Errors (kInvalidArgument) say which
// entry: "config: macs[1]: unknown port 'tap9'", "config: ports[0]: port 'tap0' already exists".
Status ValidateConfig(const Config& config, const std::vector<std::string>& other_ports,
                      size_t max_macs);

// What changed between two versions of the configuration file. Static entries are compared by
// key, (MAC, VLAN) and (IP, VLAN), with the VLAN defaulting to 1 and MACs compared
// case-insensitively; an entry whose key stays but whose port or MAC changes is "added" (the
// add-mac and add-arp methods replace). Ports are compared by name.
struct ConfigDiff {
  std::vector<PortRequest> ports_added;       // listed in `next` only
  std::vector<std::string> ports_removed;     // listed in `old` only
  std::vector<std::string> ports_changed;     // in both, with another kind or offload setting
  std::vector<PortRequest> ports_resettled;   // in both, with other settings (set-port)
  std::vector<nlohmann::json> macs_added;     // add-mac params, new or changed
  std::vector<nlohmann::json> macs_removed;   // del-mac params {"mac", "vlan"}
  std::vector<nlohmann::json> arp_added;      // add-arp params, new or changed
  std::vector<nlohmann::json> arp_removed;    // del-arp params {"ip", "vlan"}
  std::vector<nlohmann::json> mirrors_added;  // add-mirror params, new or changed
  std::vector<std::string> mirrors_removed;   // names: gone, or changed (re-added)
  bool socket_changed = false;
  bool socket_group_changed = false;
  bool log_level_changed = false;
  bool max_macs_changed = false;
  bool aging_changed = false;
  bool metrics_changed = false;
};

// `old` and `next` must have passed ValidateConfig (entries that do not parse compare as text).
ConfigDiff Diff(const Config& old, const Config& next);

// What a reload does to the running switch, in order: delete the static entries, delete the
// ports, add the ports, add the static entries, then set the aging time and the log level.
struct ReloadPlan {
  std::vector<nlohmann::json> macs_to_delete;  // del-mac params
  std::vector<nlohmann::json> arp_to_delete;   // del-arp params
  std::vector<std::string> mirrors_to_delete;  // before any port goes
  std::vector<std::string> ports_to_delete;
  std::vector<PortRequest> ports_to_add;
  std::vector<nlohmann::json> ports_to_configure;  // set-port params
  std::vector<nlohmann::json> macs_to_add;         // add-mac params
  std::vector<nlohmann::json> arp_to_add;          // add-arp params
  std::vector<nlohmann::json> mirrors_to_add;      // add-mirror params, once the ports are there
  std::optional<int64_t> aging_seconds;            // set when the aging time changes
  std::optional<std::string> log_level;            // set when the log level changes
  std::vector<std::string> warnings;               // changes that need a restart, one line each
};

// The reload rules (docs/configuration.md): the switch follows the file's changes from `old_file`
// to `next_file`. Ports the file stops listing are deleted, unless `command_line` gives them;
// ports it lists that the switch lacks (`port_exists` is false: new in the file, or deleted since)
// are added, with the file's static MAC entries on them. Static entries follow the diff. Ports
// added at runtime (switchctl) or with --port, and learned entries, are never touched. Scalars
// the command line sets are not changed by the file. `next_file` must have passed ValidateConfig.
ReloadPlan PlanReload(const Config& old_file, const Config& next_file, const Config& command_line,
                      const std::function<bool(std::string_view port)>& port_exists);

}  // namespace switchd
