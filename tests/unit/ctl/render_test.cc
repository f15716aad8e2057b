#include "ctl/render.h"

#include <array>
#include <cstdlib>
#include <ctime>

#include <gtest/gtest.h>

namespace switchd::ctl {
namespace {

using nlohmann::json;

const json kPorts = json::parse(R"([
  {"name": "tap0", "index": 1, "kind": "tap", "ifname": "tap0", "ifindex": 7,
   "mac": "ce:5a:1b:00:10:02", "up": true, "vlan_mode": "access", "vlan": 1, "trunk": null,
   "native": null, "learning": true, "flood": true, "bcast_flood": true, "mcast_flood": true,
   "isolated": false, "mirror_destination": false, "rx_packets": 12, "tx_packets": 9,
   "rx_bytes": 1180, "tx_bytes": 882, "drops": 0, "rx_dropped": 0, "tx_dropped": 0, "macs": 1},
  {"name": "tap1", "index": 2, "kind": "tap", "ifname": "eth0", "ifindex": null,
   "mac": null, "up": false, "vlan_mode": "trunk", "vlan": null, "trunk": "10,20-30",
   "native": 5, "learning": false, "flood": true, "bcast_flood": true, "mcast_flood": false,
   "isolated": true, "mirror_destination": false, "rx_packets": 0, "tx_packets": 0,
   "rx_bytes": 0, "tx_bytes": 0, "drops": 3, "rx_dropped": 3, "tx_dropped": 0, "macs": 0}
])");

TEST(RenderTest, PortsTableHasEveryColumnWithNumbersRightAligned) {
  EXPECT_EQ(RenderPorts(kPorts),
            "NAME  INDEX  KIND  IFNAME  MAC                UP   RX-PKTS  TX-PKTS  RX-BYTES  "
            "TX-BYTES  DROPS  MACS  VLAN               FLAGS\n"
            "tap0      1  tap   tap0    ce:5a:1b:00:10:02  yes       12        9      1180  "
            "     882      0     1  1                  -\n"
            "tap1      2  tap   eth0    -                  no         0        0         0  "
            "       0      3     0  10,20-30 native 5  isolated,no-learning,no-mcast-flood\n");
}

TEST(RenderTest, MirrorsTable) {
  const json mirrors = json::parse(R"([{"name": "span1", "source": "tap0",
      "destination": "mon0", "direction": "both", "frames": 1234}])");
  EXPECT_EQ(RenderMirrors(mirrors),
            "NAME   SOURCE  DESTINATION  DIRECTION  FRAMES\n"
            "span1  tap0    mon0         both         1234\n");
  EXPECT_EQ(RenderMirror(mirrors[0]), RenderMirrors(mirrors));
}

TEST(RenderTest, MacsTable) {
  const json macs = json::parse(R"([
    {"mac": "02:00:00:00:00:01", "port": "tap0", "vlan": 1, "type": "dynamic", "age": 3},
    {"mac": "02:00:00:00:00:02", "port": "tap10", "vlan": 100, "type": "static", "age": 125}
  ])");
  EXPECT_EQ(RenderMacs(macs),
            "PORT   VLAN  MAC                TYPE     AGE\n"
            "tap0      1  02:00:00:00:00:01  dynamic    3\n"
            "tap10   100  02:00:00:00:00:02  static   125\n");
}

TEST(RenderTest, ArpTableShowsANullPortAsDash) {
  const json arp = json::parse(R"([
    {"ip": "198.18.0.2", "mac": "02:00:00:00:00:02", "port": "tap0", "vlan": 1,
     "type": "dynamic", "age": 17},
    {"ip": "198.18.0.10", "mac": "02:00:00:00:00:0a", "port": null, "vlan": 1,
     "type": "static", "age": 3600}
  ])");
  EXPECT_EQ(RenderArp(arp),
            "IP           VLAN  MAC                PORT  TYPE      AGE\n"
            "198.18.0.2      1  02:00:00:00:00:02  tap0  dynamic    17\n"
            "198.18.0.10     1  02:00:00:00:00:0a  -     static   3600\n");
}

TEST(RenderTest, EmptyTablesPrintOnlyTheHeader) {
  EXPECT_EQ(RenderMacs(json::array()), "PORT  VLAN  MAC  TYPE  AGE\n");
  EXPECT_EQ(RenderArp(json::array()), "IP  VLAN  MAC  PORT  TYPE  AGE\n");
  EXPECT_EQ(RenderPorts(json::array()),
            "NAME  INDEX  KIND  IFNAME  MAC  UP  RX-PKTS  TX-PKTS  RX-BYTES  TX-BYTES  DROPS  "
            "MACS  VLAN  FLAGS\n");
}

