#include "switchd/control/config.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace switchd {
namespace {

using nlohmann::json;

TEST(ConfigTest, EmptyDocumentGivesDefaults) {
  Result<Config> config = ParseConfig(json::object());
  ASSERT_TRUE(config.ok());
  EXPECT_FALSE(config->socket);
  EXPECT_FALSE(config->max_macs);
  EXPECT_TRUE(config->ports.empty());
}

TEST(ConfigTest, ReadsEveryKey) {
  Result<Config> config = ParseConfig(json::parse(R"({
    "socket": "/tmp/s.sock", "log_level": "debug", "max_macs": 100, "aging": 5,
    "ports": ["tap0", "tap1:tap", {"name": "tap2", "kind": "tap"}],
    "macs": [{"mac": "02:00:00:00:00:01", "port": "tap0"}],
    "arp": [{"ip": "198.18.0.1", "mac": "02:00:00:00:00:01"}]})"));
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(*config->socket, "/tmp/s.sock");
  EXPECT_EQ(*config->log_level, "debug");
  EXPECT_EQ(*config->max_macs, 100u);
  EXPECT_EQ(*config->aging_seconds, 5);
  ASSERT_EQ(config->ports.size(), 3u);
  EXPECT_EQ(config->ports[1].name, "tap1");
  EXPECT_EQ(config->ports[1].kind, "tap");
  EXPECT_EQ(config->ports[2].name, "tap2");
  ASSERT_EQ(config->macs.size(), 1u);
  EXPECT_EQ(config->macs[0]["port"], "tap0");
  ASSERT_EQ(config->arp.size(), 1u);
}

TEST(ConfigTest, RejectsUnknownKeyNamingIt) {
  Result<Config> config = ParseConfig(json::parse(R"({"max_mac": 10})"));
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("unknown key 'max_mac'"), std::string::npos);
}

TEST(ConfigTest, RejectsOutOfRangeValuesQuotingThem) {
  Result<Config> small = ParseConfig(json::parse(R"({"max_macs": 1})"));
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.status().message().find("'max_macs'"), std::string::npos);
  EXPECT_NE(small.status().message().find("got 1"), std::string::npos);
  EXPECT_FALSE(ParseConfig(json::parse(R"({"aging": 0})")).ok());
  EXPECT_FALSE(ParseConfig(json::parse(R"({"aging": "300"})")).ok());
  EXPECT_FALSE(ParseConfig(json::parse(R"({"ports": "tap0"})")).ok());
  EXPECT_FALSE(ParseConfig(json::parse(R"({"ports": [{"name": "t", "colour": 1}]})")).ok());
  EXPECT_FALSE(ParseConfig(json::parse(R"({"ports": [{"kind": "tap"}]})")).ok());
  EXPECT_FALSE(ParseConfig(json::parse(R"({"macs": ["02:00:00:00:00:01"]})")).ok());
  EXPECT_FALSE(ParseConfig(json::parse(R"([1, 2])")).ok());
}

TEST(ConfigTest, ParsesPortArgument) {
  Result<PortRequest> plain = ParsePortArgument("tap0");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->name, "tap0");
  EXPECT_EQ(plain->kind, "tap");
  Result<PortRequest> kinded = ParsePortArgument("vm0:vm");
  ASSERT_TRUE(kinded.ok());
  EXPECT_EQ(kinded->kind, "vm");
  EXPECT_FALSE(ParsePortArgument("").ok());
  EXPECT_FALSE(ParsePortArgument(":tap").ok());
  EXPECT_FALSE(ParsePortArgument("tap0:").ok());
}

TEST(ConfigTest, LoadFileReportsMissingFileAndBadJson) {
  Result<Config> missing = LoadConfigFile("/nonexistent/switchd.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("cannot read config '/nonexistent/switchd.json'"),
            std::string::npos);

  std::filesystem::path path = std::filesystem::temp_directory_path() / "switchd-config-test.json";
  std::ofstream(path) << "{\"ports\": [\"tap0\",]}";
  Result<Config> bad = LoadConfigFile(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("is not valid JSON: parse error at line 1"),
            std::string::npos)
      << bad.status().message();

  std::ofstream(path) << R"({"ports": ["tap0"], "aging": 10})";
  Result<Config> good = LoadConfigFile(path);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good->ports.size(), 1u);
  std::filesystem::remove(path);
}

