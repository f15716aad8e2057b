// Every control method against a real Datapath (with a recording sink) and a fake port backend
// that registers ports in it: params, results, sorting and error messages as
// docs/control-protocol.md states them.
#include "switchd/control/methods.h"

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "switchd/control/config.h"
#include "switchd/control/json_rpc.h"
#include "switchd/control/protocol.h"
#include "tests/helpers/frames.h"
#include "tests/helpers/recording_sink.h"

namespace switchd {
namespace {

using nlohmann::json;
using test::At;
using test::Ip;
using test::Mac;

// Registers ports in the datapath as the I/O layer does, and describes them from a map that tests
// may edit (a rename, a move to another namespace). `fail_with` makes AddPort fail.
class FakePortBackend : public PortBackend {
 public:
  explicit FakePortBackend(Datapath& datapath) : datapath_(datapath) {}

  Result<PortId> AddPort(std::string_view name, std::string_view kind, const PortOptions& options,
                         const LinkOptions& link) override {
    added.emplace_back(name);
    if (!fail_with.ok()) return fail_with;
    Result<PortId> id = datapath_.AddPort(name, options);
    if (id.ok()) {
      details[*id] = PortDetails{std::string(kind),
                                 std::string(name),
                                 100 + int(ToIndex(*id)),
                                 Mac(0x100 + ToIndex(*id)),
                                 true,
                                 link};
      links.push_back(link);
    }
    return id;
  }

  Status DelPort(PortId port) override {
    deleted.push_back(port);
    datapath_.RemovePort(port);
    details.erase(port);
    return Status::Ok();
  }

  PortDetails Describe(PortId port) const override {
    const auto it = details.find(port);
    return it == details.end() ? PortDetails{} : it->second;
  }

  std::map<PortId, PortDetails> details;
  std::vector<std::string> added;
  std::vector<LinkOptions> links;  // what each AddPort call was given
  std::vector<PortId> deleted;
  Status fail_with;

 private:
  Datapath& datapath_;
};

class MethodsTest : public ::testing::Test {
 protected:
  explicit MethodsTest(DatapathConfig config = {})
      : datapath_(sink_, config), backend_(datapath_), methods_(datapath_, backend_) {}

  // Adds a port through the backend, as add-port would, and returns its id.
  PortId AddPort(std::string_view name) {
    Result<PortId> id = backend_.AddPort(name, "tap", PortOptions{}, LinkOptions{});
    EXPECT_TRUE(id.ok()) << id.status().message();
    return id.ok() ? *id : kNoPort;
  }

  // Runs `method`; fails the test on an error and returns its result.
  json Ok(std::string_view method, const json& params = json::object(), Time now = At(1000)) {
    Result<json> result = methods_.Call(method, params, now);
    EXPECT_TRUE(result.ok()) << method << " " << params << ": " << result.status().message();
    return result.ok() ? *result : json();
  }

  // Runs `method`, expecting it to fail with `code`; returns the message.
  std::string Error(std::string_view method, const json& params, ErrorCode code) {
    Result<json> result = methods_.Call(method, params, At(1000));
    EXPECT_FALSE(result.ok()) << method << " " << params << " returned " << *result;
    if (result.ok()) return "";
    EXPECT_EQ(result.status().code(), code) << result.status().message();
    EXPECT_FALSE(result.status().message().empty());
    return result.status().message();
  }

  std::string InvalidParams(std::string_view method, const json& params) {
    return Error(method, params, ErrorCode::kInvalidArgument);
  }

  void Receive(PortId port, const test::Bytes& frame, Time now) {
    datapath_.Receive(port, frame, now);
  }
  // Teaches the MAC table that `mac` is on `port`.
  void Learn(PortId port, MacAddress mac, Time now) {
    Receive(port, test::MakeEthernet(MacAddress::Broadcast(), mac, kEtherTypeIpv4, {}, {}, 60),
            now);
  }