TEST(RenderTest, TableShowsMissingFieldsAsDashAndIgnoresExtraOnes) {
  const json macs = json::parse(R"([{"mac": "02:00:00:00:00:01", "extra": 1}, 7])");
  EXPECT_EQ(RenderMacs(macs),
            "PORT  VLAN  MAC                TYPE  AGE\n"
            "-        -  02:00:00:00:00:01  -       -\n"
            "-        -  -                  -       -\n");
}

TEST(RenderTest, TableOfSomethingElseThanAListPrintsItsJson) {
  EXPECT_EQ(RenderMacs(json{{"unexpected", true}}), "{\"unexpected\":true}\n");
}

TEST(RenderTest, GenericTableAlignsByDisplayWidth) {
  constexpr std::array columns = {Column{"A", "a"}, Column{"N", "n", Align::kRight}};
  const json rows = json::parse(R"([{"a": "h\u00e9", "n": 5}, {"a": "xyz", "n": 10}])");
  EXPECT_EQ(RenderTable(columns, rows),
            "A     N\n"
            "h\u00e9    5\n"
            "xyz  10\n");
}

TEST(RenderTest, FormatsCells) {
  EXPECT_EQ(FormatCell(json("tap0")), "tap0");
  EXPECT_EQ(FormatCell(json(42)), "42");
  EXPECT_EQ(FormatCell(json(-1)), "-1");
  EXPECT_EQ(FormatCell(json(18446744073709551615ull)), "18446744073709551615");
  EXPECT_EQ(FormatCell(json(1.5)), "1.5");
  EXPECT_EQ(FormatCell(json(true)), "yes");
  EXPECT_EQ(FormatCell(json(false)), "no");
  EXPECT_EQ(FormatCell(json(nullptr)), "-");
  EXPECT_EQ(FormatCell(json::array({1, 2})), "[1,2]");
  EXPECT_EQ(FormatCell(json("evil\x1b[2Jname\n")), "evil?[2Jname?");
}

TEST(RenderTest, StatsBlock) {
  const json stats = json::parse(R"({
    "macs": {"current": 3, "max": 8192, "static": 0, "learned": 3, "moved": 0, "expired": 0,
             "evicted": 0, "not_learned": 0, "move_damped": 1, "port_limited": 0},
    "arp": {"current": 3, "max": 8192, "static": 0, "learned": 3, "changed": 0, "expired": 0,
            "evicted": 0, "not_learned": 0, "answered": 4, "flooded": 3},
    "frames": {"malformed": 2, "vlan_dropped": 0, "local_dropped": 1, "unicast_forwarded": 120,
               "flooded": 9, "unknown_unicast": 0, "storm_dropped": 0, "gso_segmented": 0,
               "checksums_completed": 0, "offload_dropped": 0, "tx_failed": 3, "mirrored": 7,
               "isolated_dropped": 0, "mirror_port_dropped": 0,
               "rx_packets": 129, "rx_bytes": 12345, "tx_packets": 138, "tx_bytes": 13000,
               "rx_dropped": 2, "tx_dropped": 3, "dropped": 6},
    "aging": 300, "ports": 3})");
  EXPECT_EQ(RenderStats(stats),
            "MAC table: 3/8192 entries, 0 static\n"
            "  learned:                  3\n"
            "  moved:                    0\n"
            "  expired:                  0\n"
            "  evicted:                  0\n"
            "  not learned:              0\n"
            "  move damped:              1\n"
            "  port limited:             0\n"
            "ARP table: 3/8192 entries, 0 static\n"
            "  learned:                  3\n"
            "  changed:                  0\n"
            "  expired:                  0\n"
            "  evicted:                  0\n"
            "  not learned:              0\n"
            "  answered:                 4\n"
            "  flooded:                  3\n"
            "frames:\n"
            "  received:               129\n"
            "  received bytes:       12345\n"
            "  sent:                   138\n"
            "  sent bytes:           13000\n"
            "  unicast forwarded:      120\n"
            "  flooded:                  9\n"
            "  unknown unicast:          0\n"
            "  GSO segmented:            0\n"
            "  checksums completed:      0\n"
            "  mirrored:                 7\n"
            "dropped: 6\n"
            "  malformed:                2\n"
            "  VLAN:                     0\n"
            "  local:                    1\n"
            "  isolated:                 0\n"
            "  mirror port:              0\n"
            "  storm:                    0\n"
            "  tx failed:                3\n"
            "  offload:                  0\n"
            "aging: 300 s\n"
            "ports: 3\n");
}