TEST(ConfigTest, FileMayExplainItselfWithComments) {
  std::filesystem::path path = std::filesystem::temp_directory_path() / "switchd-comments.json";
  std::ofstream(path) << "// a lab\n{\n  /* two hosts */ \"ports\": [\n"
                         "    {\"name\": \"h1\", \"netns\": \"lab-h1\"},  // the first\n"
                         "    \"h2\"\n  ]\n}\n";
  Result<Config> config = LoadConfigFile(path);
  ASSERT_TRUE(config.ok()) << config.status().message();
  ASSERT_EQ(config->ports.size(), 2u);
  EXPECT_EQ(config->ports[0].link, json({{"netns", "lab-h1"}}));
  std::filesystem::remove(path);
}

TEST(ConfigTest, PortEntriesTakeTheInterfaceOptions) {
  Result<Config> config = ParseConfig(json::parse(R"({"ports": [
      {"name": "h1", "netns": "lab", "create_netns": true, "address": "198.18.0.1/24",
       "mtu": 1400, "mac": "02:00:00:00:00:01", "max_macs": 10},
      {"name": "vm0", "kind": "vm"}]})"));
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(AddPortParams(config->ports[0]), json::parse(R"({"name": "h1", "kind": "tap",
      "offload": true, "netns": "lab", "create_netns": true, "address": "198.18.0.1/24",
      "mtu": 1400, "mac": "02:00:00:00:00:01"})"));
  EXPECT_EQ(SetPortParams(config->ports[0]), json::parse(R"({"port": "h1", "max_macs": 10})"));
  EXPECT_TRUE(ValidateConfig(*config, {}, 8192).ok());
  // A port whose interface set-up changed must be re-created: a reload says so.
  Config changed = *config;
  changed.ports[0].link["address"] = "198.18.0.9/24";
  EXPECT_TRUE(changed.ports[0].NeedsRestartFrom(config->ports[0]));
  Result<Config> unknown = ParseConfig(json::parse(R"({"ports": [{"name": "h1", "ns": "x"}]})"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message(),
            "config: unknown key 'ns' in ports[0] (expected name, kind, offload, netns, "
            "create_netns, address, mtu, mac, vni, local, remotes, dstport, learn_remotes, "
            "max_macs, storm_limit, access, trunk, native, learning, flood, bcast_flood, "
            "mcast_flood, isolated)");
}

TEST(ConfigTest, ReadsSocketGroupAndChecksLogLevel) {
  Result<Config> config = ParseConfig(json::parse(R"({"socket_group": "netadmin"})"));
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(*config->socket_group, "netadmin");
  EXPECT_FALSE(ParseConfig(json::parse(R"({"socket_group": ""})")).ok());
  EXPECT_FALSE(ParseConfig(json::parse(R"({"socket_group": 10})")).ok());
  Result<Config> level = ParseConfig(json::parse(R"({"log_level": "loud"})"));
  ASSERT_FALSE(level.ok());
  EXPECT_NE(level.status().message().find("'log_level'"), std::string::npos);
  EXPECT_NE(level.status().message().find("\"loud\""), std::string::npos);
}

TEST(ConfigTest, ParsesMetricsAddressesIpv4AndIpv6) {
  const std::optional<MetricsAddress> v4 = ParseMetricsAddress("127.0.0.1:9100");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 9100);
  EXPECT_EQ(v4->ToString(), "127.0.0.1:9100");
  const std::optional<MetricsAddress> v6 = ParseMetricsAddress("[::1]:65535");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 65535);
  EXPECT_EQ(v6->ToString(), "[::1]:65535");
  EXPECT_EQ(ParseMetricsAddress("0.0.0.0:0")->port, 0);  // any address, a port the kernel picks
  EXPECT_EQ(ParseMetricsAddress("[fe80::1:2]:80")->host, "fe80::1:2");
  for (const char* bad : {"", "127.0.0.1", "127.0.0.1:", ":9100", "127.0.0.1:65536",
                          "127.0.0.1:99999999", "127.0.0.1:-1", "127.0.0.1:9x", "127.0.0.1: 9",
                          "localhost:9100", "1.2.3:80", "256.0.0.1:80", "::1:9100", "[::1]9100",
                          "[::1]:", "[]:80", "[127.0.0.1]:80", "[::g]:80", "[::1:80"}) {
    EXPECT_FALSE(ParseMetricsAddress(bad)) << "'" << bad << "'";
  }
}