  test::RecordingSink sink_;
  Datapath datapath_;
  FakePortBackend backend_;
  ControlMethods methods_;
};

// ---- The table.

TEST_F(MethodsTest, TableHasEveryDocumentedMethod) {
  const std::vector<std::string> expected = {
      "show-ports",   "show-macs",   "show-arp",   "show-stats", "add-port",   "del-port",
      "set-port",     "add-mac",     "del-mac",    "flush-macs", "add-arp",    "del-arp",
      "set-aging",    "add-vxlan",   "add-remote", "del-remote", "add-mirror", "del-mirror",
      "show-mirrors", "show-config", "capture",    "monitor",    "version",    "help"};
  EXPECT_EQ(methods_.MethodNames(), expected);
  for (const std::string& name : expected) EXPECT_TRUE(methods_.HasMethod(name)) << name;
  EXPECT_FALSE(methods_.HasMethod("show-mac"));
  EXPECT_FALSE(methods_.HasMethod(""));
}

TEST_F(MethodsTest, CallingAnUnknownMethodIsABugNotACrash) {
  EXPECT_EQ(Error("show-mac", json::object(), ErrorCode::kInternal), "unknown method 'show-mac'");
}

TEST_F(MethodsTest, EveryMethodRejectsUnknownParameters) {
  for (const std::string& method : methods_.MethodNames()) {
    SCOPED_TRACE(method);
    const std::string message = InvalidParams(method, {{"bogus", 1}});
    EXPECT_EQ(message.rfind("unknown parameter 'bogus' for '" + method + "' (", 0), 0u) << message;
  }
  EXPECT_EQ(InvalidParams("add-mac", {{"mac", "02:00:00:00:00:01"}, {"prot", "tap0"}}),
            "unknown parameter 'prot' for 'add-mac' (expected mac, port, vlan)");
  EXPECT_EQ(InvalidParams("version", {{"verbose", true}}),
            "unknown parameter 'verbose' for 'version' (it takes none)");
}

TEST_F(MethodsTest, NullOrEmptyParamsAreAccepted) {
  EXPECT_EQ(Ok("show-ports", nullptr), json::array());
  EXPECT_EQ(Ok("show-ports", json::object()), json::array());
}

TEST_F(MethodsTest, NonObjectParamsAreRejected) {
  EXPECT_EQ(InvalidParams("show-ports", json::array({1})),
            "params must be an object (named parameters)");
  InvalidParams("show-ports", "tap0");
}

TEST_F(MethodsTest, MissingRequiredParameterIsNamed) {
  EXPECT_EQ(InvalidParams("add-mac", {{"port", "tap0"}}), "missing parameter 'mac' for 'add-mac'");
  EXPECT_EQ(InvalidParams("del-port", json::object()), "missing parameter 'name' for 'del-port'");
  EXPECT_EQ(InvalidParams("set-aging", {{"seconds", nullptr}}),
            "missing parameter 'seconds' for 'set-aging'");
}

TEST_F(MethodsTest, NullOptionalParameterCountsAsOmitted) {
  AddPort("tap0");
  Ok("add-mac", {{"mac", "02:00:00:00:00:01"}, {"port", "tap0"}, {"vlan", nullptr}});
  EXPECT_EQ(Ok("show-macs", {{"port", nullptr}, {"vlan", nullptr}}).size(), 1u);
}

// ---- Common parameter formats.

TEST_F(MethodsTest, BadMacAddressIsQuoted) {
  AddPort("tap0");
  EXPECT_EQ(InvalidParams("add-mac", {{"mac", "zz:00"}, {"port", "tap0"}}),
            "invalid MAC address 'zz:00' (expected aa:bb:cc:dd:ee:ff)");
  EXPECT_EQ(InvalidParams("del-mac", {{"mac", 12}}),
            "invalid MAC address 12 (expected aa:bb:cc:dd:ee:ff)");
  EXPECT_EQ(InvalidParams("del-mac", {{"mac", json::array({1, 2})}}),
            "invalid MAC address [...] (expected aa:bb:cc:dd:ee:ff)");
  for (const char* bad : {"", "02:00:00:00:00", "02:00:00:00:00:01:02", "02-00-00-00-00-01",
                          "0200.0000.0001", " 02:00:00:00:00:01", "02:00:00:00:00:0g"}) {
    InvalidParams("del-mac", {{"mac", bad}});
  }
}

TEST_F(MethodsTest, MacAddressAcceptsEitherCaseAndPrintsLowerCase) {
  AddPort("tap0");
  Ok("add-mac", {{"mac", "02:AB:cd:EF:00:01"}, {"port", "tap0"}});
  EXPECT_EQ(Ok("show-macs")[0].at("mac"), "02:ab:cd:ef:00:01");
}

TEST_F(MethodsTest, BadIpv4AddressIsQuoted) {
  EXPECT_EQ(InvalidParams("add-arp", {{"ip", "1.2.3"}, {"mac", "02:00:00:00:00:01"}}),
            "invalid IPv4 address '1.2.3' (expected a.b.c.d)");
  for (const json& bad : {json("256.0.0.1"), json("01.2.3.4"), json("1.2.3.4.5"), json(""),
                          json(16909060), json(nullptr)}) {
    if (bad.is_null()) continue;  // null is "omitted": tested as a missing parameter
    InvalidParams("del-arp", {{"ip", bad}});
  }
}

TEST_F(MethodsTest, VlanMustBeAnIntegerFrom1To4094) {
  AddPort("tap0");
  EXPECT_EQ(InvalidParams("show-macs", {{"vlan", 0}}),
            "invalid VLAN 0 (expected an integer 1..4094)");
  EXPECT_EQ(InvalidParams("show-macs", {{"vlan", "10"}}),
            "invalid VLAN '10' (expected an integer 1..4094)");
  for (const json& bad : {json(4095), json(-1), json(1.5), json(10.0), json(true), json(UINT64_MAX),
                          json(json::object())}) {
    InvalidParams("show-arp", {{"vlan", bad}});
  }
  Ok("show-macs", {{"vlan", 1}});
  Ok("show-macs", {{"vlan", 4094}});
}

TEST_F(MethodsTest, UnknownPortIsNotFound) {
  AddPort("tap0");
  EXPECT_EQ(
      Error("add-mac", {{"mac", "02:00:00:00:00:01"}, {"port", "tap9"}}, ErrorCode::kNotFound),
      "unknown port 'tap9'");
  EXPECT_EQ(Error("show-macs", {{"port", "TAP0"}}, ErrorCode::kNotFound), "unknown port 'TAP0'");
  EXPECT_EQ(InvalidParams("flush-macs", {{"port", 0}}), "invalid port name 0 (expected a string)");
}

// ---- show-ports.

TEST_F(MethodsTest, ShowPortsMergesDatapathAndBackend) {
  const PortId tap0 = AddPort("tap0");
  AddPort("tap1");
  Learn(tap0, Mac(1), At(10));
  Learn(tap0, Mac(2), At(10));
  datapath_.counters(tap0).tx_dropped = 4;

  const json ports = Ok("show-ports");
  ASSERT_EQ(ports.size(), 2u);
  EXPECT_EQ(ports[0], json({{"name", "tap0"},
                            {"index", 1},
                            {"kind", "tap"},
                            {"ifname", "tap0"},
                            {"netns", nullptr},
                            {"ifindex", 100},
                            {"mac", "02:00:00:00:01:00"},
                            {"up", true},
                            {"offload", false},
                            {"vlan_mode", "access"},
                            {"vlan", 1},
                            {"trunk", nullptr},
                            {"native", nullptr},
                            {"learning", true},
                            {"flood", true},
                            {"bcast_flood", true},
                            {"mcast_flood", true},
                            {"isolated", false},
                            {"mirror_destination", false},
                            {"rx_packets", 2},
                            {"rx_bytes", 120},
                            {"tx_packets", 0},
                            {"tx_bytes", 0},
                            {"drops", 4},
                            {"rx_dropped", 0},
                            {"tx_dropped", 4},
                            {"macs", 2},
                            {"max_macs", 0},
                            {"storm_limit", 0},
                            {"storm_dropped", 0},
                            {"unlearned", 0}}));
  EXPECT_EQ(ports[1].at("name"), "tap1");
  EXPECT_EQ(ports[1].at("index"), 2);
  EXPECT_EQ(ports[1].at("tx_packets"), 2);  // the two broadcasts were flooded to it
  EXPECT_EQ(ports[1].at("tx_bytes"), 120);
  EXPECT_EQ(ports[1].at("macs"), 0);
}

TEST_F(MethodsTest, ShowPortsReportsAPortMovedToAnotherNamespace) {
  const PortId tap0 = AddPort("tap0");
  backend_.details[tap0] = PortDetails{"tap", "eth0", std::nullopt, std::nullopt, false, {}};
  const json port = Ok("show-ports")[0];
  EXPECT_EQ(port.at("name"), "tap0");
  EXPECT_EQ(port.at("ifname"), "eth0");
  EXPECT_EQ(port.at("ifindex"), nullptr);
  EXPECT_EQ(port.at("mac"), nullptr);
  EXPECT_EQ(port.at("up"), false);
}

TEST_F(MethodsTest, ShowPortsIsOrderedByIndex) {
  AddPort("b");
  const PortId a = AddPort("a");
  AddPort("c");
  backend_.DelPort(a);
  AddPort("d");  // reuses the freed index 2
  const json ports = Ok("show-ports");
  ASSERT_EQ(ports.size(), 3u);
  EXPECT_EQ(ports[0].at("name"), "b");
  EXPECT_EQ(ports[1].at("name"), "d");
  EXPECT_EQ(ports[1].at("index"), 2);
  EXPECT_EQ(ports[2].at("name"), "c");
}

// ---- show-macs.

TEST_F(MethodsTest, ShowMacsListsEntriesSortedByPortVlanMac) {
  const PortId tap0 = AddPort("tap0");
  const PortId tap1 = AddPort("tap1");
  Learn(tap1, Mac(3), At(100));
  Learn(tap0, Mac(2), At(100));
  Ok("add-mac", {{"mac", "02:00:00:00:00:01"}, {"port", "tap1"}, {"vlan", 7}}, At(400));
  Learn(tap0, Mac(1), At(250));
  Ok("add-mac", {{"mac", "02:00:00:00:00:09"}, {"port", "tap0"}, {"vlan", 20}}, At(200));

  const json macs = Ok("show-macs", json::object(), At(310));
  const json expected = json::parse(R"([
    {"mac": "02:00:00:00:00:01", "port": "tap0", "vlan": 1, "type": "dynamic", "age": 60, "moves": 0},
    {"mac": "02:00:00:00:00:02", "port": "tap0", "vlan": 1, "type": "dynamic", "age": 210, "moves": 0},
    {"mac": "02:00:00:00:00:09", "port": "tap0", "vlan": 20, "type": "static", "age": 110, "moves": 0},
    {"mac": "02:00:00:00:00:03", "port": "tap1", "vlan": 1, "type": "dynamic", "age": 210, "moves": 0},
    {"mac": "02:00:00:00:00:01", "port": "tap1", "vlan": 7, "type": "static", "age": 0, "moves": 0}
  ])");
  EXPECT_EQ(macs, expected) << macs.dump(2);
}

TEST_F(MethodsTest, ShowMacsAgeIsWholeSeconds) {
  const PortId tap0 = AddPort("tap0");
  Learn(tap0, Mac(1), At(100));
  EXPECT_EQ(Ok("show-macs", json::object(), At(100) + std::chrono::milliseconds(1999))[0].at("age"),
            1);
  EXPECT_EQ(Ok("show-macs", json::object(), At(100) + std::chrono::milliseconds(999))[0].at("age"),
            0);
}

TEST_F(MethodsTest, ShowMacsFiltersByPortAndVlan) {
  const PortId tap0 = AddPort("tap0");
  const PortId tap1 = AddPort("tap1");
  Learn(tap0, Mac(1), At(100));
  Learn(tap1, Mac(2), At(100));
  Ok("add-mac", {{"mac", "02:00:00:00:00:03"}, {"port", "tap1"}, {"vlan", 5}});

  const json on_tap1 = Ok("show-macs", {{"port", "tap1"}});
  ASSERT_EQ(on_tap1.size(), 2u);
  EXPECT_EQ(on_tap1[0].at("mac"), "02:00:00:00:00:02");
  const json in_vlan5 = Ok("show-macs", {{"vlan", 5}});
  ASSERT_EQ(in_vlan5.size(), 1u);
  EXPECT_EQ(in_vlan5[0].at("mac"), "02:00:00:00:00:03");
  EXPECT_EQ(Ok("show-macs", {{"port", "tap0"}, {"vlan", 5}}), json::array());
}

// ---- show-arp.

TEST_F(MethodsTest, ShowArpListsBindingsSortedByVlanIpWithTheirPort) {
  const PortId tap0 = AddPort("tap0");
  AddPort("tap1");
  Receive(tap0, test::MakeArpRequest(Mac(1), Ip("198.18.0.10"), Ip("198.18.0.1")), At(100));
  Receive(tap0, test::MakeArpRequest(Mac(2), Ip("198.18.0.2"), Ip("198.18.0.1")), At(150));
  Ok("add-arp", {{"ip", "198.18.0.1"}, {"mac", "02:00:00:00:00:07"}, {"vlan", 3}}, At(120));
  Ok("add-arp", {{"ip", "198.18.0.5"}, {"mac", "02:00:00:00:00:02"}}, At(120));

  const json arp = Ok("show-arp", json::object(), At(200));
  const json expected = json::parse(R"([
    {"ip": "198.18.0.2", "mac": "02:00:00:00:00:02", "port": "tap0", "vlan": 1, "type": "dynamic", "age": 50},
    {"ip": "198.18.0.5", "mac": "02:00:00:00:00:02", "port": "tap0", "vlan": 1, "type": "static", "age": 80},
    {"ip": "198.18.0.10", "mac": "02:00:00:00:00:01", "port": "tap0", "vlan": 1, "type": "dynamic", "age": 100},
    {"ip": "198.18.0.1", "mac": "02:00:00:00:00:07", "port": null, "vlan": 3, "type": "static", "age": 80}
  ])");
  EXPECT_EQ(arp, expected) << arp.dump(2);
  EXPECT_EQ(Ok("show-arp", {{"vlan", 3}}).size(), 1u);
  EXPECT_EQ(Ok("show-arp", {{"vlan", 2}}), json::array());
}