TEST(RenderTest, StatsShowsNewFieldsAndDashesForMissingOnes) {
  const json stats = json::parse(R"({
    "macs": {"current": 1, "max": 10, "static": 1, "learned": 0, "moved": 0, "expired": 0,
             "evicted": 0, "not_learned": 0, "port_limited": 2},
    "frames": {"unicast_forwarded": 1, "jumbo": 4},
    "aging": 60, "ports": 1, "uptime": 12, "storm": {"dropped": 5}})");
  EXPECT_EQ(RenderStats(stats),
            "MAC table: 1/10 entries, 1 static\n"
            "  learned:              0\n"
            "  moved:                0\n"
            "  expired:              0\n"
            "  evicted:              0\n"
            "  not learned:          0\n"
            "  port limited:         2\n"
            "ARP table: -/- entries, - static\n"
            "  learned:              -\n"
            "  changed:              -\n"
            "  expired:              -\n"
            "  evicted:              -\n"
            "  not learned:          -\n"
            "  answered:             -\n"
            "  flooded:              -\n"
            "frames:\n"
            "  received:             -\n"
            "  received bytes:       -\n"
            "  sent:                 -\n"
            "  sent bytes:           -\n"
            "  unicast forwarded:    1\n"
            "  flooded:              -\n"
            "  unknown unicast:      -\n"
            "  GSO segmented:        -\n"
            "  checksums completed:  -\n"
            "  mirrored:             -\n"
            "  jumbo:                4\n"
            "dropped: -\n"
            "  malformed:            -\n"
            "  VLAN:                 -\n"
            "  local:                -\n"
            "  isolated:             -\n"
            "  mirror port:          -\n"
            "  storm:                -\n"
            "  tx failed:            -\n"
            "  offload:              -\n"
            "aging: 60 s\n"
            "ports: 1\n"
            "storm:\n"
            "  dropped:              5\n"
            "uptime: 12\n");
  EXPECT_EQ(RenderStats(json::array()), "[]\n");
}

TEST(RenderTest, AddPortPrintsThePortAsOneRowOrNothing) {
  EXPECT_EQ(RenderPort(json::object()), "");
  EXPECT_EQ(RenderPort(kPorts[0]),
            "NAME  INDEX  KIND  IFNAME  MAC                UP   RX-PKTS  TX-PKTS  RX-BYTES  "
            "TX-BYTES  DROPS  MACS  VLAN  FLAGS\n"
            "tap0      1  tap   tap0    ce:5a:1b:00:10:02  yes       12        9      1180  "
            "     882      0     1  1     -\n");
}

TEST(RenderTest, EmptyResultsPrintNothing) {
  EXPECT_EQ(RenderEmpty(json::object()), "");
  EXPECT_EQ(RenderEmpty(json(nullptr)), "");
  EXPECT_EQ(RenderEmpty(json{{"note", "x"}}), "{\"note\":\"x\"}\n");
}

TEST(RenderTest, CountsReadAsSentences) {
  EXPECT_EQ(RenderFlushed(json{{"flushed", 0}}), "flushed 0 entries\n");
  EXPECT_EQ(RenderFlushed(json{{"flushed", 1}}), "flushed 1 entry\n");
  EXPECT_EQ(RenderFlushed(json{{"flushed", 12}}), "flushed 12 entries\n");
  EXPECT_EQ(RenderRemoved(json{{"removed", 1}}), "removed 1 entry\n");
  EXPECT_EQ(RenderRemoved(json{{"removed", 3}}), "removed 3 entries\n");
  EXPECT_EQ(RenderRemoved(json::object()), "{}\n");
  EXPECT_EQ(RenderFlushed(json{{"flushed", "many"}}), "{\"flushed\":\"many\"}\n");
}

TEST(RenderTest, AgingAndVersion) {
  EXPECT_EQ(RenderAging(json{{"aging", 60}}), "aging 60 s\n");
  EXPECT_EQ(RenderAging(json::object()), "{}\n");
  EXPECT_EQ(RenderVersion(json{{"version", "0.1.0"}}), "switchd 0.1.0\n");
  EXPECT_EQ(RenderVersion(json{{"version", 1}}), "{\"version\":1}\n");
}

TEST(RenderTest, JsonIsOneLineAndNeverThrowsOnBadUtf8) {
  EXPECT_EQ(RenderJson(kPorts[1]).find('\n'), RenderJson(kPorts[1]).size() - 1);
  EXPECT_EQ(json::parse(RenderJson(kPorts)), kPorts);
  EXPECT_EQ(RenderJson(json("a\xff")), "\"a\xef\xbf\xbd\"\n");
}