TEST(ConfigTest, ReadsMetricsAndRejectsABadOneQuotingIt) {
  Result<Config> config = ParseConfig(json::parse(R"({"metrics": "[::1]:9100"})"));
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->metrics, (MetricsAddress{"::1", 9100}));
  Result<Config> bad = ParseConfig(json::parse(R"({"metrics": "localhost:9100"})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "config: 'metrics' must be ADDR:PORT with a numeric IPv4 or [IPv6] address, e.g. "
            "127.0.0.1:9100 or [::1]:9100, got \"localhost:9100\"");
  EXPECT_FALSE(ParseConfig(json::parse(R"({"metrics": 9100})")).ok());

  Config command_line;
  command_line.metrics = MetricsAddress{"127.0.0.1", 9200};
  EXPECT_EQ(Merge(*config, command_line).metrics, command_line.metrics);
  EXPECT_EQ(Merge(*config, Config{}).metrics, config->metrics);
}

TEST(ConfigTest, ReadFileErrorsDoNotNameTheFile) {
  Result<Config> missing = ReadConfigFile("/nonexistent/switchd.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "cannot read: No such file or directory");

  std::filesystem::path path = std::filesystem::temp_directory_path() / "switchd-read-test.json";
  std::ofstream(path) << R"({"max_mac": 1})";
  Result<Config> unknown = ReadConfigFile(path);
  ASSERT_FALSE(unknown.ok());
  EXPECT_TRUE(unknown.status().message().starts_with("config: unknown key 'max_mac'"))
      << unknown.status().message();
  Result<Config> loaded = LoadConfigFile(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().message(), path.string() + ": " + unknown.status().message());
  std::filesystem::remove(path);
}

TEST(ConfigTest, CommandLineAddsPortsAndOverridesScalars) {
  Config file;
  file.socket = "/file.sock";
  file.aging_seconds = 10;
  file.max_macs = 100;
  file.ports = {{"a"}, {"b"}};
  Config command_line;
  command_line.aging_seconds = 20;
  command_line.socket_group = "wheel";
  command_line.ports = {{"c"}};
  Config merged = Merge(file, command_line);
  EXPECT_EQ(*merged.socket, "/file.sock");
  EXPECT_EQ(*merged.aging_seconds, 20);
  EXPECT_EQ(*merged.max_macs, 100u);
  EXPECT_EQ(*merged.socket_group, "wheel");
  ASSERT_EQ(merged.ports.size(), 3u);
  EXPECT_EQ(merged.ports[2].name, "c");
}

// ---- ValidateConfig: the control methods' checks, on nothing real.

Config MustParse(const char* text) {
  Result<Config> config = ParseConfig(json::parse(text));
  EXPECT_TRUE(config.ok()) << config.status().message();
  return config.ok() ? *config : Config{};
}

TEST(ValidateConfigTest, AcceptsAGoodConfigAndStaticEntriesOnOtherPorts) {
  Config config = MustParse(R"({"ports": ["tap0", {"name": "tap1", "offload": false}],
    "macs": [{"mac": "02:00:00:00:00:01", "port": "tap1", "vlan": 7},
             {"mac": "02:00:00:00:00:02", "port": "cli0"}],
    "arp": [{"ip": "198.18.0.1", "mac": "02:00:00:00:00:01"}]})");
  Status status = ValidateConfig(config, {"cli0"}, 8192);
  EXPECT_TRUE(status.ok()) << status.message();
}