TEST_F(MethodsTest, ShowArpPortIsNullOnceTheMacLeavesTheTable) {
  const PortId tap0 = AddPort("tap0");
  Receive(tap0, test::MakeArpRequest(Mac(1), Ip("198.18.0.10"), Ip("198.18.0.1")), At(100));
  Ok("add-arp", {{"ip", "198.18.0.10"}, {"mac", "02:00:00:00:00:01"}});  // survives the flush
  Ok("flush-macs");
  EXPECT_EQ(Ok("show-arp")[0].at("port"), nullptr);
}

// ---- show-stats.

TEST_F(MethodsTest, ShowStatsReportsTablesFramesAgingAndPorts) {
  const PortId tap0 = AddPort("tap0");
  AddPort("tap1");
  Learn(tap0, Mac(1), At(100));
  Receive(tap0, test::Hex("01 02"), At(100));  // a runt
  Receive(tap0, test::MakeArpRequest(Mac(1), Ip("198.18.0.10"), Ip("198.18.0.1")), At(100));
  Ok("add-mac", {{"mac", "02:00:00:00:00:05"}, {"port", "tap1"}});

  const json stats = Ok("show-stats");
  EXPECT_EQ(stats.at("macs"), json({{"current", 2},
                                    {"max", 8192},
                                    {"static", 1},
                                    {"learned", 1},
                                    {"moved", 0},
                                    {"expired", 0},
                                    {"evicted", 0},
                                    {"not_learned", 0},
                                    {"move_damped", 0},
                                    {"port_limited", 0}}));
  EXPECT_EQ(stats.at("arp"), json({{"current", 1},
                                   {"max", 8192},
                                   {"static", 0},
                                   {"learned", 1},
                                   {"changed", 0},
                                   {"expired", 0},
                                   {"evicted", 0},
                                   {"not_learned", 0},
                                   {"answered", 0},
                                   {"flooded", 1}}));
  const json& frames = stats.at("frames");
  EXPECT_EQ(frames.at("malformed"), 1);
  EXPECT_EQ(frames.at("flooded"), 2);
  for (const char* key : {"malformed", "vlan_dropped", "local_dropped", "unicast_forwarded",
                          "flooded", "unknown_unicast", "storm_dropped"}) {
    EXPECT_TRUE(frames.contains(key)) << key;
  }
  EXPECT_EQ(stats.at("aging"), 300);
  EXPECT_EQ(stats.at("ports"), 2);
}

TEST_F(MethodsTest, ShowStatsCountsFramesInAndOutAndDropsByReason) {
  const PortId tap0 = AddPort("tap0");
  const PortId tap1 = AddPort("tap1");
  const PortId tap2 = AddPort("tap2");
  Learn(tap0, Mac(1), At(100));  // flooded to tap1 and tap2: 2 out
  Learn(tap1, Mac(2), At(100));  // flooded to tap0 and tap2: 2 out
  const test::Bytes unicast = test::MakeEthernet(Mac(2), Mac(1), kEtherTypeIpv4, {}, {}, 60);
  Receive(tap0, unicast, At(101));             // known unicast to tap1: 1 out
  Receive(tap1, test::Hex("01 02"), At(101));  // malformed
  Receive(tap0, test::MakeEthernet(Mac(1), Mac(3), kEtherTypeIpv4, {}, {}, 60),
          At(101));  // to a MAC learned on tap0 itself: local drop
  sink_.FailPort(tap2);
  Learn(tap2, Mac(4), At(102));  // flooded to tap0 and tap1: 2 out
  Receive(tap0, test::MakeEthernet(MacAddress::Broadcast(), Mac(1), kEtherTypeIpv4, {}, {}, 60),
          At(102));  // to tap1, and refused by tap2: tx failed

  const json frames = Ok("show-stats").at("frames");
  EXPECT_EQ(frames.at("rx_packets"), 7);
  EXPECT_EQ(frames.at("tx_packets"), 8);
  EXPECT_EQ(frames.at("rx_bytes"), 6 * 60 + 2);
  EXPECT_EQ(frames.at("tx_bytes"), 8 * 60);
  EXPECT_EQ(frames.at("malformed"), 1);
  EXPECT_EQ(frames.at("local_dropped"), 1);
  EXPECT_EQ(frames.at("tx_failed"), 1);
  EXPECT_EQ(frames.at("rx_dropped"), 1);
  EXPECT_EQ(frames.at("tx_dropped"), 1);
  EXPECT_EQ(frames.at("dropped"), 3);

  // The totals add up show-ports' counters, and keep a removed port's.
  int64_t rx = 0;
  int64_t tx = 0;
  for (const json& port : Ok("show-ports")) {
    rx += port.at("rx_packets").get<int64_t>();
    tx += port.at("tx_packets").get<int64_t>();
  }
  EXPECT_EQ(rx, 7);
  EXPECT_EQ(tx, 8);
  Ok("del-port", {{"name", "tap0"}});
  const json after = Ok("show-stats").at("frames");
  EXPECT_EQ(after.at("rx_packets"), 7);
  EXPECT_EQ(after.at("tx_packets"), 8);
  EXPECT_EQ(after.at("dropped"), 3);
}

// ---- add-port and del-port.

TEST_F(MethodsTest, AddPortCreatesThePortAndReturnsItsObject) {
  const json port = Ok("add-port", {{"name", "tap0"}});
  EXPECT_EQ(backend_.added, std::vector<std::string>{"tap0"});
  EXPECT_EQ(port.at("name"), "tap0");
  EXPECT_EQ(port.at("index"), 1);
  EXPECT_EQ(port.at("kind"), "tap");
  EXPECT_EQ(port, Ok("show-ports")[0]);
  Ok("add-port", {{"name", "tap1"}, {"kind", "tap"}});
  EXPECT_EQ(Ok("show-ports").size(), 2u);
}

TEST_F(MethodsTest, AddPortRefusesAnExistingName) {
  AddPort("tap0");
  EXPECT_EQ(Error("add-port", {{"name", "tap0"}}, ErrorCode::kAlreadyExists),
            "port 'tap0' already exists");
  EXPECT_EQ(backend_.added.size(), 1u);
}

TEST_F(MethodsTest, AddPortValidatesTheName) {
  const std::string kExpected =
      " (expected 1-15 characters, no '/', ':', '%' or whitespace, not '.' or '..')";
  EXPECT_EQ(InvalidParams("add-port", {{"name", "a/b"}}), "invalid port name 'a/b'" + kExpected);
  for (const json& bad :
       {json(""), json("abcdefghijklmnop"), json("tap:0"), json("tap 0"), json("tap\t0"),
        json("tap\n"), json("."), json(".."), json("tap%d"), json(5)}) {
    SCOPED_TRACE(bad.dump());
    InvalidParams("add-port", {{"name", bad}});
  }
  EXPECT_TRUE(backend_.added.empty());
  Ok("add-port", {{"name", "abcdefghijklmno"}});  // 15 characters
  Ok("add-port", {{"name", "..."}});
}

