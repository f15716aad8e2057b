#include "ctl/commands.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <utility>

#include "ctl/render.h"
#include "switchd/control/protocol.h"
#include "switchd/core/types.h"
#include "switchd/core/vlan.h"

namespace switchd::ctl {

namespace {

using nlohmann::json;

constexpr std::string_view kGlobalUsage = "switchctl [--socket PATH] [--json] COMMAND [ARGS]";
constexpr uint64_t kMaxAgingTime = 1000000;

const OptionSpec kVlanDefaultOption{"--vlan", "N", "vlan", ValueType::kVlan,
                                    "VLAN 1..4094 (default 1)"};
const OptionSpec kVlanAllOption{"--vlan", "N", "vlan", ValueType::kVlan,
                                "VLAN 1..4094 (default: every VLAN)"};

const std::vector<CommandSpec>& Table() {
  static const std::vector<CommandSpec> table = {
      {"show-ports", "list the ports with their counters", {}, {}, RenderPorts},
      {"show-macs",
       "list the MAC table, or one port's or one VLAN's entries",
       {{"PORT", "port", ValueType::kString, true, "only this port's entries"}},
       {{"--vlan", "N", "vlan", ValueType::kVlan, "only this VLAN's entries"}},
       RenderMacs},
      {"show-arp",
       "list the ARP table",
       {},
       {{"--vlan", "N", "vlan", ValueType::kVlan, "only this VLAN's bindings"}},
       RenderArp},
      {"show-stats", "show MAC table, ARP table and frame counters", {}, {}, RenderStats},
      {"add-port",
       "add a port: a TAP (or an existing one), a VM's TAP, or an existing interface",
       {{"NAME", "name", ValueType::kString, false, "interface name, 1-15 characters"}},
       {{"--kind", "KIND", "kind", ValueType::kString,
         "tap (default: switchd holds the TAP), vm (a persistent TAP left free for a "
         "hypervisor), attach (an existing interface, e.g. a veth end)"},
        {"--offload", "on|off", "offload", ValueType::kOnOff,
         "exchange GSO frames and partial checksums with the port (default on)"},
        {"--netns", "NS", "netns", ValueType::kString,
         "move the TAP into network namespace NS (tap ports)"},
        {"--create-netns", "", "create_netns", ValueType::kFlag,
         "create NS if it does not exist (deleted with the last port in it)"},
        {"--address", "CIDR", "address", ValueType::kString,
         "assign an address to the TAP, inside NS if given (e.g. 198.18.0.1/24)"},
        {"--mtu", "N", "mtu", ValueType::kMtu, "the interface's MTU, 68..65535"},
        {"--mac", "MAC", "mac", ValueType::kMac, "the interface's MAC address"}},
       RenderPort},
      {"set-port",
       "change a port's settings",
       {{"PORT", "port", ValueType::kString, false, "port name"}},
       {},
       RenderPort,
       {{"max-macs", "N", "max_macs", ValueType::kCount,
         "dynamic MAC entries the port may hold (0: no limit of its own)"},
        {"storm-limit", "PPS", "storm_limit", ValueType::kRate,
         "flooded frames per second accepted from the port (off: no limit)"},
        {"access", "VLAN", "access", ValueType::kVlan,
         "make it an access port in VLAN: untagged frames (default: access 1)"},
        {"trunk", "VLANS", "trunk", ValueType::kVlanList,
         "make it a trunk carrying VLANS tagged, e.g. 10,20,30-40"},
        {"native", "VLAN", "native", ValueType::kVlan,
         "the trunk's untagged VLAN (without one, untagged frames are dropped)"},
        {"learning", "on|off", "learning", ValueType::kOnOff, "learn source MACs (default on)"},
        {"flood", "on|off", "flood", ValueType::kOnOff,
         "flood unknown unicast to the port (default on)"},
        {"bcast-flood", "on|off", "bcast_flood", ValueType::kOnOff,
         "flood broadcast to the port (default on)"},
        {"mcast-flood", "on|off", "mcast_flood", ValueType::kOnOff,
         "flood multicast to the port (default on)"},
        {"isolated", "on|off", "isolated", ValueType::kOnOff,
         "isolated ports talk only to non-isolated ports (default off)"}}},
      {"del-port",
       "remove a port with its MAC entries and close its TAP",
       {{"NAME", "name", ValueType::kString, false, "port name"}},
       {},
       RenderEmpty},
      {"add-mac",
       "add (or replace) a static MAC entry",
       {{"MAC", "mac", ValueType::kMac, false, "MAC address, aa:bb:cc:dd:ee:ff"},
        {"PORT", "port", ValueType::kString, false, "port name"}},
       {kVlanDefaultOption},
       RenderEmpty},
      {"del-mac",
       "remove a MAC entry, static or dynamic",
       {{"MAC", "mac", ValueType::kMac, false, "MAC address, aa:bb:cc:dd:ee:ff"}},
       {kVlanAllOption},
       RenderRemoved},
      {"flush-macs",
       "remove the dynamic MAC entries (static entries stay)",
       {{"PORT", "port", ValueType::kString, true, "only this port's entries"}},
       {},
       RenderFlushed},
      {"add-arp",
       "add (or replace) a static ARP binding, answered by the switch",
       {{"IP", "ip", ValueType::kIp, false, "IPv4 address, e.g. 198.18.0.2"},
        {"MAC", "mac", ValueType::kMac, false, "MAC address, aa:bb:cc:dd:ee:ff"}},
       {kVlanDefaultOption},
       RenderEmpty},
      {"del-arp",
       "remove an ARP binding",
       {{"IP", "ip", ValueType::kIp, false, "IPv4 address, e.g. 198.18.0.2"}},
       {kVlanAllOption},
       RenderRemoved},
      {"set-aging",
       "set the aging time of dynamic MAC entries and ARP bindings",
       {{"SECONDS", "seconds", ValueType::kAgingTime, false, "1..1000000 (default 300)"}},
       {},
       RenderAging},
      {"add-vxlan",
       "add a VXLAN port (RFC 7348) to remote VTEPs: kernel vxlan devices or other switches",
       {{"NAME", "name", ValueType::kString, false, "port name, 1-15 characters"}},
       {{"--vni", "N", "vni", ValueType::kVni, "VXLAN network identifier, 1..16777215"},
        {"--local", "IP", "local", ValueType::kIp, "this host's underlay address"},
        {"--remote", "IP", "remotes", ValueType::kIp,
         "a remote VTEP's underlay address (repeat for several)", true},
        {"--dstport", "PORT", "dstport", ValueType::kUdpPort, "UDP port (default 4789)"},
        {"--learn-remotes", "", "learn_remotes", ValueType::kFlag,
         "take packets from unknown VTEPs, adding them as remotes"}},
       RenderPort},
      {"add-remote",
       "add a remote VTEP to a VXLAN port",
       {{"PORT", "port", ValueType::kString, false, "the VXLAN port"},
        {"IP", "ip", ValueType::kIp, false, "the remote's underlay address"}},
       {},
       RenderEmpty},
      {"del-remote",
       "remove a remote VTEP from a VXLAN port",
       {{"PORT", "port", ValueType::kString, false, "the VXLAN port"},
        {"IP", "ip", ValueType::kIp, false, "the remote's underlay address"}},
       {},
       RenderEmpty},
      {"add-mirror",
       "copy SRC_PORT's frames out of DEST_PORT, which then carries only copies",
       {{"NAME", "name", ValueType::kString, false, "the mirror's name"},
        {"SRC_PORT", "source", ValueType::kString, false, "the port whose frames are copied"},
        {"DEST_PORT", "destination", ValueType::kString, false,
         "the port the copies go out of (e.g. a TAP running tcpdump)"},
        {"DIRECTION", "direction", ValueType::kDirection, true,
         "rx (received by SRC_PORT), tx (sent by it) or both (default)"}},
       {},
       RenderMirror},
      {"del-mirror",
       "remove a mirror",
       {{"NAME", "name", ValueType::kString, false, "the mirror's name"}},
       {},
       RenderEmpty},
      {"show-mirrors", "list the mirrors with the frames they copied", {}, {}, RenderMirrors},
      {"show-config",
       "show the running configuration as a config file (JSON)",
       {},
       {},
       RenderConfig},
      {"save",
       "write the running configuration to FILE, for switchd --config FILE",
       {{"FILE", "", ValueType::kOutputFile, false, "file to write ('-': standard output)"}},
       {},
       RenderConfig,
       {},
       "show-config"},
      {"capture",
       "write PORT's frames (both directions) to a pcap file FILE, until a count or a time",
       {{"PORT", "port", ValueType::kString, false, "port name"},
        {"FILE", "file", ValueType::kPath, false,
         "pcap file (written with your permissions; read it with tcpdump -r)"}},
       {{"--count", "N", "count", ValueType::kFrameCount, "stop after N frames (1..1000000000)"},
        {"--seconds", "S", "seconds", ValueType::kDuration, "stop after S seconds (1..86400)"}},
       RenderEmpty,
       {},
       {},
       RenderCaptureDone,
       "capture-done"},
      {"monitor",
       "print events as they happen (ports, MAC table, ARP table) until interrupted",
       {{"EVENTS", "events", ValueType::kNameList, true,
         "only these, separated by commas: port, mac, arp, or an event such as mac-learned "
         "(default all)"}},
       {},
       RenderEmpty,
       {},
       {},
       RenderEvent},
      {"version", "show the daemon's version", {}, {}, RenderVersion},
      {"help",
       "show this help, or one command's",
       {{"COMMAND", "command", ValueType::kCommand, true, "a command name"}},
       {},
       nullptr},
  };
  return table;
}

std::string Quote(std::string_view text) { return "'" + Sanitize(text) + "'"; }

CtlError UsageError(std::string message) { return {ExitCode::kUsage, std::move(message)}; }

CtlError CommandUsageError(const CommandSpec& command, std::string message) {
  return UsageError(std::move(message) + " (usage: switchctl " + Usage(command) + ")");
}

CtlError GlobalUsageError(std::string message) {
  return UsageError(std::move(message) + " (try 'switchctl help')");
}

// Edit distance, for "did you mean" on a mistyped command.
size_t Distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

CtlError UnknownCommand(std::string_view name) {
  const CommandSpec* best = nullptr;
  size_t best_distance = 3;  // suggest only close matches
  for (const CommandSpec& command : Table()) {
    const size_t d = Distance(name, command.name);
    if (d < best_distance) {
      best = &command;
      best_distance = d;
    }
  }
  std::string message = "unknown command " + Quote(name) + " (";
  if (best != nullptr) message += "did you mean '" + std::string(best->name) + "'? ";
  return UsageError(message + "try 'switchctl help')");
}

// "-x" or "--xyz", but not "-" (a value) nor "-5" (a negative number, rejected by its parser
// with a better message than "unknown option").
bool LooksLikeOption(std::string_view arg) {
  return arg.size() > 1 && arg[0] == '-' && !(arg[1] >= '0' && arg[1] <= '9');
}

// Digits only, no sign or spaces; nullopt on anything else or above `max`.
std::optional<uint64_t> ParseUnsigned(std::string_view text, uint64_t max) {
  if (text.empty()) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
    if (value > max) return std::nullopt;
  }
  return value;
}

void AppendAligned(std::string& out, std::string_view left, std::string_view right, size_t width) {
  std::string line = "  " + std::string(left);
  line.append(width - left.size() + 2, ' ');
  out += line + std::string(right) + "\n";
}

}  // namespace