TEST(ValidateConfigTest, NamesTheEntryAndQuotesTheMethodsError) {
  struct Case {
    const char* config;
    const char* message;
  };
  const Case cases[] = {
      {R"({"ports": ["tap0", "a/b"]})", "config: ports[1]: invalid port name 'a/b'"},
      {R"({"ports": ["tap0", "tap0"]})", "config: ports[1]: port 'tap0' already exists"},
      {R"({"ports": ["br0:bridge"]})", "config: ports[0]: unsupported port kind 'bridge'"},
      {R"({"ports": [{"name": "h1", "netns": "a/b"}]})",
       "config: ports[0]: invalid network namespace name 'a/b'"},
      {R"({"ports": [{"name": "h1", "netns": "lab", "address": "198.18.0.1"}]})",
       "config: ports[0]: invalid address '198.18.0.1' (expected ADDRESS/PREFIX"},
      {R"({"ports": [{"name": "vm0", "kind": "vm", "netns": "lab"}]})",
       "config: ports[0]: netns applies to tap ports only"},
      {R"({"ports": ["tap0"], "macs": [{"mac": "02:00:00:00:00:01", "port": "tap9"}]})",
       "config: macs[0]: unknown port 'tap9'"},
      {R"({"ports": ["tap0"], "macs": [{"mac": "zz:00", "port": "tap0"}]})",
       "config: macs[0]: invalid MAC address 'zz:00'"},
      {R"({"ports": ["tap0"], "macs": [{"mac": "02:00:00:00:00:01", "port": "tap0", "prot": 1}]})",
       "config: macs[0]: unknown parameter 'prot' for 'add-mac'"},
      {R"({"arp": [{"ip": "198.18.0.1", "mac": "02:00:00:00:00:01", "vlan": 5000}]})",
       "config: arp[0]: invalid VLAN 5000"},
      {R"({"arp": [{"ip": "1.2.3", "mac": "02:00:00:00:00:01"}]})",
       "config: arp[0]: invalid IPv4 address '1.2.3'"},
  };
  for (const Case& c : cases) {
    Status status = ValidateConfig(MustParse(c.config), {}, 8192);
    EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument) << c.config;
    EXPECT_TRUE(status.message().starts_with(c.message)) << c.config << "\n" << status.message();
  }
}

TEST(ValidateConfigTest, RefusesMoreStaticEntriesThanTheTableHolds) {
  Config config;
  config.ports = {{"tap0"}};
  for (int i = 0; i < 17; ++i) {
    char mac[18];
    snprintf(mac, sizeof(mac), "02:00:00:00:01:%02x", i);
    config.macs.push_back({{"mac", mac}, {"port", "tap0"}});
  }
  EXPECT_TRUE(ValidateConfig(config, {}, 17).ok());
  Status status = ValidateConfig(config, {}, 16);
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(status.message().starts_with("config: macs[16]: ")) << status.message();
}

// ---- Diff and PlanReload: what a reload changes.

TEST(ConfigDiffTest, IdenticalConfigsDiffToNothingHoweverEntriesAreSpelled) {
  Config old = MustParse(R"({"ports": ["tap0"], "aging": 10,
    "macs": [{"mac": "02:AB:00:00:00:01", "port": "tap0"}],
    "arp": [{"ip": "198.18.0.1", "mac": "02:00:00:00:00:0A", "vlan": 1}]})");
  Config next = MustParse(R"({"ports": [{"name": "tap0", "kind": "tap"}], "aging": 10,
    "macs": [{"mac": "02:ab:00:00:00:01", "port": "tap0", "vlan": 1}],
    "arp": [{"ip": "198.18.0.1", "mac": "02:00:00:00:00:0a"}]})");
  ConfigDiff diff = Diff(old, next);
  EXPECT_TRUE(diff.ports_added.empty());
  EXPECT_TRUE(diff.ports_removed.empty());
  EXPECT_TRUE(diff.ports_changed.empty());
  EXPECT_TRUE(diff.macs_added.empty());
  EXPECT_TRUE(diff.macs_removed.empty());
  EXPECT_TRUE(diff.arp_added.empty());
  EXPECT_TRUE(diff.arp_removed.empty());
  EXPECT_FALSE(diff.aging_changed || diff.max_macs_changed || diff.log_level_changed ||
               diff.socket_changed || diff.socket_group_changed);
}