TEST_F(MethodsTest, SetPortChangesTheMacLimitAndStormLimit) {
  const PortId tap0 = AddPort("tap0");
  const json port = Ok("set-port", {{"port", "tap0"}, {"max_macs", 100}});
  EXPECT_EQ(port.at("max_macs"), 100);
  EXPECT_EQ(port.at("storm_limit"), 0);
  EXPECT_EQ(datapath_.mac_table().PortLimit(tap0), 100u);
  // Settings not given keep their value.
  EXPECT_EQ(Ok("set-port", {{"port", "tap0"}, {"storm_limit", 500}}).at("max_macs"), 100);
  EXPECT_EQ(datapath_.port_settings(tap0).storm_limit, 500u);
  EXPECT_EQ(Ok("show-ports")[0].at("storm_limit"), 500);
  EXPECT_EQ(Ok("set-port", {{"port", "tap0"}, {"max_macs", 0}, {"storm_limit", 0}}).at("max_macs"),
            0);
}

TEST_F(MethodsTest, SetPortRefusesBadSettings) {
  AddPort("tap0");
  EXPECT_EQ(InvalidParams("set-port", {{"port", "tap0"}}),
            "set-port needs a setting to change (max_macs, storm_limit, access, trunk, native, "
            "learning, flood, bcast_flood, mcast_flood, isolated)");
  EXPECT_EQ(InvalidParams("set-port", {{"port", "tap0"}, {"max_macs", -1}}),
            "invalid MAC limit -1 (expected an integer 0..16777216, 0 for none)");
  EXPECT_EQ(InvalidParams("set-port", {{"port", "tap0"}, {"storm_limit", "lots"}}),
            "invalid storm limit 'lots' (expected frames per second 0..100000000, 0 for off)");
  EXPECT_EQ(Error("set-port", {{"port", "tap9"}, {"max_macs", 1}}, ErrorCode::kNotFound),
            "unknown port 'tap9'");
}

TEST_F(MethodsTest, AddPortTurnsOffloadsOnUnlessAskedNotTo) {
  EXPECT_EQ(Ok("add-port", {{"name", "tap0"}}).at("offload"), true);
  EXPECT_EQ(Ok("add-port", {{"name", "tap1"}, {"offload", false}}).at("offload"), false);
  EXPECT_EQ(InvalidParams("add-port", {{"name", "tap2"}, {"offload", "no"}}),
            "invalid offload setting 'no' (expected true or false)");
}

TEST_F(MethodsTest, AddPortListsValidKinds) {
  EXPECT_EQ(InvalidParams("add-port", {{"name", "br0"}, {"kind", "bridge"}}),
            "unsupported port kind 'bridge' (valid kinds: tap, vm, attach, vxlan)");
  InvalidParams("add-port", {{"name", "vm0"}, {"kind", 1}});
  EXPECT_TRUE(backend_.added.empty());
  EXPECT_EQ(Ok("add-port", {{"name", "vm0"}, {"kind", "vm"}}).at("kind"), "vm");
  EXPECT_EQ(Ok("add-port", {{"name", "veth1"}, {"kind", "attach"}}).at("kind"), "attach");
}

TEST_F(MethodsTest, AddPortPassesInterfaceOptionsToTheBackend) {
  const json port = Ok("add-port", {{"name", "h1"},
                                    {"netns", "lab-h1"},
                                    {"create_netns", true},
                                    {"address", "198.18.0.1/24"},
                                    {"mtu", 9000},
                                    {"mac", "02:AA:00:00:00:01"}});
  EXPECT_EQ(port.at("netns"), "lab-h1");
  ASSERT_EQ(backend_.links.size(), 1u);
  const LinkOptions& link = backend_.links[0];
  EXPECT_EQ(link.netns, "lab-h1");
  EXPECT_TRUE(link.create_netns);
  EXPECT_EQ(link.address, "198.18.0.1/24");
  EXPECT_EQ(link.mtu, 9000u);
  EXPECT_EQ(link.mac, MacAddress::Parse("02:aa:00:00:00:01"));
}

TEST_F(MethodsTest, AddPortWritesAddressesTheWayTheKernelDoes) {
  Ok("add-port", {{"name", "h1"}, {"address", "2001:DB8:0:0::1/64"}});
  Ok("add-port", {{"name", "h2"}, {"address", "198.18.0.2/32"}});
  ASSERT_EQ(backend_.links.size(), 2u);
  EXPECT_EQ(backend_.links[0].address, "2001:db8::1/64");
  EXPECT_EQ(backend_.links[1].address, "198.18.0.2/32");
}

TEST_F(MethodsTest, AddPortRefusesBadInterfaceOptions) {
  EXPECT_EQ(InvalidParams("add-port", {{"name", "h1"}, {"address", "198.18.0.1/33"}}),
            "invalid address '198.18.0.1/33' (expected ADDRESS/PREFIX, e.g. 198.18.0.1/24)");
  InvalidParams("add-port", {{"name", "h1"}, {"address", "198.18.0.1/"}});
  InvalidParams("add-port", {{"name", "h1"}, {"address", "198.18.0/24"}});
  InvalidParams("add-port", {{"name", "h1"}, {"address", "198.18.0.1/2x"}});
  InvalidParams("add-port", {{"name", "h1"}, {"address", "::1/129"}});
  EXPECT_EQ(InvalidParams("add-port", {{"name", "h1"}, {"mtu", 67}}),
            "invalid MTU 67 (expected an integer 68..65535)");
  InvalidParams("add-port", {{"name", "h1"}, {"mtu", 65536}});
  InvalidParams("add-port", {{"name", "h1"}, {"mtu", "1500"}});
  EXPECT_EQ(InvalidParams("add-port", {{"name", "h1"}, {"mac", "01:00:5e:00:00:01"}}),
            "multicast MAC address '01:00:5e:00:00:01' cannot be added (expected a unicast "
            "address)");
  EXPECT_EQ(InvalidParams("add-port", {{"name", "h1"}, {"netns", ".."}}),
            "invalid network namespace name '..' (expected 1-255 characters, no '/', not . or ..)");
  InvalidParams("add-port", {{"name", "h1"}, {"netns", ""}});
  InvalidParams("add-port", {{"name", "h1"}, {"create_netns", "yes"}, {"netns", "x"}});
  EXPECT_EQ(InvalidParams("add-port", {{"name", "h1"}, {"create_netns", true}}),
            "create_netns needs netns (the namespace to create)");
  EXPECT_EQ(InvalidParams("add-port", {{"name", "vm0"}, {"kind", "vm"}, {"netns", "lab"}}),
            "netns applies to tap ports only (a vm port's interface stays where it is: its far "
            "side is the hypervisor's)");
  EXPECT_EQ(
      InvalidParams("add-port", {{"name", "v1"}, {"kind", "attach"}, {"address", "198.18.0.1/24"}}),
      "address applies to tap ports only (an attach port's interface stays where it is: it is "
      "someone else's)");
  InvalidParams("add-port", {{"name", "vm0"}, {"kind", "vm"}, {"offload", false}});
  EXPECT_TRUE(backend_.added.empty());
}

// ---- VLANs, port controls and mirrors.

TEST_F(MethodsTest, SetPortMakesAccessPortsAndTrunks) {
  AddPort("tap0");
  json port = Ok("set-port", {{"port", "tap0"}, {"access", 10}});
  EXPECT_EQ(port.at("vlan_mode"), "access");
  EXPECT_EQ(port.at("vlan"), 10);
  EXPECT_EQ(port.at("trunk"), nullptr);
  port = Ok("set-port", {{"port", "tap0"}, {"trunk", "30-32,10"}, {"native", 5}});
  EXPECT_EQ(port.at("vlan_mode"), "trunk");
  EXPECT_EQ(port.at("vlan"), nullptr);
  EXPECT_EQ(port.at("trunk"), "10,30-32");
  EXPECT_EQ(port.at("native"), 5);
  // native alone changes a trunk's native VLAN; trunk alone drops it.
  EXPECT_EQ(Ok("set-port", {{"port", "tap0"}, {"native", 6}}).at("native"), 6);
  EXPECT_EQ(Ok("set-port", {{"port", "tap0"}, {"trunk", json::array({20, 21})}}).at("native"),
            nullptr);
  EXPECT_EQ(datapath_.port_settings(*datapath_.FindPort("tap0")).vlan,
            PortVlan::Trunk(*VlanSet::Parse("20-21")));
}