// Renders events with the local time zone set to `tz`, restoring it after.
class EventRenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tz = std::getenv("TZ");
    if (tz != nullptr) saved_tz_ = tz;
    had_tz_ = tz != nullptr;
    Zone("UTC");
  }
  void TearDown() override {
    if (had_tz_) {
      setenv("TZ", saved_tz_.c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }
  static void Zone(const char* tz) {
    setenv("TZ", tz, 1);
    tzset();
  }
  static std::string Render(std::string_view text) { return RenderEvent(json::parse(text)); }

 private:
  std::string saved_tz_;
  bool had_tz_ = false;
};

TEST_F(EventRenderTest, PortEvents) {
  EXPECT_EQ(Render(R"({"event":"port-added","kind":"tap","port":"h1",
                       "time":"2025-05-01T18:20:01.123Z"})"),
            "18:20:01.123 port added h1 (tap)\n");
  EXPECT_EQ(Render(R"({"event":"port-removed","port":"h1","time":"2025-05-01T18:20:01.123Z"})"),
            "18:20:01.123 port removed h1\n");
  EXPECT_EQ(Render(R"({"event":"port-up","port":"h1","time":"2025-05-01T18:20:01.003Z"})"),
            "18:20:01.003 port up h1\n");
  EXPECT_EQ(Render(R"({"event":"port-down","port":"h1","time":"2025-05-01T18:20:01.000Z"})"),
            "18:20:01.000 port down h1\n");
}

TEST_F(EventRenderTest, MacEvents) {
  EXPECT_EQ(Render(R"({"event":"mac-learned","mac":"02:00:00:00:00:01","port":"h1",
                       "time":"2025-05-01T18:20:01.123Z","vlan":1})"),
            "18:20:01.123 mac learned 02:00:00:00:00:01 vlan 1 port h1\n");
  EXPECT_EQ(Render(R"({"event":"mac-moved","from":"h1","mac":"02:00:00:00:00:01","port":"h2",
                       "time":"2025-05-01T18:20:01.123Z","vlan":1})"),
            "18:20:01.123 mac moved 02:00:00:00:00:01 vlan 1 from h1 to h2\n");
  EXPECT_EQ(Render(R"({"event":"mac-aged","mac":"02:00:00:00:00:01","port":"h1",
                       "time":"2025-05-01T18:20:01.123Z","vlan":10})"),
            "18:20:01.123 mac aged 02:00:00:00:00:01 vlan 10 port h1\n");
  EXPECT_EQ(Render(R"({"event":"mac-evicted","mac":"02:00:00:00:00:01","port":"h1",
                       "time":"2025-05-01T18:20:01.123Z","vlan":1})"),
            "18:20:01.123 mac evicted 02:00:00:00:00:01 vlan 1 port h1\n");
}

TEST_F(EventRenderTest, ArpEvents) {
  EXPECT_EQ(Render(R"({"event":"arp-learned","ip":"198.18.0.1","mac":"02:00:00:00:00:01",
                       "port":"h1","time":"2025-05-01T18:20:01.123Z","vlan":1})"),
            "18:20:01.123 arp learned 198.18.0.1 at 02:00:00:00:00:01 vlan 1 port h1\n");
  EXPECT_EQ(Render(R"({"event":"arp-changed","ip":"198.18.0.1","mac":"02:00:00:00:00:02",
                       "old_mac":"02:00:00:00:00:01","port":"h2",
                       "time":"2025-05-01T18:20:01.123Z","vlan":1})"),
            "18:20:01.123 arp changed 198.18.0.1 at 02:00:00:00:00:02 (was 02:00:00:00:00:01) "
            "vlan 1 port h2\n");
  EXPECT_EQ(Render(R"({"event":"arp-aged","ip":"198.18.0.1","mac":"02:00:00:00:00:01",
                       "port":null,"time":"2025-05-01T18:20:01.123Z","vlan":1})"),
            "18:20:01.123 arp aged 198.18.0.1 at 02:00:00:00:00:01 vlan 1 port -\n");
}

TEST_F(EventRenderTest, LostEvents) {
  EXPECT_EQ(Render(R"({"count":1234,"event":"events-lost","time":"2025-05-01T18:20:01.123Z"})"),
            "18:20:01.123 lost 1234 events\n");
  EXPECT_EQ(Render(R"({"count":1,"event":"events-lost","time":"2025-05-01T18:20:01.123Z"})"),
            "18:20:01.123 lost 1 event\n");
}

