#include "ctl/commands.h"

#include <filesystem>
#include <initializer_list>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace switchd::ctl {
namespace {

using nlohmann::json;

std::variant<CommandLine, CtlError> Parse(std::initializer_list<std::string_view> args) {
  const std::vector<std::string_view> v(args);
  return ParseCommandLine(v);
}

CommandLine ParseOk(std::initializer_list<std::string_view> args) {
  auto parsed = Parse(args);
  if (auto* error = std::get_if<CtlError>(&parsed)) {
    ADD_FAILURE() << "unexpected error: " << error->message;
    return {};
  }
  return std::get<CommandLine>(parsed);
}

CtlError ParseError(std::initializer_list<std::string_view> args) {
  auto parsed = Parse(args);
  if (!std::holds_alternative<CtlError>(parsed)) {
    ADD_FAILURE() << "parsed, but an error was expected";
    return {};
  }
  return std::get<CtlError>(parsed);
}

struct CallCase {
  std::vector<std::string_view> args;
  std::string method;
  json params;
};

constexpr std::string_view kAddPortUsage =
    "add-port NAME [--kind KIND] [--offload on|off] [--netns NS] [--create-netns] [--address "
    "CIDR] [--mtu N] [--mac MAC]";

TEST(CommandsTest, ParsesEveryCommandToItsMethodAndParams) {
  const std::vector<CallCase> cases = {
      {{"show-ports"}, "show-ports", json::object()},
      {{"show-macs"}, "show-macs", json::object()},
      {{"show-macs", "tap0"}, "show-macs", {{"port", "tap0"}}},
      {{"show-macs", "--vlan", "10"}, "show-macs", {{"vlan", 10}}},
      {{"show-macs", "tap0", "--vlan=10"}, "show-macs", {{"port", "tap0"}, {"vlan", 10}}},
      {{"show-macs", "--vlan", "10", "tap0"}, "show-macs", {{"port", "tap0"}, {"vlan", 10}}},
      {{"show-arp"}, "show-arp", json::object()},
      {{"show-arp", "--vlan", "4094"}, "show-arp", {{"vlan", 4094}}},
      {{"show-stats"}, "show-stats", json::object()},
      {{"add-port", "tap0"}, "add-port", {{"name", "tap0"}}},
      {{"add-port", "vm0", "--kind", "vm"}, "add-port", {{"name", "vm0"}, {"kind", "vm"}}},
      {{"add-port", "tap0", "--offload", "off"},
       "add-port",
       {{"name", "tap0"}, {"offload", false}}},
      {{"add-port", "tap0", "--offload=on"}, "add-port", {{"name", "tap0"}, {"offload", true}}},
      {{"del-port", "tap0"}, "del-port", {{"name", "tap0"}}},
      {{"add-mac", "02:00:00:00:00:01", "tap0"},
       "add-mac",
       {{"mac", "02:00:00:00:00:01"}, {"port", "tap0"}}},
      {{"add-mac", "02:AA:BB:CC:DD:EE", "tap0", "--vlan", "20"},
       "add-mac",
       {{"mac", "02:aa:bb:cc:dd:ee"}, {"port", "tap0"}, {"vlan", 20}}},
      {{"del-mac", "02:00:00:00:00:01"}, "del-mac", {{"mac", "02:00:00:00:00:01"}}},
      {{"del-mac", "02:00:00:00:00:01", "--vlan", "3"},
       "del-mac",
       {{"mac", "02:00:00:00:00:01"}, {"vlan", 3}}},
      {{"flush-macs"}, "flush-macs", json::object()},
      {{"flush-macs", "tap0"}, "flush-macs", {{"port", "tap0"}}},
      {{"add-arp", "198.18.0.2", "02:00:00:00:00:02"},
       "add-arp",
       {{"ip", "198.18.0.2"}, {"mac", "02:00:00:00:00:02"}}},
      {{"add-arp", "198.18.0.2", "02:00:00:00:00:02", "--vlan", "1"},
       "add-arp",
       {{"ip", "198.18.0.2"}, {"mac", "02:00:00:00:00:02"}, {"vlan", 1}}},
      {{"del-arp", "198.18.0.2"}, "del-arp", {{"ip", "198.18.0.2"}}},
      {{"del-arp", "198.18.0.2", "--vlan", "7"}, "del-arp", {{"ip", "198.18.0.2"}, {"vlan", 7}}},
      {{"set-aging", "300"}, "set-aging", {{"seconds", 300}}},
      {{"set-aging", "1000000"}, "set-aging", {{"seconds", 1000000}}},
      {{"version"}, "version", json::object()},
      {{"monitor"}, "monitor", json::object()},
      {{"monitor", "mac"}, "monitor", {{"events", {"mac"}}}},
      {{"monitor", "port,arp-learned"}, "monitor", {{"events", {"port", "arp-learned"}}}},
      {{"set-port", "tap0", "max-macs", "100"}, "set-port", {{"port", "tap0"}, {"max_macs", 100}}},
      {{"set-port", "tap0", "storm-limit", "off", "max-macs", "0"},
       "set-port",
       {{"port", "tap0"}, {"storm_limit", 0}, {"max_macs", 0}}},
      {{"set-port", "tap0", "storm-limit", "500"},
       "set-port",
       {{"port", "tap0"}, {"storm_limit", 500}}},
      {{"add-port", "h1", "--netns", "lab-h1", "--create-netns", "--address", "198.18.0.1/24",
        "--mtu", "9000", "--mac", "02:AA:00:00:00:01"},
       "add-port",
       {{"name", "h1"},
        {"netns", "lab-h1"},
        {"create_netns", true},
        {"address", "198.18.0.1/24"},
        {"mtu", 9000},
        {"mac", "02:aa:00:00:00:01"}}},
      {{"add-port", "veth1", "--kind=attach", "--mtu=68"},
       "add-port",
       {{"name", "veth1"}, {"kind", "attach"}, {"mtu", 68}}},
      {{"show-config"}, "show-config", json::object()},
      {{"set-port", "t1", "trunk", "30-32,10", "native", "5", "isolated", "on"},
       "set-port",
       {{"port", "t1"}, {"trunk", "10,30-32"}, {"native", 5}, {"isolated", true}}},
      {{"set-port", "a1", "access", "10", "learning", "off", "flood", "off", "bcast-flood", "off",
        "mcast-flood", "on"},
       "set-port",
       {{"port", "a1"},
        {"access", 10},
        {"learning", false},
        {"flood", false},
        {"bcast_flood", false},
        {"mcast_flood", true}}},
      {{"add-mirror", "m1", "tap0", "mon0"},
       "add-mirror",
       {{"name", "m1"}, {"source", "tap0"}, {"destination", "mon0"}}},
      {{"add-mirror", "m1", "tap0", "mon0", "rx"},
       "add-mirror",
       {{"name", "m1"}, {"source", "tap0"}, {"destination", "mon0"}, {"direction", "rx"}}},
      {{"del-mirror", "m1"}, "del-mirror", {{"name", "m1"}}},
      {{"show-mirrors"}, "show-mirrors", json::object()},
      {{"add-vxlan", "vx0", "--vni", "42", "--local", "198.19.0.1", "--remote", "198.19.0.2",
        "--remote=198.19.0.3", "--dstport", "4790", "--learn-remotes"},
       "add-vxlan",
       {{"name", "vx0"},
        {"vni", 42},
        {"local", "198.19.0.1"},
        {"remotes", {"198.19.0.2", "198.19.0.3"}},
        {"dstport", 4790},
        {"learn_remotes", true}}},
      {{"add-remote", "vx0", "198.19.0.4"}, "add-remote", {{"port", "vx0"}, {"ip", "198.19.0.4"}}},
      {{"del-remote", "vx0", "198.19.0.4"}, "del-remote", {{"port", "vx0"}, {"ip", "198.19.0.4"}}},
      {{"capture", "tap0", "/tmp/t.pcap"}, "capture", {{"port", "tap0"}, {"file", "/tmp/t.pcap"}}},
      {{"save", "lab.json"}, "show-config", json::object()},
  };
  std::set<std::string> covered;
  for (const CallCase& c : cases) {
    auto parsed = ParseCommandLine(c.args);
    ASSERT_TRUE(std::holds_alternative<CommandLine>(parsed))
        << c.args[0] << ": " << std::get<CtlError>(parsed).message;
    const CommandLine& line = std::get<CommandLine>(parsed);
    EXPECT_EQ(line.action, CommandLine::Action::kCall) << c.args[0];
    ASSERT_NE(line.command, nullptr);
    EXPECT_EQ(line.command->name, c.args[0]);
    EXPECT_EQ(MethodOf(*line.command), c.method);
    EXPECT_EQ(line.params, c.params) << c.args[0];
    EXPECT_FALSE(line.json);
    covered.insert(std::string(line.command->name));
  }
  for (const CommandSpec& command : Commands()) {
    if (command.name == "help") continue;
    EXPECT_TRUE(covered.count(std::string(command.name))) << command.name;
  }
}

TEST(CommandsTest, MonitorStreamsEventsAndChecksItsListShape) {
  const CommandLine line = ParseOk({"monitor", "--json"});
  ASSERT_NE(line.command, nullptr);
  EXPECT_NE(line.command->render_event, nullptr);
  EXPECT_TRUE(line.json);
  for (std::string_view bad : {"", ",", "mac,", ",mac", "mac,,arp"}) {
    const CtlError error = ParseError({"monitor", bad});
    EXPECT_EQ(error.exit_code, ExitCode::kFailure) << bad;
    EXPECT_EQ(error.message, "invalid list '" + std::string(bad) +
                                 "' (expected names separated by commas, e.g. mac,port-added)");
  }
  // Names are the daemon's to check.
  EXPECT_EQ(ParseOk({"monitor", "fdb"}).params, json({{"events", {"fdb"}}}));
  EXPECT_EQ(ParseError({"monitor", "mac", "arp"}).exit_code, ExitCode::kUsage);
  // Only monitor and capture stream; capture alone ends by itself.
  for (const CommandSpec& command : Commands()) {
    EXPECT_EQ(command.render_event != nullptr,
              command.name == "monitor" || command.name == "capture")
        << command.name;
    EXPECT_EQ(!command.last_event.empty(), command.name == "capture") << command.name;
  }
}

TEST(CommandsTest, CaptureSendsAnAbsolutePathAndItsBounds) {
  const CommandLine line = ParseOk({"capture", "tap0", "/tmp/a/../x.pcap", "--count", "10"});
  EXPECT_EQ(line.command->name, "capture");
  EXPECT_EQ(line.command->last_event, "capture-done");
  EXPECT_EQ(line.params, json({{"port", "tap0"}, {"file", "/tmp/x.pcap"}, {"count", 10}}));
  // A relative name is the caller's: the daemon runs elsewhere.
  const std::string cwd = std::filesystem::current_path().string();
  EXPECT_EQ(ParseOk({"capture", "tap0", "x.pcap", "--seconds", "3"}).params,
            json({{"port", "tap0"}, {"file", cwd + "/x.pcap"}, {"seconds", 3}}));
  EXPECT_EQ(ParseError({"capture", "tap0", ""}).message, "empty file name (expected a path)");
  EXPECT_EQ(ParseError({"capture", "tap0"}).exit_code, ExitCode::kUsage);
  EXPECT_EQ(ParseError({"capture", "tap0", "x", "--count", "many"}).exit_code, ExitCode::kFailure);
  EXPECT_EQ(ParseError({"capture", "tap0", "x", "--count", "0"}).message,
            "invalid frame count '0' (expected an integer 1..1000000000)");
  EXPECT_EQ(ParseError({"capture", "tap0", "x", "--seconds", "86401"}).message,
            "invalid duration '86401' (expected an integer 1..86400 seconds)");
  EXPECT_EQ(ParseError({"set-port", "p", "learning", "on", "learning", "off"}).message,
            "setting 'learning' given twice (usage: switchctl set-port PORT SETTING VALUE...)");
}

TEST(CommandsTest, DefaultsToTheProtocolSocketPath) {
  EXPECT_EQ(ParseOk({"show-ports"}).socket_path, "/run/switchd/switchd.sock");
}

TEST(CommandsTest, AcceptsGlobalOptionsBeforeAndAfterTheCommand) {
  EXPECT_EQ(ParseOk({"--socket", "/tmp/a.sock", "show-ports"}).socket_path, "/tmp/a.sock");
  EXPECT_EQ(ParseOk({"-s", "/tmp/b.sock", "show-ports"}).socket_path, "/tmp/b.sock");
  EXPECT_EQ(ParseOk({"--socket=/tmp/c.sock", "show-ports"}).socket_path, "/tmp/c.sock");
  EXPECT_EQ(ParseOk({"show-ports", "-s", "/tmp/d.sock"}).socket_path, "/tmp/d.sock");
  EXPECT_TRUE(ParseOk({"--json", "show-ports"}).json);
  EXPECT_TRUE(ParseOk({"-j", "show-macs", "tap0"}).json);
  const CommandLine line = ParseOk({"show-macs", "tap0", "--json", "--vlan", "2"});
  EXPECT_TRUE(line.json);
  EXPECT_EQ(line.params, json({{"port", "tap0"}, {"vlan", 2}}));
}

TEST(CommandsTest, DoubleDashEndsOptions) {
  EXPECT_EQ(ParseOk({"del-port", "--", "-odd"}).params, json({{"name", "-odd"}}));
}

TEST(CommandsTest, HelpAndVersionAreLocal) {
  CommandLine line = ParseOk({"help"});
  EXPECT_EQ(line.action, CommandLine::Action::kHelp);
  EXPECT_EQ(line.command, nullptr);

  line = ParseOk({"help", "add-mac"});
  EXPECT_EQ(line.action, CommandLine::Action::kHelp);
  ASSERT_NE(line.command, nullptr);
  EXPECT_EQ(line.command->name, "add-mac");

  line = ParseOk({"--help"});
  EXPECT_EQ(line.action, CommandLine::Action::kHelp);
  EXPECT_EQ(line.command, nullptr);

  line = ParseOk({"-h"});
  EXPECT_EQ(line.action, CommandLine::Action::kHelp);

  // --help after a command shows that command's help, even with its arguments missing.
  line = ParseOk({"add-mac", "--help"});
  EXPECT_EQ(line.action, CommandLine::Action::kHelp);
  ASSERT_NE(line.command, nullptr);
  EXPECT_EQ(line.command->name, "add-mac");

  EXPECT_EQ(ParseOk({"--version"}).action, CommandLine::Action::kVersion);
}

struct ErrorCase {
  std::vector<std::string_view> args;
  ExitCode exit_code;
  std::string message;
};

TEST(CommandsTest, ReportsUsageErrorsWithExitTwo) {
  const std::vector<ErrorCase> cases = {
      {{}, ExitCode::kUsage, "no command given (try 'switchctl help')"},
      {{"--json"}, ExitCode::kUsage, "no command given (try 'switchctl help')"},
      {{"show-mac"},
       ExitCode::kUsage,
       "unknown command 'show-mac' (did you mean 'show-macs'? try 'switchctl help')"},
      {{"addmac"},
       ExitCode::kUsage,
       "unknown command 'addmac' (did you mean 'add-mac'? try 'switchctl help')"},
      {{"frobnicate"}, ExitCode::kUsage, "unknown command 'frobnicate' (try 'switchctl help')"},
      {{"--foo", "show-ports"}, ExitCode::kUsage, "unknown option '--foo' (try 'switchctl help')"},
      {{"add-mac", "02:00:00:00:00:01", "tap0", "--foo"},
       ExitCode::kUsage,
       "unknown option '--foo' for 'add-mac' (usage: switchctl add-mac MAC PORT [--vlan N])"},
      {{"show-ports", "--vlan", "1"},
       ExitCode::kUsage,
       "unknown option '--vlan' for 'show-ports' (usage: switchctl show-ports)"},
      {{"add-mac"},
       ExitCode::kUsage,
       "missing MAC for 'add-mac' (usage: switchctl add-mac MAC PORT [--vlan N])"},
      {{"add-mac", "02:00:00:00:00:01"},
       ExitCode::kUsage,
       "missing PORT for 'add-mac' (usage: switchctl add-mac MAC PORT [--vlan N])"},
      {{"add-mac", "zz", "tap0", "extra"},
       ExitCode::kUsage,
       "unexpected argument 'extra' for 'add-mac' (usage: switchctl add-mac MAC PORT [--vlan N])"},
      {{"show-ports", "tap0"},
       ExitCode::kUsage,
       "unexpected argument 'tap0' for 'show-ports' (usage: switchctl show-ports)"},
      {{"show-macs", "tap0", "tap1"},
       ExitCode::kUsage,
       "unexpected argument 'tap1' for 'show-macs' (usage: switchctl show-macs [PORT] [--vlan N])"},
      {{"del-port"},
       ExitCode::kUsage,
       "missing NAME for 'del-port' (usage: switchctl del-port NAME)"},
      {{"set-port", "tap0"},
       ExitCode::kUsage,
       "missing SETTING for 'set-port' (settings: max-macs, storm-limit, access, trunk, native, "
       "learning, flood, "
       "bcast-flood, mcast-flood, isolated) (usage: switchctl "
       "set-port PORT SETTING VALUE...)"},
      {{"set-port", "tap0", "colour", "red"},
       ExitCode::kUsage,
       "unknown setting 'colour' for 'set-port' (settings: max-macs, storm-limit, access, trunk, "
       "native, learning, flood, "
       "bcast-flood, mcast-flood, isolated) (usage: "
       "switchctl set-port PORT SETTING VALUE...)"},
      {{"set-port", "tap0", "max-macs"},
       ExitCode::kUsage,
       "missing N for 'max-macs' (usage: switchctl set-port PORT SETTING VALUE...)"},
      {{"add-port"},
       ExitCode::kUsage,
       "missing NAME for 'add-port' (usage: switchctl " + std::string(kAddPortUsage) + ")"},
      {{"add-port", "tap0", "--kind"},
       ExitCode::kUsage,
       "missing KIND for '--kind' (usage: switchctl " + std::string(kAddPortUsage) + ")"},
      {{"add-port", "h1", "--create-netns=yes"},
       ExitCode::kUsage,
       "option '--create-netns' takes no value (usage: switchctl " + std::string(kAddPortUsage) +
           ")"},
      {{"del-mac", "02:00:00:00:00:01", "--vlan", "1", "--vlan", "2"},
       ExitCode::kUsage,
       "option '--vlan' given twice (usage: switchctl del-mac MAC [--vlan N])"},
      {{"add-arp", "198.18.0.2"},
       ExitCode::kUsage,
       "missing MAC for 'add-arp' (usage: switchctl add-arp IP MAC [--vlan N])"},
      {{"del-arp"},
       ExitCode::kUsage,
       "missing IP for 'del-arp' (usage: switchctl del-arp IP [--vlan N])"},
      {{"set-aging"},
       ExitCode::kUsage,
       "missing SECONDS for 'set-aging' (usage: switchctl set-aging SECONDS)"},
      {{"flush-macs", "a", "b"},
       ExitCode::kUsage,
       "unexpected argument 'b' for 'flush-macs' (usage: switchctl flush-macs [PORT])"},
      {{"version", "now"},
       ExitCode::kUsage,
       "unexpected argument 'now' for 'version' (usage: switchctl version)"},
      {{"show-stats", "-x"},
       ExitCode::kUsage,
       "unknown option '-x' for 'show-stats' (usage: switchctl show-stats)"},
      {{"show-arp", "--vlan"},
       ExitCode::kUsage,
       "missing N for '--vlan' (usage: switchctl show-arp [--vlan N])"},
      {{"help", "nope"}, ExitCode::kUsage, "unknown command 'nope' (try 'switchctl help')"},
      {{"help", "add-mac", "del-mac"},
       ExitCode::kUsage,
       "unexpected argument 'del-mac' for 'help' (usage: switchctl help [COMMAND])"},
      {{"show-ports", "--socket"},
       ExitCode::kUsage,
       "missing PATH for '--socket' (usage: switchctl [--socket PATH] [--json] COMMAND [ARGS])"},
      {{"--socket=", "show-ports"},
       ExitCode::kUsage,
       "empty PATH for '--socket' (usage: switchctl [--socket PATH] [--json] COMMAND [ARGS])"},
      {{"--json=yes", "show-ports"},
       ExitCode::kUsage,
       "option '--json' takes no value (try 'switchctl help')"},
  };
  for (const ErrorCase& c : cases) {
    auto parsed = ParseCommandLine(c.args);
    ASSERT_TRUE(std::holds_alternative<CtlError>(parsed)) << c.message;
    const CtlError& error = std::get<CtlError>(parsed);
    EXPECT_EQ(error.exit_code, c.exit_code) << c.message;
    EXPECT_EQ(error.message, c.message);
  }
}

TEST(CommandsTest, ReportsInvalidValuesWithExitOne) {
  const std::vector<ErrorCase> cases = {
      {{"add-mac", "zz:00", "tap0"},
       ExitCode::kFailure,
       "invalid MAC address 'zz:00' (expected aa:bb:cc:dd:ee:ff)"},
      {{"del-mac", "02:00:00:00:00:0g"},
       ExitCode::kFailure,
       "invalid MAC address '02:00:00:00:00:0g' (expected aa:bb:cc:dd:ee:ff)"},
      {{"add-arp", "198.18.0.2", "02-00-00-00-00-01"},
       ExitCode::kFailure,
       "invalid MAC address '02-00-00-00-00-01' (expected aa:bb:cc:dd:ee:ff)"},
      {{"add-arp", "198.18.0", "02:00:00:00:00:01"},
       ExitCode::kFailure,
       "invalid IPv4 address '198.18.0' (expected a.b.c.d)"},
      {{"del-arp", "256.0.0.1"},
       ExitCode::kFailure,
       "invalid IPv4 address '256.0.0.1' (expected a.b.c.d)"},
      {{"show-macs", "--vlan", "0"},
       ExitCode::kFailure,
       "invalid VLAN '0' (expected an integer 1..4094)"},
      {{"set-port", "tap0", "max-macs", "-1"},
       ExitCode::kFailure,
       "invalid number '-1' (expected an integer 0..16777216)"},
      {{"set-port", "tap0", "storm-limit", "fast"},
       ExitCode::kFailure,
       "invalid rate 'fast' (expected frames per second 0..100000000, or off)"},
      {{"add-port", "tap0", "--offload", "yes"},
       ExitCode::kFailure,
       "invalid setting 'yes' (expected on or off)"},
      {{"set-port", "t1", "trunk", "10-"},
       ExitCode::kFailure,
       "invalid VLAN list '10-' (expected VLANs 1..4094 like 10,20,30-40)"},
      {{"add-mirror", "m1", "tap0", "mon0", "sideways"},
       ExitCode::kFailure,
       "invalid direction 'sideways' (expected rx, tx or both)"},
      {{"add-vxlan", "vx0", "--vni", "16777216"},
       ExitCode::kFailure,
       "invalid VNI '16777216' (expected an integer 1..16777215)"},
      {{"add-vxlan", "vx0", "--dstport", "0"},
       ExitCode::kFailure,
       "invalid UDP port '0' (expected an integer 1..65535)"},
      {{"add-port", "tap0", "--mtu", "67"},
       ExitCode::kFailure,
       "invalid MTU '67' (expected an integer 68..65535)"},
      {{"add-port", "tap0", "--mtu", "65536"},
       ExitCode::kFailure,
       "invalid MTU '65536' (expected an integer 68..65535)"},
      {{"add-port", "tap0", "--mac", "02:00:00:00:00"},
       ExitCode::kFailure,
       "invalid MAC address '02:00:00:00:00' (expected aa:bb:cc:dd:ee:ff)"},
      {{"show-macs", "--vlan", "4095"},
       ExitCode::kFailure,
       "invalid VLAN '4095' (expected an integer 1..4094)"},
      {{"show-arp", "--vlan=ten"},
       ExitCode::kFailure,
       "invalid VLAN 'ten' (expected an integer 1..4094)"},
      {{"add-mac", "02:00:00:00:00:01", "tap0", "--vlan", "-1"},
       ExitCode::kFailure,
       "invalid VLAN '-1' (expected an integer 1..4094)"},
      {{"del-arp", "198.18.0.2", "--vlan", ""},
       ExitCode::kFailure,
       "invalid VLAN '' (expected an integer 1..4094)"},
      {{"set-aging", "0"},
       ExitCode::kFailure,
       "invalid aging time '0' (expected an integer 1..1000000 seconds)"},
      {{"set-aging", "1000001"},
       ExitCode::kFailure,
       "invalid aging time '1000001' (expected an integer 1..1000000 seconds)"},
      {{"set-aging", "-5"},
       ExitCode::kFailure,
       "invalid aging time '-5' (expected an integer 1..1000000 seconds)"},
      {{"set-aging", "+5"},
       ExitCode::kFailure,
       "invalid aging time '+5' (expected an integer 1..1000000 seconds)"},
      {{"set-aging", "99999999999999999999999"},
       ExitCode::kFailure,
       "invalid aging time '99999999999999999999999' (expected an integer 1..1000000 seconds)"},
      {{"set-aging", "5s"},
       ExitCode::kFailure,
       "invalid aging time '5s' (expected an integer 1..1000000 seconds)"},
  };
  for (const ErrorCase& c : cases) {
    auto parsed = ParseCommandLine(c.args);
    ASSERT_TRUE(std::holds_alternative<CtlError>(parsed)) << c.message;
    const CtlError& error = std::get<CtlError>(parsed);
    EXPECT_EQ(error.exit_code, c.exit_code) << c.message;
    EXPECT_EQ(error.message, c.message);
  }
}

TEST(CommandsTest, QuotedInputHasControlCharactersReplaced) {
  EXPECT_EQ(ParseError({"add-mac", "a\nb", "tap0"}).message,
            "invalid MAC address 'a?b' (expected aa:bb:cc:dd:ee:ff)");
}

TEST(CommandsTest, UsageLinesComeFromTheTable) {
  const std::vector<std::string> expected = {
      "show-ports",
      "show-macs [PORT] [--vlan N]",
      "show-arp [--vlan N]",
      "show-stats",
      std::string(kAddPortUsage),
      "set-port PORT SETTING VALUE...",
      "del-port NAME",
      "add-mac MAC PORT [--vlan N]",
      "del-mac MAC [--vlan N]",
      "flush-macs [PORT]",
      "add-arp IP MAC [--vlan N]",
      "del-arp IP [--vlan N]",
      "set-aging SECONDS",
      "add-vxlan NAME [--vni N] [--local IP] [--remote IP]... [--dstport PORT] [--learn-remotes]",
      "add-remote PORT IP",
      "del-remote PORT IP",
      "add-mirror NAME SRC_PORT DEST_PORT [DIRECTION]",
      "del-mirror NAME",
      "show-mirrors",
      "show-config",
      "save FILE",
      "capture PORT FILE [--count N] [--seconds S]",
      "monitor [EVENTS]",
      "version",
      "help [COMMAND]",
  };
  std::vector<std::string> usages;
  for (const CommandSpec& command : Commands()) usages.push_back(Usage(command));
  EXPECT_EQ(usages, expected);
}

TEST(CommandsTest, HelpListsEveryCommandWithItsSummary) {
  const std::string help = HelpText();
  EXPECT_EQ(help.rfind("usage: switchctl [--socket PATH] [--json] COMMAND [ARGS]\n", 0), 0u);
  for (const CommandSpec& command : Commands()) {
    EXPECT_NE(help.find("  " + Usage(command) + " "), std::string::npos) << command.name;
    EXPECT_NE(help.find(std::string(command.summary) + "\n"), std::string::npos) << command.name;
  }
}

TEST(CommandsTest, CommandHelpShowsUsageSummaryAndArguments) {
  EXPECT_EQ(CommandHelp(*FindCommand("add-mac")),
            "usage: switchctl add-mac MAC PORT [--vlan N]\n"
            "add (or replace) a static MAC entry\n"
            "\n"
            "  MAC       MAC address, aa:bb:cc:dd:ee:ff\n"
            "  PORT      port name\n"
            "  --vlan N  VLAN 1..4094 (default 1)\n");
  EXPECT_EQ(CommandHelp(*FindCommand("show-ports")),
            "usage: switchctl show-ports\nlist the ports with their counters\n");
}

TEST(CommandsTest, EveryCommandButHelpHasARendererAndAUniqueName) {
  std::set<std::string_view> names;
  for (const CommandSpec& command : Commands()) {
    EXPECT_TRUE(names.insert(command.name).second) << command.name;
    EXPECT_EQ(command.render == nullptr, command.name == "help") << command.name;
    EXPECT_EQ(FindCommand(command.name), &command);
  }
  EXPECT_EQ(FindCommand("nope"), nullptr);
}

}  // namespace
}  // namespace switchd::ctl