TEST_F(MethodsTest, SetPortRefusesBadVlanSettings) {
  AddPort("tap0");
  EXPECT_EQ(InvalidParams("set-port", {{"port", "tap0"}, {"access", 4095}}),
            "invalid access VLAN 4095 (expected an integer 1..4094)");
  EXPECT_EQ(InvalidParams("set-port", {{"port", "tap0"}, {"trunk", "10-"}}),
            "invalid VLAN list '10-' (expected VLANs 1..4094 like \"10,20,30-40\")");
  InvalidParams("set-port", {{"port", "tap0"}, {"trunk", json::array()}});
  InvalidParams("set-port", {{"port", "tap0"}, {"trunk", json::array({0})}});
  EXPECT_EQ(InvalidParams("set-port", {{"port", "tap0"}, {"access", 10}, {"trunk", "20"}}),
            "access and trunk exclude each other (a port is an access port or a trunk)");
  EXPECT_EQ(InvalidParams("set-port", {{"port", "tap0"}, {"native", 5}}),
            "native applies to trunk ports (set-port PORT trunk VLANS native VLAN)");
  EXPECT_EQ(InvalidParams("set-port", {{"port", "tap0"}, {"isolated", "yes"}}),
            "invalid isolated setting 'yes' (expected true or false)");
  EXPECT_EQ(Ok("show-ports")[0].at("vlan"), 1) << "a refused change changes nothing";
}

TEST_F(MethodsTest, SetPortSwitchesTheControlsAndShowPortsReportsThem) {
  AddPort("tap0");
  const json port = Ok("set-port", {{"port", "tap0"},
                                    {"learning", false},
                                    {"flood", false},
                                    {"bcast_flood", false},
                                    {"mcast_flood", false},
                                    {"isolated", true}});
  for (const char* key : {"learning", "flood", "bcast_flood", "mcast_flood"}) {
    EXPECT_EQ(port.at(key), false) << key;
  }
  EXPECT_EQ(port.at("isolated"), true);
  const PortSettings& settings = datapath_.port_settings(*datapath_.FindPort("tap0"));
  EXPECT_FALSE(settings.learning || settings.flood || settings.bcast_flood || settings.mcast_flood);
  EXPECT_TRUE(settings.isolated);
  EXPECT_EQ(Ok("set-port", {{"port", "tap0"}, {"flood", true}}).at("flood"), true);
}

TEST_F(MethodsTest, MirrorsAreAddedListedAndDeleted) {
  AddPort("tap0");
  AddPort("tap1");
  AddPort("span");
  EXPECT_EQ(Ok("add-mirror", {{"name", "m1"}, {"source", "tap0"}, {"destination", "span"}}),
            json::parse(R"({"name": "m1", "source": "tap0", "destination": "span",
                            "direction": "both", "frames": 0})"));
  Ok("add-mirror",
     {{"name", "m2"}, {"source", "tap1"}, {"destination", "span"}, {"direction", "rx"}});
  EXPECT_EQ(Ok("show-mirrors").size(), 2u);
  EXPECT_EQ(Ok("show-ports")[2].at("mirror_destination"), true);
  EXPECT_EQ(Error("add-mirror", {{"name", "m1"}, {"source", "tap1"}, {"destination", "span"}},
                  ErrorCode::kAlreadyExists),
            "mirror 'm1' already exists");
  EXPECT_EQ(
      InvalidParams("add-mirror", {{"name", "m3"}, {"source", "tap0"}, {"destination", "tap0"}}),
      "a port cannot mirror to itself");
  EXPECT_EQ(InvalidParams(
                "add-mirror",
                {{"name", "m3"}, {"source", "tap0"}, {"destination", "span"}, {"direction", "up"}}),
            "invalid mirror direction 'up' (expected rx, tx or both)");
  EXPECT_EQ(Error("add-mirror", {{"name", "m3"}, {"source", "tap0"}, {"destination", "nope"}},
                  ErrorCode::kNotFound),
            "unknown port 'nope'");
  Ok("del-mirror", {{"name", "m1"}});
  EXPECT_EQ(Error("del-mirror", {{"name", "m1"}}, ErrorCode::kNotFound), "unknown mirror 'm1'");
  EXPECT_EQ(Ok("show-mirrors"), json::parse(R"([{"name": "m2", "source": "tap1",
      "destination": "span", "direction": "rx", "frames": 0}])"));
}

TEST_F(MethodsTest, ShowConfigKeepsVlansControlsAndMirrors) {
  AddPort("a");
  AddPort("t");
  AddPort("span");
  Ok("set-port", {{"port", "a"}, {"access", 10}, {"isolated", true}, {"learning", false}});
  Ok("set-port", {{"port", "t"}, {"trunk", "10,20"}, {"native", 1}});
  Ok("add-mirror", {{"name", "m"}, {"source", "a"}, {"destination", "span"}, {"direction", "tx"}});
  const json config = Ok("show-config");
  EXPECT_EQ(config.at("ports")[0], json::parse(R"({"name": "a", "kind": "tap", "offload": false,
      "access": 10, "isolated": true, "learning": false})"));
  EXPECT_EQ(config.at("ports")[1],
            json::parse(R"({"name": "t", "kind": "tap", "offload": false, "trunk": "10,20",
                                        "native": 1})"));
  EXPECT_EQ(config.at("mirrors"), json::parse(R"([{"name": "m", "source": "a",
      "destination": "span", "direction": "tx"}])"));
  Result<Config> parsed = ParseConfig(config);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_TRUE(ValidateConfig(*parsed, {}, 8192).ok());
}

// ---- VXLAN ports.

TEST_F(MethodsTest, AddVxlanMakesAVxlanPortWithItsTunnel) {
  const json port = Ok("add-vxlan", {{"name", "vx0"},
                                     {"vni", 42},
                                     {"local", "198.19.0.1"},
                                     {"remotes", {"198.19.0.2", "198.19.0.3", "198.19.0.2"}}});
  EXPECT_EQ(port.at("kind"), "vxlan");
  ASSERT_EQ(backend_.links.size(), 1u);
  const std::optional<VxlanOptions>& vxlan = backend_.links[0].vxlan;
  ASSERT_TRUE(vxlan);
  EXPECT_EQ(vxlan->vni, 42u);
  EXPECT_EQ(vxlan->local, Ip("198.19.0.1"));
  EXPECT_EQ(vxlan->dstport, 4789);
  EXPECT_EQ(vxlan->remotes, (std::vector<Ipv4Address>{Ip("198.19.0.2"), Ip("198.19.0.3")}));
  EXPECT_EQ(port.at("vxlan"), json::parse(R"({"vni": 42, "local": "198.19.0.1", "dstport": 4789,
      "remotes": ["198.19.0.2", "198.19.0.3"], "learn_remotes": false})"));
  // The same port as a config file holds it: add-port with kind vxlan.
  EXPECT_EQ(Ok("show-config").at("ports")[0],
            json::parse(R"({"name": "vx0", "kind": "vxlan", "vni": 42, "local": "198.19.0.1",
                            "remotes": ["198.19.0.2", "198.19.0.3"]})"));
  Result<Config> config = ParseConfig(Ok("show-config"));
  ASSERT_TRUE(config.ok());
  EXPECT_TRUE(ValidateConfig(*config, {}, 8192).ok()) << "the saved vxlan port comes back";
}

