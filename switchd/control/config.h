// The daemon's configuration: what `switchd --config FILE` reads and what command-line options add
// to. Parsing is pure (JSON in, Config out); docs/configuration.md describes the format.
//
// {
//   "socket": "/run/switchd/switchd.sock",
//   "log_level": "info",
//   "max_macs": 8192,
//   "aging": 300,
//   "ports": ["tap0", {"name": "tap1", "kind": "tap"}],
//   "macs": [{"mac": "02:00:00:00:00:01", "port": "tap0", "vlan": 1}],
//   "arp": [{"ip": "198.18.0.1", "mac": "02:00:00:00:00:01", "vlan": 1}]
// }
// Every key is optional; unknown keys are errors (a typo must not be silently ignored).
#pragma once

#include <cstddef>
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
};

struct Config {
  std::optional<std::string> socket;
  std::optional<std::string> log_level;
  std::optional<size_t> max_macs;
  std::optional<int64_t> aging_seconds;
  std::vector<PortRequest> ports;
  // Static entries, kept as the params of the control methods that add them ("add-mac",
  // "add-arp"), so that the config and the control socket share one validation path.
  std::vector<nlohmann::json> macs;
  std::vector<nlohmann::json> arp;
};

inline constexpr size_t kMinMaxMacs = 16;
inline constexpr size_t kMaxMaxMacs = 1 << 24;

// Parses a configuration document. Errors (kInvalidArgument) name the offending key, e.g.
// "config: 'max_macs' must be an integer from 16 to 16777216, got \"lots\"".
Result<Config> ParseConfig(const nlohmann::json& document);
// Reads and parses the file at `path` ("cannot read config 'x': No such file or directory").
Result<Config> LoadConfigFile(const std::string& path);
// Parses a --port argument "NAME" or "NAME:KIND".
Result<PortRequest> ParsePortArgument(std::string_view text);

}  // namespace switchd