TEST(ConfigDiffTest, FindsAddedRemovedAndChangedPortsAndEntries) {
  Config old = MustParse(R"({"ports": ["a", "b", "c"], "max_macs": 100,
    "macs": [{"mac": "02:00:00:00:00:01", "port": "a"},
             {"mac": "02:00:00:00:00:02", "port": "b"},
             {"mac": "02:00:00:00:00:03", "port": "b", "vlan": 3}],
    "arp": [{"ip": "198.18.0.1", "mac": "02:00:00:00:00:01"},
            {"ip": "198.18.0.2", "mac": "02:00:00:00:00:02"}]})");
  Config next = MustParse(R"({"ports": ["b", {"name": "c", "offload": false}, "d"],
    "max_macs": 200, "aging": 5,
    "macs": [{"mac": "02:00:00:00:00:02", "port": "d"},
             {"mac": "02:00:00:00:00:03", "port": "b", "vlan": 4}],
    "arp": [{"ip": "198.18.0.2", "mac": "02:00:00:00:00:02"},
            {"ip": "198.18.0.3", "mac": "02:00:00:00:00:03"}]})");
  ConfigDiff diff = Diff(old, next);
  ASSERT_EQ(diff.ports_added.size(), 1u);
  EXPECT_EQ(diff.ports_added[0].name, "d");
  EXPECT_EQ(diff.ports_removed, std::vector<std::string>{"a"});
  EXPECT_EQ(diff.ports_changed, std::vector<std::string>{"c"});
  // 02:..:02 moved to another port: added again (add-mac replaces). 02:..:03 changed VLAN: a new
  // key, and the old key is removed.
  EXPECT_EQ(diff.macs_added, (std::vector<json>{next.macs[0], next.macs[1]}));
  EXPECT_EQ(diff.macs_removed, (std::vector<json>{{{"mac", "02:00:00:00:00:01"}, {"vlan", 1}},
                                                  {{"mac", "02:00:00:00:00:03"}, {"vlan", 3}}}));
  EXPECT_EQ(diff.arp_added, std::vector<json>{next.arp[1]});
  EXPECT_EQ(diff.arp_removed, (std::vector<json>{{{"ip", "198.18.0.1"}, {"vlan", 1}}}));
  EXPECT_TRUE(diff.max_macs_changed);
  EXPECT_TRUE(diff.aging_changed);
  EXPECT_FALSE(diff.log_level_changed);
}

TEST(PlanReloadTest, FollowsTheFileAndLeavesOtherPortsAlone) {
  Config old = MustParse(R"({"ports": ["a", "b", "gone"],
    "macs": [{"mac": "02:00:00:00:00:01", "port": "a"}]})");
  // "runtime" was added with switchctl, "cli" with --port; neither is the file's.
  Config next = MustParse(R"({"ports": ["b", "new"],
    "macs": [{"mac": "02:00:00:00:00:02", "port": "runtime"}]})");
  Config command_line;
  command_line.ports = {{"cli"}};
  const std::vector<std::string> running = {"a", "b", "runtime", "cli"};
  auto exists = [&](std::string_view name) {
    return std::find(running.begin(), running.end(), name) != running.end();
  };
  ReloadPlan plan = PlanReload(old, next, command_line, exists);
  // "gone" was deleted since the file was read: nothing to delete.
  EXPECT_EQ(plan.ports_to_delete, std::vector<std::string>{"a"});
  ASSERT_EQ(plan.ports_to_add.size(), 1u);
  EXPECT_EQ(plan.ports_to_add[0].name, "new");
  EXPECT_EQ(plan.macs_to_delete, (std::vector<json>{{{"mac", "02:00:00:00:00:01"}, {"vlan", 1}}}));
  EXPECT_EQ(plan.macs_to_add, next.macs);
  EXPECT_FALSE(plan.aging_seconds);
  EXPECT_FALSE(plan.log_level);
  EXPECT_TRUE(plan.warnings.empty());
}

TEST(ConfigTest, ReadsPortSettingsAndValidatesThemThroughSetPort) {
  Config config = MustParse(R"({"ports": [{"name": "tap0", "max_macs": 100, "storm_limit": 1000},
    "tap1"]})");
  EXPECT_EQ(config.ports[0].settings, json({{"max_macs", 100}, {"storm_limit", 1000}}));
  EXPECT_EQ(SetPortParams(config.ports[0]),
            json({{"port", "tap0"}, {"max_macs", 100}, {"storm_limit", 1000}}));
  EXPECT_FALSE(SetPortParams(config.ports[1]));
  EXPECT_TRUE(ValidateConfig(config, {}, 8192).ok());
  Status bad =
      ValidateConfig(MustParse(R"({"ports": [{"name": "tap0", "storm_limit": -5}]})"), {}, 8192);
  EXPECT_EQ(bad.message(),
            "config: ports[0]: invalid storm limit -5 (expected frames per second 0..100000000, 0 "
            "for off)");
}