TEST_F(MethodsTest, VxlanParamsAreCheckedAndBelongToVxlanPortsOnly) {
  EXPECT_EQ(InvalidParams("add-vxlan", {{"name", "vx0"}, {"vni", 0}, {"local", "198.19.0.1"}}),
            "invalid VNI 0 (expected an integer 1..16777215)");
  InvalidParams("add-vxlan", {{"name", "vx0"}, {"vni", 16777216}, {"local", "198.19.0.1"}});
  EXPECT_EQ(InvalidParams("add-vxlan", {{"name", "vx0"}, {"vni", 1}, {"local", "0.0.0.0"}}),
            "invalid local address '0.0.0.0' (expected the unicast IPv4 address of this host)");
  InvalidParams("add-vxlan", {{"name", "vx0"}, {"vni", 1}, {"local", "224.0.0.1"}});
  for (const char* bad : {"255.255.255.255", "239.1.1.1", "0.0.0.0"}) {
    EXPECT_EQ(
        InvalidParams("add-vxlan", {{"name", "vx0"},
                                    {"vni", 1},
                                    {"local", "198.19.0.1"},
                                    {"remotes", {"198.19.0.2", bad}}}),
        "invalid remote '" + std::string(bad) + "' (expected the unicast IPv4 address of a VTEP)");
  }
  EXPECT_EQ(
      InvalidParams(
          "add-vxlan",
          {{"name", "vx0"}, {"vni", 1}, {"local", "198.19.0.1"}, {"remotes", {"198.19.0.1"}}}),
      "remote 198.19.0.1 is the port's own local address");
  EXPECT_EQ(
      InvalidParams("add-vxlan",
                    {{"name", "vx0"}, {"vni", 1}, {"local", "198.19.0.1"}, {"remotes", {"x"}}}),
      "invalid remote 'x' (expected the unicast IPv4 address of a VTEP)");
  EXPECT_EQ(InvalidParams("add-vxlan",
                          {{"name", "vx0"}, {"vni", 1}, {"local", "198.19.0.1"}, {"remotes", 7}}),
            "invalid remotes 7 (expected a list of IPv4 addresses)");
  InvalidParams("add-vxlan",
                {{"name", "vx0"}, {"vni", 1}, {"local", "198.19.0.1"}, {"dstport", 0}});
  EXPECT_EQ(InvalidParams("add-vxlan", {{"name", "vx0"}, {"vni", 1}}),
            "missing parameter 'local' for 'add-vxlan'");
  EXPECT_EQ(InvalidParams("add-port", {{"name", "vx0"}, {"kind", "vxlan"}}),
            "a vxlan port needs vni and local (add-vxlan NAME --vni N --local IP --remote IP)");
  EXPECT_EQ(InvalidParams("add-port", {{"name", "t0"}, {"vni", 5}}),
            "vni, local, remotes, dstport and learn_remotes apply to vxlan ports only (add-vxlan)");
  EXPECT_TRUE(backend_.added.empty());
}

TEST_F(MethodsTest, RemotesAreAddedAndRemovedThroughTheBackend) {
  AddPort("tap0");
  // The fake backend has no tunnels: its refusal comes back as it is.
  EXPECT_EQ(Error("add-remote", {{"port", "tap0"}, {"ip", "198.19.0.9"}}, ErrorCode::kNotFound),
            "not a VXLAN port");
  EXPECT_EQ(Error("del-remote", {{"port", "tap0"}, {"ip", "198.19.0.9"}}, ErrorCode::kNotFound),
            "not a VXLAN port");
  InvalidParams("add-remote", {{"port", "tap0"}, {"ip", "198.19.0"}});
}

// ---- show-config.

TEST_F(MethodsTest, ShowConfigHoldsWhatWasConfiguredAndNothingLearned) {
  Ok("add-port", {{"name", "h1"},
                  {"netns", "lab-h1"},
                  {"create_netns", true},
                  {"address", "198.18.0.1/24"},
                  {"mtu", 1400}});
  Ok("add-port", {{"name", "vm0"}, {"kind", "vm"}});
  Ok("add-port", {{"name", "t2"}, {"offload", false}});
  Ok("set-port", {{"port", "t2"}, {"max_macs", 10}, {"storm_limit", 500}});
  Ok("add-mac", {{"mac", "02:00:00:00:00:01"}, {"port", "h1"}});
  Ok("add-arp", {{"ip", "198.18.0.9"}, {"mac", "02:00:00:00:00:09"}, {"vlan", 1}});
  Ok("set-aging", {{"seconds", 60}});
  Learn(*datapath_.FindPort("vm0"), Mac(7), At(10));  // learned: not configuration

  const json config = Ok("show-config");
  EXPECT_EQ(config, json::parse(R"({
    "max_macs": 8192, "aging": 60,
    "ports": [
      {"name": "h1", "kind": "tap", "netns": "lab-h1", "create_netns": true,
       "address": "198.18.0.1/24", "mtu": 1400},
      {"name": "vm0", "kind": "vm"},
      {"name": "t2", "kind": "tap", "offload": false, "max_macs": 10, "storm_limit": 500}],
    "macs": [{"mac": "02:00:00:00:00:01", "port": "h1", "vlan": 1}],
    "arp": [{"ip": "198.18.0.9", "mac": "02:00:00:00:00:09", "vlan": 1}],
    "mirrors": []})"));
}

TEST_F(MethodsTest, ShowConfigParsesBackAsTheSameConfiguration) {
  Ok("add-port", {{"name", "h1"},
                  {"netns", "lab-h1"},
                  {"address", "198.18.0.1/24"},
                  {"mac", "02:00:00:00:00:aa"}});
  Ok("set-port", {{"port", "h1"}, {"max_macs", 5}});
  Ok("add-mac", {{"mac", "02:00:00:00:00:01"}, {"port", "h1"}, {"vlan", 7}});
  const json saved = Ok("show-config");
  Result<Config> config = ParseConfig(saved);
  ASSERT_TRUE(config.ok()) << config.status().message();
  ASSERT_EQ(config->ports.size(), 1u);
  EXPECT_EQ(AddPortParams(config->ports[0]),
            json::parse(R"({"name": "h1", "kind": "tap", "offload": true, "netns": "lab-h1",
                            "address": "198.18.0.1/24", "mac": "02:00:00:00:00:aa"})"));
  EXPECT_EQ(SetPortParams(config->ports[0]), json::parse(R"({"port": "h1", "max_macs": 5})"));
  EXPECT_TRUE(ValidateConfig(*config, {}, 8192).ok());
}

TEST_F(MethodsTest, AddPortPassesOnTheBackendsError) {
  backend_.fail_with = Status::System("cannot create TAP 'tap0': Device or resource busy");
  EXPECT_EQ(Error("add-port", {{"name", "tap0"}}, ErrorCode::kSystem),
            "cannot create TAP 'tap0': Device or resource busy");
  EXPECT_EQ(Ok("show-ports"), json::array());
}

TEST_F(MethodsTest, DelPortRemovesThePortAndItsEntries) {
  const PortId tap0 = AddPort("tap0");
  AddPort("tap1");
  Learn(tap0, Mac(1), At(100));
  Ok("add-mac", {{"mac", "02:00:00:00:00:02"}, {"port", "tap0"}});
  EXPECT_EQ(Ok("del-port", {{"name", "tap0"}}), json::object());
  EXPECT_EQ(backend_.deleted, std::vector<PortId>{tap0});
  const json ports = Ok("show-ports");
  ASSERT_EQ(ports.size(), 1u);
  EXPECT_EQ(ports[0].at("name"), "tap1");
  EXPECT_EQ(Ok("show-macs"), json::array());
}

TEST_F(MethodsTest, DelPortOfUnknownPortIsNotFound) {
  EXPECT_EQ(Error("del-port", {{"name", "tap9"}}, ErrorCode::kNotFound), "unknown port 'tap9'");
  EXPECT_TRUE(backend_.deleted.empty());
}

// ---- add-mac, del-mac, flush-macs.

TEST_F(MethodsTest, AddMacAddsAStaticEntryInVlan1ByDefault) {
  AddPort("tap0");
  const PortId tap1 = AddPort("tap1");
  EXPECT_EQ(Ok("add-mac", {{"mac", "02:00:00:00:00:01"}, {"port", "tap1"}}), json::object());
  const std::optional<MacEntry> entry = datapath_.mac_table().Find(Mac(1), 1);
  ASSERT_TRUE(entry);
  EXPECT_TRUE(entry->is_static);
  EXPECT_EQ(entry->port, tap1);
}

TEST_F(MethodsTest, AddMacReplacesAnEntry) {
  const PortId tap0 = AddPort("tap0");
  const PortId tap1 = AddPort("tap1");
  Learn(tap0, Mac(1), At(100));
  Ok("add-mac", {{"mac", "02:00:00:00:00:01"}, {"port", "tap1"}});
  EXPECT_EQ(datapath_.mac_table().Lookup(Mac(1), 1), tap1);
  Ok("add-mac", {{"mac", "02:00:00:00:00:01"}, {"port", "tap0"}});
  EXPECT_EQ(datapath_.mac_table().Lookup(Mac(1), 1), tap0);
  EXPECT_EQ(Ok("show-macs").size(), 1u);
}