std::span<const CommandSpec> Commands() { return Table(); }

const CommandSpec* FindCommand(std::string_view name) {
  for (const CommandSpec& command : Table()) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

static std::string SettingNames(const CommandSpec& command) {
  std::string names;
  for (const SettingSpec& setting : command.settings) {
    if (!names.empty()) names += ", ";
    names += setting.name;
  }
  return names;
}

std::string Usage(const CommandSpec& command) {
  std::string usage(command.name);
  for (const ArgSpec& arg : command.args) {
    usage += arg.optional ? " [" + std::string(arg.metavar) + "]" : " " + std::string(arg.metavar);
  }
  for (const OptionSpec& option : command.options) {
    usage += option.type == ValueType::kFlag
                 ? " [" + std::string(option.flag) + "]"
                 : " [" + std::string(option.flag) + " " + std::string(option.metavar) + "]" +
                       (option.repeated ? "..." : "");
  }
  if (!command.settings.empty()) usage += " SETTING VALUE...";
  return usage;
}

std::string HelpText() {
  std::string out = "usage: " + std::string(kGlobalUsage) + "\n\noptions:\n";
  const std::pair<std::string, std::string> options[] = {
      {"-s, --socket PATH",
       "control socket (default " + std::string(protocol::kDefaultSocketPath) + ")"},
      {"-j, --json", "print the daemon's JSON result on one line"},
      {"-h, --help", "show this help"},
      {"    --version", "show switchctl's version"},
  };
  size_t width = 0;
  for (const auto& [left, right] : options) width = std::max(width, left.size());
  for (const CommandSpec& command : Table()) width = std::max(width, Usage(command).size());
  for (const auto& [left, right] : options) AppendAligned(out, left, right, width);
  out += "\ncommands:\n";
  for (const CommandSpec& command : Table()) {
    AppendAligned(out, Usage(command), command.summary, width);
  }
  return out;
}

std::string CommandHelp(const CommandSpec& command) {
  std::string out =
      "usage: switchctl " + Usage(command) + "\n" + std::string(command.summary) + "\n";
  if (command.args.empty() && command.options.empty()) return out;
  std::vector<std::pair<std::string, std::string_view>> lines;
  for (const ArgSpec& arg : command.args) lines.emplace_back(arg.metavar, arg.help);
  for (const OptionSpec& option : command.options) {
    lines.emplace_back(option.type == ValueType::kFlag
                           ? std::string(option.flag)
                           : std::string(option.flag) + " " + std::string(option.metavar),
                       option.help);
  }
  for (const SettingSpec& setting : command.settings) {
    lines.emplace_back(std::string(setting.name) + " " + std::string(setting.metavar),
                       setting.help);
  }
  size_t width = 0;
  for (const auto& [left, right] : lines) width = std::max(width, left.size());
  out += "\n";
  for (const auto& [left, right] : lines) AppendAligned(out, left, right, width);
  return out;
}

std::variant<json, CtlError> ParseValue(ValueType type, std::string_view text) {
  switch (type) {
    case ValueType::kString:
      return json(std::string(text));
    case ValueType::kMac:
      if (auto mac = MacAddress::Parse(text)) return json(mac->ToString());
      return CtlError{ExitCode::kFailure,
                      "invalid MAC address " + Quote(text) + " (expected aa:bb:cc:dd:ee:ff)"};
    case ValueType::kIp:
      if (auto ip = Ipv4Address::Parse(text)) return json(ip->ToString());
      return CtlError{ExitCode::kFailure,
                      "invalid IPv4 address " + Quote(text) + " (expected a.b.c.d)"};
    case ValueType::kVlan:
      if (auto vlan = ParseUnsigned(text, kMaxVlan); vlan && *vlan >= 1) return json(*vlan);
      return CtlError{ExitCode::kFailure,
                      "invalid VLAN " + Quote(text) + " (expected an integer 1..4094)"};
    case ValueType::kAgingTime:
      if (auto seconds = ParseUnsigned(text, kMaxAgingTime); seconds && *seconds >= 1) {
        return json(*seconds);
      }
      return CtlError{ExitCode::kFailure, "invalid aging time " + Quote(text) +
                                              " (expected an integer 1..1000000 seconds)"};
    case ValueType::kCount:
      if (auto n = ParseUnsigned(text, 1 << 24)) return json(*n);
      return CtlError{ExitCode::kFailure,
                      "invalid number " + Quote(text) + " (expected an integer 0..16777216)"};
    case ValueType::kRate:
      if (text == "off") return json(0);
      if (auto n = ParseUnsigned(text, 100000000)) return json(*n);
      return CtlError{ExitCode::kFailure, "invalid rate " + Quote(text) +
                                              " (expected frames per second 0..100000000, or off)"};
    case ValueType::kOnOff:
      if (text == "on") return json(true);
      if (text == "off") return json(false);
      return CtlError{ExitCode::kFailure,
                      "invalid setting " + Quote(text) + " (expected on or off)"};
    case ValueType::kCommand:
      if (FindCommand(text) != nullptr) return json(std::string(text));
      return UnknownCommand(text);
    case ValueType::kFlag:
      return json(true);
    case ValueType::kVlanList:
      if (auto set = VlanSet::Parse(text)) return json(set->ToString());
      return CtlError{ExitCode::kFailure, "invalid VLAN list " + Quote(text) +
                                              " (expected VLANs 1..4094 like 10,20,30-40)"};
    case ValueType::kDirection:
      if (text == "rx" || text == "tx" || text == "both") return json(std::string(text));
      return CtlError{ExitCode::kFailure,
                      "invalid direction " + Quote(text) + " (expected rx, tx or both)"};
    case ValueType::kMtu:
      if (auto n = ParseUnsigned(text, 65535); n && *n >= 68) return json(*n);
      return CtlError{ExitCode::kFailure,
                      "invalid MTU " + Quote(text) + " (expected an integer 68..65535)"};
    case ValueType::kOutputFile:
      if (!text.empty()) return json(std::string(text));
      return CtlError{ExitCode::kFailure, "empty file name (expected a path, or - for stdout)"};
    case ValueType::kVni:
      if (auto n = ParseUnsigned(text, 16777215); n && *n >= 1) return json(*n);
      return CtlError{ExitCode::kFailure,
                      "invalid VNI " + Quote(text) + " (expected an integer 1..16777215)"};
    case ValueType::kUdpPort:
      if (auto n = ParseUnsigned(text, 65535); n && *n >= 1) return json(*n);
      return CtlError{ExitCode::kFailure,
                      "invalid UDP port " + Quote(text) + " (expected an integer 1..65535)"};
    case ValueType::kFrameCount:
      if (auto n = ParseUnsigned(text, 1000000000); n && *n >= 1) return json(*n);
      return CtlError{ExitCode::kFailure, "invalid frame count " + Quote(text) +
                                              " (expected an integer 1..1000000000)"};
    case ValueType::kDuration:
      if (auto n = ParseUnsigned(text, 86400); n && *n >= 1) return json(*n);
      return CtlError{ExitCode::kFailure, "invalid duration " + Quote(text) +
                                              " (expected an integer 1..86400 seconds)"};
    case ValueType::kPath: {
      if (text.empty()) return CtlError{ExitCode::kFailure, "empty file name (expected a path)"};
      std::error_code error;
      const std::filesystem::path path = std::filesystem::absolute(std::string(text), error);
      if (error) {
        return CtlError{ExitCode::kFailure,
                        "invalid file name " + Quote(text) + ": " + error.message()};
      }
      return json(path.lexically_normal().string());
    }
    case ValueType::kNameList: {
      json names = json::array();
      for (size_t start = 0; start <= text.size();) {
        const size_t comma = std::min(text.find(',', start), text.size());
        if (comma == start) {
          return CtlError{ExitCode::kFailure, "invalid list " + Quote(text) +
                                                  " (expected names separated by commas, e.g. "
                                                  "mac,port-added)"};
        }
        names.push_back(std::string(text.substr(start, comma - start)));
        start = comma + 1;
      }
      return names;
    }
  }
  return CtlError{ExitCode::kFailure, "invalid value " + Quote(text)};
}

std::variant<CommandLine, CtlError> ParseCommandLine(std::span<const std::string_view> args) {
  CommandLine line;
  line.socket_path = std::string(protocol::kDefaultSocketPath);
  const CommandSpec* command = nullptr;
  bool help = false;
  bool version = false;
  bool options_done = false;
  std::vector<std::string_view> positionals;
  std::vector<std::pair<const OptionSpec*, std::string_view>> option_values;

  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (options_done || !LooksLikeOption(arg)) {
      if (command == nullptr) {
        command = FindCommand(arg);
        if (command == nullptr) return UnknownCommand(arg);
      } else {
        positionals.push_back(arg);
      }
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    // "--flag=value" carries its value; "--flag value" takes the next argument.
    std::string_view flag = arg;
    std::optional<std::string_view> inline_value;
    if (arg.starts_with("--")) {
      if (const size_t eq = arg.find('='); eq != std::string_view::npos) {
        flag = arg.substr(0, eq);
        inline_value = arg.substr(eq + 1);
      }
    }
    auto take_value = [&]() -> std::optional<std::string_view> {
      if (inline_value) return inline_value;
      if (i + 1 < args.size()) return args[++i];
      return std::nullopt;
    };

    if (flag == "-s" || flag == "--socket") {
      const auto path = take_value();
      if (!path || path->empty()) {
        return UsageError(std::string(path ? "empty" : "missing") +
                          " PATH for '--socket' (usage: " + std::string(kGlobalUsage) + ")");
      }
      line.socket_path = std::string(*path);
      continue;
    }
    if (flag == "-j" || flag == "--json" || flag == "-h" || flag == "--help" ||
        flag == "--version") {
      if (inline_value) return GlobalUsageError("option " + Quote(flag) + " takes no value");
      if (flag == "-j" || flag == "--json") line.json = true;
      if (flag == "-h" || flag == "--help") help = true;
      if (flag == "--version") version = true;
      continue;
    }
    const OptionSpec* option = nullptr;
    if (command != nullptr) {
      for (const OptionSpec& candidate : command->options) {
        if (candidate.flag == flag) option = &candidate;
      }
    }
    if (option == nullptr) {
      if (command == nullptr) return GlobalUsageError("unknown option " + Quote(arg));
      return CommandUsageError(*command,
                               "unknown option " + Quote(arg) + " for " + Quote(command->name));
    }
    for (const auto& [given, value] : option_values) {
      if (given == option && !option->repeated) {
        return CommandUsageError(*command, "option " + Quote(flag) + " given twice");
      }
    }
    if (option->type == ValueType::kFlag) {
      if (inline_value) {
        return CommandUsageError(*command, "option " + Quote(flag) + " takes no value");
      }
      option_values.emplace_back(option, "");
      continue;
    }
    const auto value = take_value();
    if (!value) {
      return CommandUsageError(
          *command, "missing " + std::string(option->metavar) + " for " + Quote(option->flag));
    }
    option_values.emplace_back(option, *value);
  }

  if (help) {
    line.action = CommandLine::Action::kHelp;
    // "switchctl add-mac --help" is help for add-mac; "switchctl help --help" is plain help.
    line.command = command != nullptr && command->render != nullptr ? command : nullptr;
    return line;
  }
  if (version) {
    line.action = CommandLine::Action::kVersion;
    return line;
  }
  if (command == nullptr) return GlobalUsageError("no command given");

  size_t required = 0;
  for (const ArgSpec& spec : command->args) required += spec.optional ? 0 : 1;
  if (positionals.size() < required) {
    return CommandUsageError(*command, "missing " +
                                           std::string(command->args[positionals.size()].metavar) +
                                           " for " + Quote(command->name));
  }
  // Settings: `name value` pairs after the arguments.
  std::vector<std::pair<const SettingSpec*, std::string_view>> setting_values;
  if (!command->settings.empty()) {
    if (positionals.size() == command->args.size()) {
      return CommandUsageError(*command, "missing SETTING for " + Quote(command->name) +
                                             " (settings: " + SettingNames(*command) + ")");
    }
    for (size_t i = command->args.size(); i < positionals.size(); i += 2) {
      const SettingSpec* setting = nullptr;
      for (const SettingSpec& candidate : command->settings) {
        if (candidate.name == positionals[i]) setting = &candidate;
      }
      if (setting == nullptr) {
        return CommandUsageError(*command, "unknown setting " + Quote(positionals[i]) + " for " +
                                               Quote(command->name) +
                                               " (settings: " + SettingNames(*command) + ")");
      }
      if (i + 1 == positionals.size()) {
        return CommandUsageError(
            *command, "missing " + std::string(setting->metavar) + " for " + Quote(setting->name));
      }
      for (const auto& [given, value] : setting_values) {
        if (given == setting) {
          return CommandUsageError(*command, "setting " + Quote(setting->name) + " given twice");
        }
      }
      setting_values.emplace_back(setting, positionals[i + 1]);
    }
    positionals.resize(command->args.size());
  }
  if (positionals.size() > command->args.size()) {
    return CommandUsageError(*command, "unexpected argument " +
                                           Quote(positionals[command->args.size()]) + " for " +
                                           Quote(command->name));
  }

  // Values are checked only once the command line's shape is right, in the order given.
  for (size_t i = 0; i < positionals.size(); ++i) {
    const ArgSpec& spec = command->args[i];
    auto value = ParseValue(spec.type, positionals[i]);
    if (auto* error = std::get_if<CtlError>(&value)) return std::move(*error);
    if (spec.type == ValueType::kOutputFile) {
      line.output_file = std::get<json>(value).get<std::string>();
      continue;
    }
    line.params[std::string(spec.param)] = std::move(std::get<json>(value));
  }
  for (const auto& [option, text] : option_values) {
    auto value = ParseValue(option->type, text);
    if (auto* error = std::get_if<CtlError>(&value)) return std::move(*error);
    json& param = line.params[std::string(option->param)];
    if (option->repeated) {
      param.push_back(std::move(std::get<json>(value)));
    } else {
      param = std::move(std::get<json>(value));
    }
  }

  for (const auto& [setting, text] : setting_values) {
    auto value = ParseValue(setting->type, text);
    if (auto* error = std::get_if<CtlError>(&value)) return std::move(*error);
    line.params[std::string(setting->param)] = std::move(std::get<json>(value));
  }

  if (command->render == nullptr) {  // help [COMMAND]
    line.action = CommandLine::Action::kHelp;
    line.command = positionals.empty() ? nullptr : FindCommand(positionals[0]);
    line.params = json::object();
    return line;
  }
  line.command = command;
  return line;
}

}  // namespace switchd::ctl