TEST(PlanReloadTest, AppliesChangedPortSettingsWithoutRestartingThePort) {
  Config old = MustParse(R"({"ports": [{"name": "a", "max_macs": 10, "storm_limit": 5}, "b"]})");
  Config next = MustParse(R"({"ports": [{"name": "a", "max_macs": 20}, "b"]})");
  ReloadPlan plan = PlanReload(old, next, Config{}, [](std::string_view) { return true; });
  EXPECT_TRUE(plan.ports_to_add.empty());
  EXPECT_TRUE(plan.ports_to_delete.empty());
  EXPECT_TRUE(plan.warnings.empty());
  // The storm limit the file no longer gives goes back to off, and every setting it does not give
  // to its default (access VLAN 1, flooding and learning on, not isolated).
  EXPECT_EQ(plan.ports_to_configure, (std::vector<json>{json::parse(R"({"port": "a",
      "max_macs": 20, "storm_limit": 0, "access": 1, "learning": true, "flood": true,
      "bcast_flood": true, "mcast_flood": true, "isolated": false})")}));
}

TEST(PlanReloadTest, AppliesVlanAndControlChangesAndKeepsATrunkATrunk) {
  Config old =
      MustParse(R"({"ports": [{"name": "a", "access": 10}, {"name": "t", "trunk": "10"}]})");
  Config next = MustParse(R"({"ports": [{"name": "a", "access": 20, "isolated": true},
                                        {"name": "t", "trunk": "10,20", "native": 5}]})");
  ReloadPlan plan = PlanReload(old, next, Config{}, [](std::string_view) { return true; });
  ASSERT_EQ(plan.ports_to_configure.size(), 2u);
  EXPECT_EQ(plan.ports_to_configure[0].at("access"), 20);
  EXPECT_EQ(plan.ports_to_configure[0].at("isolated"), true);
  EXPECT_FALSE(plan.ports_to_configure[1].contains("access")) << "a trunk never gets access 1";
  EXPECT_EQ(plan.ports_to_configure[1].at("trunk"), "10,20");
  EXPECT_EQ(plan.ports_to_configure[1].at("native"), 5);
}

TEST(PlanReloadTest, MirrorsFollowTheFileByName) {
  Config old = MustParse(R"({"ports": ["a", "b", "c"], "mirrors": [
      {"name": "m1", "source": "a", "destination": "c"},
      {"name": "m2", "source": "b", "destination": "c", "direction": "rx"}]})");
  Config next = MustParse(R"({"ports": ["a", "b", "c"], "mirrors": [
      {"name": "m2", "source": "b", "destination": "c", "direction": "tx"},
      {"name": "m3", "source": "a", "destination": "c"}]})");
  ReloadPlan plan = PlanReload(old, next, Config{}, [](std::string_view) { return true; });
  EXPECT_EQ(plan.mirrors_to_delete, (std::vector<std::string>{"m1", "m2"}));
  EXPECT_EQ(plan.mirrors_to_add, next.mirrors);
  EXPECT_TRUE(ValidateConfig(next, {}, 8192).ok());
  Config looping = MustParse(R"({"ports": ["a", "b", "c"], "mirrors": [
      {"name": "m1", "source": "a", "destination": "c"},
      {"name": "m2", "source": "c", "destination": "b"}]})");
  EXPECT_EQ(ValidateConfig(looping, {}, 8192).message(),
            "config: mirrors[1]: port 'c' is the destination of mirror 'm1'; a destination cannot "
            "be mirrored");
}

TEST(PlanReloadTest, KeepsACommandLinePortTheFileStopsListing) {
  Config old = MustParse(R"({"ports": ["shared"]})");
  Config next = MustParse(R"({})");
  Config command_line;
  command_line.ports = {{"shared"}};
  ReloadPlan plan = PlanReload(old, next, command_line, [](std::string_view) { return true; });
  EXPECT_TRUE(plan.ports_to_delete.empty());
}