TEST_F(MethodsTest, AddMacRefusesMulticastAddresses) {
  AddPort("tap0");
  EXPECT_EQ(InvalidParams("add-mac", {{"mac", "01:00:5E:00:00:01"}, {"port", "tap0"}}),
            "multicast MAC address '01:00:5e:00:00:01' cannot be added (expected a unicast "
            "address)");
  InvalidParams("add-mac", {{"mac", "ff:ff:ff:ff:ff:ff"}, {"port", "tap0"}});
  InvalidParams("add-mac", {{"mac", "33:33:00:00:00:01"}, {"port", "tap0"}});
}

TEST_F(MethodsTest, DelMacInOneVlanOrAll) {
  AddPort("tap0");
  for (int vlan : {1, 2, 3}) {
    Ok("add-mac", {{"mac", "02:00:00:00:00:01"}, {"port", "tap0"}, {"vlan", vlan}});
  }
  EXPECT_EQ(Ok("del-mac", {{"mac", "02:00:00:00:00:01"}, {"vlan", 2}}), json({{"removed", 1}}));
  EXPECT_EQ(Ok("del-mac", {{"mac", "02:00:00:00:00:01"}}), json({{"removed", 2}}));
  EXPECT_EQ(Ok("show-macs"), json::array());
}

TEST_F(MethodsTest, DelMacOfMissingEntryIsNotFound) {
  AddPort("tap0");
  Ok("add-mac", {{"mac", "02:00:00:00:00:01"}, {"port", "tap0"}});
  EXPECT_EQ(Error("del-mac", {{"mac", "02:00:00:00:00:01"}, {"vlan", 9}}, ErrorCode::kNotFound),
            "no MAC entry for '02:00:00:00:00:01' in VLAN 9");
  EXPECT_EQ(Error("del-mac", {{"mac", "02:00:00:00:00:02"}}, ErrorCode::kNotFound),
            "no MAC entry for '02:00:00:00:00:02'");
}

TEST_F(MethodsTest, FlushMacsKeepsStaticEntries) {
  const PortId tap0 = AddPort("tap0");
  const PortId tap1 = AddPort("tap1");
  Learn(tap0, Mac(1), At(100));
  Learn(tap1, Mac(2), At(100));
  Learn(tap1, Mac(3), At(100));
  Ok("add-mac", {{"mac", "02:00:00:00:00:04"}, {"port", "tap1"}});

  EXPECT_EQ(Ok("flush-macs", {{"port", "tap1"}}), json({{"flushed", 2}}));
  EXPECT_EQ(Ok("show-macs").size(), 2u);
  EXPECT_EQ(Ok("flush-macs"), json({{"flushed", 1}}));
  const json macs = Ok("show-macs");
  ASSERT_EQ(macs.size(), 1u);
  EXPECT_EQ(macs[0].at("type"), "static");
  EXPECT_EQ(Ok("flush-macs"), json({{"flushed", 0}}));
  EXPECT_EQ(Error("flush-macs", {{"port", "tap9"}}, ErrorCode::kNotFound), "unknown port 'tap9'");
}

// ---- add-arp, del-arp.

TEST_F(MethodsTest, AddArpAddsAStaticBinding) {
  EXPECT_EQ(Ok("add-arp", {{"ip", "198.18.0.2"}, {"mac", "02:00:00:00:00:02"}}), json::object());
  const std::optional<ArpBinding> binding = datapath_.arp_table().Lookup(Ip("198.18.0.2"), 1);
  ASSERT_TRUE(binding);
  EXPECT_TRUE(binding->is_static);
  EXPECT_EQ(binding->mac, Mac(2));
  Ok("add-arp", {{"ip", "198.18.0.2"}, {"mac", "02:00:00:00:00:03"}, {"vlan", 1}});
  EXPECT_EQ(datapath_.arp_table().Lookup(Ip("198.18.0.2"), 1)->mac, Mac(3));
  EXPECT_EQ(datapath_.arp_table().size(), 1u);
}

TEST_F(MethodsTest, AddArpRefusesMulticastMac) {
  InvalidParams("add-arp", {{"ip", "198.18.0.2"}, {"mac", "ff:ff:ff:ff:ff:ff"}});
  EXPECT_EQ(datapath_.arp_table().size(), 0u);
}

TEST_F(MethodsTest, DelArpInOneVlanOrAll) {
  for (int vlan : {1, 2}) {
    Ok("add-arp", {{"ip", "198.18.0.2"}, {"mac", "02:00:00:00:00:02"}, {"vlan", vlan}});
  }
  EXPECT_EQ(Error("del-arp", {{"ip", "198.18.0.2"}, {"vlan", 3}}, ErrorCode::kNotFound),
            "no ARP binding for '198.18.0.2' in VLAN 3");
  EXPECT_EQ(Ok("del-arp", {{"ip", "198.18.0.2"}, {"vlan", 1}}), json({{"removed", 1}}));
  EXPECT_EQ(Ok("del-arp", {{"ip", "198.18.0.2"}}), json({{"removed", 1}}));
  EXPECT_EQ(Error("del-arp", {{"ip", "198.18.0.2"}}, ErrorCode::kNotFound),
            "no ARP binding for '198.18.0.2'");
}

// ---- set-aging, version, help.

TEST_F(MethodsTest, SetAgingChangesTheAgingTime) {
  EXPECT_EQ(Ok("set-aging", {{"seconds", 60}}), json({{"aging", 60}}));
  EXPECT_EQ(datapath_.aging_time(), std::chrono::seconds(60));
  EXPECT_EQ(Ok("show-stats").at("aging"), 60);
  Ok("set-aging", {{"seconds", 1}});
  Ok("set-aging", {{"seconds", 1000000}});
  EXPECT_EQ(datapath_.aging_time(), std::chrono::seconds(1000000));
}

TEST_F(MethodsTest, SetAgingTakesAnIntegerFrom1To1000000) {
  EXPECT_EQ(InvalidParams("set-aging", {{"seconds", 0}}),
            "invalid aging time 0 (expected an integer 1..1000000 seconds)");
  for (const json& bad : {json(1000001), json(-5), json("300"), json(300.5), json(300.0),
                          json(false), json(UINT64_MAX), json(INT64_MIN)}) {
    SCOPED_TRACE(bad.dump());
    InvalidParams("set-aging", {{"seconds", bad}});
  }
  EXPECT_EQ(datapath_.aging_time(), std::chrono::seconds(300));
}

TEST_F(MethodsTest, SetAgingAppliesToDynamicEntries) {
  const PortId tap0 = AddPort("tap0");
  Learn(tap0, Mac(1), At(100));
  Ok("set-aging", {{"seconds", 10}});
  datapath_.Run(At(111));
  EXPECT_EQ(Ok("show-macs"), json::array());
}

TEST_F(MethodsTest, VersionReportsTheBuildVersion) {
  EXPECT_EQ(Ok("version"), json({{"version", SWITCHD_VERSION}}));
  EXPECT_EQ(Ok("version").at("version"), "0.1.0");
}

TEST_F(MethodsTest, HelpListsEveryMethodWithItsParams) {
  const json help = Ok("help");
  ASSERT_EQ(help.size(), methods_.MethodNames().size());
  EXPECT_EQ(help[0].at("method"), "show-ports");
  for (const json& method : help) {
    EXPECT_TRUE(method.at("summary").is_string());
    EXPECT_TRUE(method.at("params").is_array());
  }
  const json& add_mac = help[7];
  EXPECT_EQ(add_mac.at("method"), "add-mac");
  EXPECT_EQ(add_mac.at("params"), json::parse(R"([
    {"name": "mac", "type": "unicast MAC", "required": true},
    {"name": "port", "type": "port", "required": true},
    {"name": "vlan", "type": "VLAN", "required": false}])"));
}

// ---- monitor.

// The connection a request came on, as the control socket would provide it.
class FakeSession : public ControlSession {
 public:
  Status Subscribe(EventKinds kinds) override {
    subscriptions.push_back(kinds);
    return fail_with;
  }
  Result<json> StartCapture(PortId port, const std::string& file, uint64_t count,
                            uint64_t seconds) override {
    captures.push_back(
        json{{"port", ToIndex(port)}, {"file", file}, {"count", count}, {"seconds", seconds}});
    return json{{"started", true}};
  }
  std::vector<EventKinds> subscriptions;
  std::vector<json> captures;
  Status fail_with;
};