TEST_F(EventRenderTest, TimeIsLocal) {
  Zone("UTC-2");  // POSIX: two hours east of UTC
  EXPECT_EQ(Render(R"({"event":"port-up","port":"h1","time":"2025-05-01T23:59:59.999Z"})"),
            "01:59:59.999 port up h1\n");
}

TEST_F(EventRenderTest, UnknownEventsAndOddValuesStillPrintOneLine) {
  EXPECT_EQ(Render(R"({"event":"vxlan-peer-up","peer":"198.18.1.1","port":"vx0",
                       "time":"2025-05-01T18:20:01.123Z"})"),
            R"(18:20:01.123 vxlan peer-up {"peer":"198.18.1.1","port":"vx0"})"
            "\n");
  EXPECT_EQ(Render(R"({"event":"port-up","port":"a\nb","time":"yesterday"})"),
            "yesterday port up a?b\n");
  EXPECT_EQ(Render(R"({"event":"mac-learned"})"), "- mac learned - vlan - port -\n");
  EXPECT_EQ(Render(R"({"no":"event"})"), R"(- {"no":"event"})"
                                         "\n");
  EXPECT_EQ(Render(R"([1,2])"), "- [1,2]\n");
  EXPECT_EQ(Render(R"({"event":"port-up","port":"h1","time":"2025-02-30T18:20:01.123Z"})"),
            "2025-02-30T18:20:01.123Z port up h1\n");
}

}  // namespace
TEST(RenderTest, ConfigListsScalarsThenPortsNameFirstThenEntries) {
  const nlohmann::json config = nlohmann::json::parse(R"({
      "arp": [{"ip": "198.18.0.1", "mac": "02:00:00:00:00:01", "vlan": 1}],
      "macs": [], "max_macs": 8192, "aging": 300,
      "ports": [{"netns": "lab", "kind": "tap", "name": "h1"}]})");
  EXPECT_EQ(RenderConfig(config),
            "{\n"
            "  \"max_macs\": 8192,\n"
            "  \"aging\": 300,\n"
            "  \"ports\": [\n"
            "    {\n"
            "      \"name\": \"h1\",\n"
            "      \"kind\": \"tap\",\n"
            "      \"netns\": \"lab\"\n"
            "    }\n"
            "  ],\n"
            "  \"macs\": [],\n"
            "  \"arp\": [\n"
            "    {\n"
            "      \"ip\": \"198.18.0.1\",\n"
            "      \"mac\": \"02:00:00:00:00:01\",\n"
            "      \"vlan\": 1\n"
            "    }\n"
            "  ]\n"
            "}\n");
  EXPECT_EQ(nlohmann::json::parse(RenderConfig(config)), config);
}

TEST(RenderTest, CaptureDoneSaysWhatWasWrittenAndWhy) {
  EXPECT_EQ(RenderCaptureDone(json::parse(R"({"event": "capture-done", "port": "tap0",
      "file": "/tmp/t.pcap", "frames": 1, "bytes": 60, "reason": "time"})")),
            "captured 1 frame (60 bytes) of tap0 to /tmp/t.pcap: time is up\n");
  EXPECT_EQ(RenderCaptureDone(json::parse(R"({"event": "capture-done", "port": "tap0",
      "file": "/x.pcap", "frames": 0, "bytes": 0, "reason": "a write failed",
      "error": "No space left on device"})")),
            "captured 0 frames (0 bytes) of tap0 to /x.pcap: a write failed (No space left on "
            "device)\n");
  EXPECT_EQ(RenderCaptureDone(json{{"event", "other"}}), "{\"event\":\"other\"}\n");
}

TEST(RenderTest, MacsTableShowsTheRemoteColumnOnlyWithVxlanPorts) {
  const json macs = json::parse(R"([
      {"mac": "02:00:00:00:00:01", "port": "h1", "vlan": 1, "type": "dynamic", "age": 0},
      {"mac": "02:00:00:00:00:02", "port": "vx0", "vlan": 1, "type": "dynamic", "age": 3,
       "remote": "198.19.0.2"}])");
  EXPECT_EQ(RenderMacs(macs),
            "PORT  VLAN  MAC                TYPE     AGE  REMOTE\n"
            "h1       1  02:00:00:00:00:01  dynamic    0  -\n"
            "vx0      1  02:00:00:00:00:02  dynamic    3  198.19.0.2\n");
}

}  // namespace switchd::ctl