TEST(PlanReloadTest, AddsBackAFilePortDeletedSinceWithItsStaticEntries) {
  Config file = MustParse(R"({"ports": ["a", "b"],
    "macs": [{"mac": "02:00:00:00:00:01", "port": "a"}, {"mac": "02:00:00:00:00:02", "port": "b"}],
    "arp": [{"ip": "198.18.0.1", "mac": "02:00:00:00:00:01"}]})");
  auto exists = [](std::string_view name) { return name != "a"; };
  ReloadPlan plan = PlanReload(file, file, Config{}, exists);
  ASSERT_EQ(plan.ports_to_add.size(), 1u);
  EXPECT_EQ(plan.ports_to_add[0].name, "a");
  EXPECT_EQ(plan.macs_to_add, std::vector<json>{file.macs[0]});
  EXPECT_TRUE(plan.arp_to_add.empty());  // ARP bindings do not belong to a port
  EXPECT_TRUE(plan.ports_to_delete.empty());
  EXPECT_TRUE(plan.macs_to_delete.empty());
}

TEST(PlanReloadTest, AppliesAgingAndLogLevelUnlessTheCommandLineSetsThem) {
  Config old = MustParse(R"({"aging": 10, "log_level": "debug"})");
  Config next = MustParse(R"({"aging": 20})");
  auto none = [](std::string_view) { return false; };
  ReloadPlan plan = PlanReload(old, next, Config{}, none);
  EXPECT_EQ(plan.aging_seconds, 20);
  EXPECT_EQ(plan.log_level, "info");  // removed from the file: back to the default

  // Removed from the file: back to the default aging time.
  EXPECT_EQ(PlanReload(next, Config{}, Config{}, none).aging_seconds, 300);

  Config command_line;
  command_line.aging_seconds = 99;
  command_line.log_level = "warn";
  ReloadPlan overridden = PlanReload(old, next, command_line, none);
  EXPECT_FALSE(overridden.aging_seconds);
  EXPECT_FALSE(overridden.log_level);
  ASSERT_EQ(overridden.warnings.size(), 1u);
  EXPECT_NE(overridden.warnings[0].find("--aging"), std::string::npos);
}

TEST(PlanReloadTest, WarnsAboutWhatNeedsARestart) {
  Config old = MustParse(R"({"ports": ["a"], "max_macs": 100, "socket": "/x.sock"})");
  Config next = MustParse(
      R"({"ports": [{"name": "a", "offload": false}], "max_macs": 200, "socket": "/y.sock",
          "socket_group": "wheel"})");
  ReloadPlan plan = PlanReload(old, next, Config{}, [](std::string_view) { return true; });
  ASSERT_EQ(plan.warnings.size(), 4u);
  EXPECT_NE(plan.warnings[0].find("port 'a'"), std::string::npos) << plan.warnings[0];
  EXPECT_NE(plan.warnings[1].find("'max_macs' cannot change without a restart"), std::string::npos);
  EXPECT_NE(plan.warnings[2].find("'socket'"), std::string::npos);
  EXPECT_NE(plan.warnings[3].find("'socket_group'"), std::string::npos);
  EXPECT_TRUE(plan.ports_to_add.empty());
  EXPECT_TRUE(plan.ports_to_delete.empty());
}

TEST(PlanReloadTest, WarnsThatTheMetricsEndpointNeedsARestart) {
  const Config old = MustParse(R"({"metrics": "127.0.0.1:9100"})");
  const Config next = MustParse(R"({"metrics": "127.0.0.1:9101"})");
  const auto exists = [](std::string_view) { return true; };
  ReloadPlan plan = PlanReload(old, next, Config{}, exists);
  ASSERT_EQ(plan.warnings.size(), 1u);
  EXPECT_NE(plan.warnings[0].find("'metrics' cannot change without a restart"), std::string::npos);
  EXPECT_TRUE(PlanReload(old, old, Config{}, exists).warnings.empty());
  Config command_line;
  command_line.metrics = MetricsAddress{"127.0.0.1", 9100};
  EXPECT_TRUE(PlanReload(old, next, command_line, exists).warnings.empty());
}

}  // namespace
}  // namespace switchd