TEST_F(MethodsTest, CaptureStartsOnTheSessionWithItsBounds) {
  AddPort("tap0");
  FakeSession session;
  Result<json> result = methods_.Call(
      "capture", {{"port", "tap0"}, {"file", "/tmp/t.pcap"}, {"count", 10}}, At(1), &session);
  ASSERT_TRUE(result.ok()) << result.status().message();
  ASSERT_EQ(session.captures.size(), 1u);
  EXPECT_EQ(session.captures[0],
            json({{"port", 0}, {"file", "/tmp/t.pcap"}, {"count", 10}, {"seconds", 0}}));
  EXPECT_EQ(InvalidParams("capture", {{"port", "tap0"}, {"file", "t.pcap"}}),
            "invalid file 't.pcap' (expected an absolute path)");
  EXPECT_EQ(InvalidParams("capture", {{"port", "tap0"}, {"file", "/t"}, {"count", 0}}),
            "invalid frame count 0 (expected an integer 1..1000000000)");
  EXPECT_EQ(InvalidParams("capture", {{"port", "tap0"}, {"file", "/t"}, {"seconds", 86401}}),
            "invalid duration 86401 (expected an integer 1..86400 seconds)");
  EXPECT_EQ(Error("capture", {{"port", "nope"}, {"file", "/t"}}, ErrorCode::kNotFound),
            "unknown port 'nope'");
  // Without a connection (the configuration, a reload) there is nobody to tell when it ends.
  EXPECT_EQ(InvalidParams("capture", {{"port", "tap0"}, {"file", "/t"}}),
            "capture needs a connection to the control socket");
}

TEST_F(MethodsTest, MonitorSubscribesTheConnectionToEveryEventByDefault) {
  FakeSession session;
  Result<json> result = methods_.Call("monitor", json::object(), At(1000), &session);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(*result, json::parse(R"({"events": ["port-added", "port-removed", "port-up",
      "port-down", "mac-learned", "mac-moved", "mac-aged", "mac-evicted", "arp-learned",
      "arp-changed", "arp-aged"]})"));
  ASSERT_EQ(session.subscriptions.size(), 1u);
  EXPECT_EQ(session.subscriptions[0], EventKinds::All());
}

TEST_F(MethodsTest, MonitorTakesKindsAndGroups) {
  FakeSession session;
  Result<json> result = methods_.Call("monitor", {{"events", {"mac-moved", "port", "mac-moved"}}},
                                      At(1000), &session);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(*result, json::parse(R"({"events": ["port-added", "port-removed", "port-up",
      "port-down", "mac-moved"]})"));
  ASSERT_EQ(session.subscriptions.size(), 1u);
  EXPECT_EQ(session.subscriptions[0],
            *ParseEventKinds("port") | EventKinds::Of(EventKind::kMacMoved));
}

TEST_F(MethodsTest, MonitorRefusesBadEventListsBeforeSubscribing) {
  FakeSession session;
  auto error = [&](const json& events) {
    Result<json> result = methods_.Call("monitor", {{"events", events}}, At(1000), &session);
    EXPECT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), ErrorCode::kInvalidArgument);
    return result.status().message();
  };
  EXPECT_EQ(error({"mac", "fdb"}),
            "unknown event 'fdb' (expected all, port, mac, arp, port-added, port-removed, "
            "port-up, port-down, mac-learned, mac-moved, mac-aged, mac-evicted, arp-learned, "
            "arp-changed, arp-aged)");
  EXPECT_EQ(error(json::array()), "empty event list (expected at least one name, or omit it)");
  EXPECT_EQ(error("mac"),
            "invalid event list 'mac' (expected a list of names, e.g. [\"mac\", \"port-added\"])");
  EXPECT_EQ(error({1}).rfind("unknown event 1 (expected all, ", 0), 0u);
  EXPECT_TRUE(session.subscriptions.empty());
}

TEST_F(MethodsTest, MonitorNeedsAConnection) {
  EXPECT_EQ(InvalidParams("monitor", json::object()),
            "monitor needs a connection to the control socket");
}

TEST_F(MethodsTest, MonitorReportsAFailedSubscription) {
  FakeSession session;
  session.fail_with = Status::ResourceExhausted("too many subscribers");
  Result<json> result = methods_.Call("monitor", json::object(), At(1000), &session);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(), "too many subscribers");
}

TEST_F(MethodsTest, MonitorThroughTheEnvelopeAnswersFirst) {
  FakeSession session;
  const std::optional<std::string> response = HandleRequestLine(
      R"({"jsonrpc":"2.0","id":7,"method":"monitor","params":{"events":["arp"]}})",
      methods_.MakeDispatcher(At(1000), &session));
  ASSERT_TRUE(response);
  EXPECT_EQ(
      *response,
      R"({"id":7,"jsonrpc":"2.0","result":{"events":["arp-learned","arp-changed","arp-aged"]}})");
  EXPECT_EQ(session.subscriptions.size(), 1u);
}

// ---- Bounds.

class SmallTablesTest : public MethodsTest {
 protected:
  SmallTablesTest() : MethodsTest(DatapathConfig{.max_macs = 2, .max_arp = 1}) {}
};

TEST_F(SmallTablesTest, AddMacToATableFullOfStaticEntriesIsExhausted) {
  AddPort("tap0");
  Ok("add-mac", {{"mac", "02:00:00:00:00:01"}, {"port", "tap0"}});
  Ok("add-mac", {{"mac", "02:00:00:00:00:02"}, {"port", "tap0"}});
  const std::string message = Error("add-mac", {{"mac", "02:00:00:00:00:03"}, {"port", "tap0"}},
                                    ErrorCode::kResourceExhausted);
  EXPECT_EQ(message, "MAC table is full of static entries (2)");
}

TEST_F(SmallTablesTest, AddArpToATableFullOfStaticBindingsIsExhausted) {
  Ok("add-arp", {{"ip", "198.18.0.1"}, {"mac", "02:00:00:00:00:01"}});
  Error("add-arp", {{"ip", "198.18.0.2"}, {"mac", "02:00:00:00:00:01"}},
        ErrorCode::kResourceExhausted);
}

// ---- Through the envelope.

TEST_F(MethodsTest, DispatcherRunsMethodsThroughTheEnvelope) {
  AddPort("tap0");
  const Dispatcher dispatcher = methods_.MakeDispatcher(At(1000));
  auto handle = [&](std::string_view line) {
    const std::optional<std::string> response = HandleRequestLine(line, dispatcher);
    return response ? json::parse(*response) : json();
  };
  const json bad_mac = handle(
      R"({"jsonrpc":"2.0","id":1,"method":"add-mac","params":{"mac":"zz:00","port":"tap0"}})");
  EXPECT_EQ(bad_mac,
            json({{"jsonrpc", "2.0"},
                  {"id", 1},
                  {"error",
                   {{"code", -32602},
                    {"message", "invalid MAC address 'zz:00' (expected aa:bb:cc:dd:ee:ff)"}}}}));
  EXPECT_EQ(handle(R"({"jsonrpc":"2.0","id":2,"method":"del-port","params":{"name":"tap9"}})")
                .at("error"),
            json::parse(R"({"code":-32001,"message":"unknown port 'tap9'"})"));
  EXPECT_EQ(handle(R"({"jsonrpc":"2.0","id":3,"method":"add-port","params":{"name":"tap0"}})")
                .at("error")
                .at("code"),
            protocol::kAlreadyExists);
  EXPECT_EQ(handle(R"({"jsonrpc":"2.0","id":4,"method":"show-mac"})").at("error").at("code"),
            protocol::kMethodNotFound);
  EXPECT_EQ(handle(R"({"jsonrpc":"2.0","id":5,"method":"version"})"),
            json::parse(R"({"jsonrpc":"2.0","id":5,"result":{"version":"0.1.0"}})"));
  EXPECT_EQ(
      HandleRequestLine(
          R"({"jsonrpc":"2.0","method":"add-mac","params":{"mac":"02:00:00:00:00:01","port":"tap0"}})",
          dispatcher),
      std::nullopt);
  EXPECT_EQ(datapath_.mac_table().size(), 1u);  // the notification ran
}

}  // namespace
}  // namespace switchd
