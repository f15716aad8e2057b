#include "switchd/control/config.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace switchd {
namespace {

Status Invalid(const std::string& key, const std::string& expected, const nlohmann::json& got) {
  return Status::InvalidArgument("config: '" + key + "' must be " + expected + ", got " +
                                 got.dump());
}

Result<PortRequest> ParsePortEntry(const nlohmann::json& entry, size_t i) {
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
    } else {
      return Status::InvalidArgument("config: unknown key '" + key + "' in " + where +
                                     " (expected name, kind, offload)");
    }
  }
  if (port.name.empty()) return Invalid(where + ".name", "a non-empty string", entry);
  return port;
}

}  // namespace

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

Result<Config> ParseConfig(const nlohmann::json& document) {
  if (!document.is_object()) return Invalid("(top level)", "an object", document);
  Config config;
  for (const auto& [key, value] : document.items()) {
    if (key == "socket" || key == "log_level") {
      if (!value.is_string()) return Invalid(key, "a string", value);
      (key == "socket" ? config.socket : config.log_level) = value.get<std::string>();
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
    } else if (key == "ports") {
      if (!value.is_array()) return Invalid(key, "a list", value);
      for (size_t i = 0; i < value.size(); ++i) {
        Result<PortRequest> port = ParsePortEntry(value[i], i);
        if (!port.ok()) return port.status();
        config.ports.push_back(std::move(*port));
      }
    } else if (key == "macs" || key == "arp") {
      if (!value.is_array()) return Invalid(key, "a list", value);
      for (size_t i = 0; i < value.size(); ++i) {
        if (!value[i].is_object()) {
          return Invalid(key + "[" + std::to_string(i) + "]", "an object", value[i]);
        }
        (key == "macs" ? config.macs : config.arp).push_back(value[i]);
      }
    } else {
      return Status::InvalidArgument("config: unknown key '" + key +
                                     "' (expected socket, log_level, max_macs, aging, ports, "
                                     "macs, arp)");
    }
  }
  return config;
}

Result<Config> LoadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::System("cannot read config '" + path + "': " + strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::parse_error& e) {
    // e.what() reads "[json.exception.parse_error.101] parse error at line 3, column 5: ...".
    std::string what = e.what();
    size_t start = what.find("] ");
    return Status::InvalidArgument("config '" + path + "' is not valid JSON: " +
                                   (start == std::string::npos ? what : what.substr(start + 2)));
  }
  Result<Config> config = ParseConfig(document);
  if (!config.ok()) {
    return Status::InvalidArgument(path + ": " + config.status().message());
  }
  return config;
}

}  // namespace switchd
