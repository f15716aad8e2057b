// The event model of `monitor`: kinds and their names, the bounded ring (drop and count), and the
// notification lines, checked against what nlohmann::json writes for the same object.
#include "switchd/control/events.h"

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/helpers/frames.h"

namespace switchd {
namespace {

using nlohmann::json;
using test::Mac;

// 2025-05-01T18:20:01.123Z
const WallTime kTime = WallTime(std::chrono::milliseconds(1746123601123));

std::string Line(const Event& event) {
  std::string line;
  AppendEventNotification(event, line);
  return line;
}

// What nlohmann::json writes for `params` in a notification, as the envelope serializes.
std::string Expected(const json& params) {
  return json{{"jsonrpc", "2.0"}, {"method", "event"}, {"params", params}}.dump(
      -1, ' ', false, json::error_handler_t::replace);
}

Event Numbered(int n, EventKind kind = EventKind::kMacLearned) {
  MacEntry entry{Mac(static_cast<uint16_t>(n)), 1, PortId{0}, false, {}};
  return MakeMacEvent(kind, kTime, entry, "p" + std::to_string(n));
}

TEST(EventKindsTest, NamesEveryKindInOrder) {
  std::vector<std::string> names;
  for (EventKind kind : EventKinds::All().List()) names.emplace_back(EventKindName(kind));
  EXPECT_EQ(names, (std::vector<std::string>{"port-added", "port-removed", "port-up", "port-down",
                                             "mac-learned", "mac-moved", "mac-aged", "mac-evicted",
                                             "arp-learned", "arp-changed", "arp-aged"}));
}

TEST(EventKindsTest, ParsesKindsGroupsAndAll) {
  EXPECT_EQ(ParseEventKinds("mac-moved"), EventKinds::Of(EventKind::kMacMoved));
  EXPECT_EQ(ParseEventKinds("all"), EventKinds::All());
  const std::optional<EventKinds> port = ParseEventKinds("port");
  ASSERT_TRUE(port);
  EXPECT_EQ(port->List(), (std::vector<EventKind>{EventKind::kPortAdded, EventKind::kPortRemoved,
                                                  EventKind::kPortUp, EventKind::kPortDown}));
  const std::optional<EventKinds> arp = ParseEventKinds("arp");
  ASSERT_TRUE(arp);
  EXPECT_EQ(arp->List(), (std::vector<EventKind>{EventKind::kArpLearned, EventKind::kArpChanged,
                                                 EventKind::kArpAged}));
  EXPECT_EQ((*ParseEventKinds("port") | *ParseEventKinds("mac") | *ParseEventKinds("arp")),
            EventKinds::All());
  EXPECT_FALSE(ParseEventKinds("mac-learnt"));
  EXPECT_FALSE(ParseEventKinds(""));
  EXPECT_FALSE(ParseEventKinds("MAC"));
}

TEST(EventKindsTest, SetsHoldWhatWasAdded) {
  const EventKinds kinds = EventKinds::Of(EventKind::kPortUp) | EventKinds::Of(EventKind::kArpAged);
  EXPECT_TRUE(kinds.Has(EventKind::kPortUp));
  EXPECT_TRUE(kinds.Has(EventKind::kArpAged));
  EXPECT_FALSE(kinds.Has(EventKind::kPortDown));
  EXPECT_TRUE(EventKinds().empty());
  EXPECT_FALSE(kinds.empty());
}

TEST(EventNameTest, KeepsAtMostFifteenBytes) {
  EventName name;
  name.Set("abcdefghijklmnopqrstuvwxyz");
  EXPECT_EQ(name.view(), "abcdefghijklmno");
  name.Set("h1");
  EXPECT_EQ(name.view(), "h1");
  name.Set("");
  EXPECT_TRUE(name.empty());
}

TEST(EventRingTest, PopsInOrder) {
  EventRing ring(4);
  EXPECT_TRUE(ring.empty());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(ring.Push(Numbered(i)));
  EXPECT_EQ(ring.size(), 3u);
  Event out;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(ring.Pop(out));
    EXPECT_EQ(out.port.view(), "p" + std::to_string(i));
  }
  EXPECT_FALSE(ring.Pop(out));
}

TEST(EventRingTest, WrapsAround) {
  EventRing ring(3);
  Event out;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(ring.Push(Numbered(i)));
    ASSERT_TRUE(ring.Pop(out));
    EXPECT_EQ(out.port.view(), "p" + std::to_string(i));
  }
  EXPECT_FALSE(ring.has_lost());
}

TEST(EventRingTest, FullRingDropsAndCountsByKind) {
  EventRing ring(2);
  EXPECT_TRUE(ring.Push(Numbered(0)));
  EXPECT_TRUE(ring.Push(Numbered(1)));
  EXPECT_FALSE(ring.Push(Numbered(2, EventKind::kMacLearned)));
  EXPECT_FALSE(ring.Push(Numbered(3, EventKind::kMacEvicted)));
  EXPECT_FALSE(ring.Push(Numbered(4, EventKind::kMacEvicted)));
  EXPECT_TRUE(ring.has_lost());
  EXPECT_EQ(ring.size(), 2u);
  const LostCounts lost = ring.TakeLost();
  EXPECT_EQ(lost[static_cast<size_t>(EventKind::kMacLearned)], 1u);
  EXPECT_EQ(lost[static_cast<size_t>(EventKind::kMacEvicted)], 2u);
  EXPECT_EQ(lost[static_cast<size_t>(EventKind::kPortAdded)], 0u);
  EXPECT_FALSE(ring.has_lost());
}

TEST(EventRingTest, LostEventsAreOneGapUntilTheCountIsTaken) {
  EventRing ring(2);
  ring.Push(Numbered(0));
  ring.Push(Numbered(1));
  EXPECT_FALSE(ring.Push(Numbered(2)));
  Event out;
  ASSERT_TRUE(ring.Pop(out));
  // There is room again, but an event taken now would sit after the gap unannounced.
  EXPECT_FALSE(ring.Push(Numbered(3)));
  ASSERT_TRUE(ring.Pop(out));
  EXPECT_EQ(out.port.view(), "p1");
  EXPECT_EQ(ring.TakeLost()[static_cast<size_t>(EventKind::kMacLearned)], 2u);
  EXPECT_TRUE(ring.Push(Numbered(4)));
  ASSERT_TRUE(ring.Pop(out));
  EXPECT_EQ(out.port.view(), "p4");
}

TEST(EventFormatTest, WallTimeIsRfc3339UtcWithMilliseconds) {
  std::string out;
  AppendWallTime(kTime, out);
  EXPECT_EQ(out, "2025-05-01T18:20:01.123Z");
  out.clear();
  AppendWallTime(WallTime(std::chrono::milliseconds(5)), out);
  EXPECT_EQ(out, "1970-01-01T00:00:00.005Z");
  out.clear();
  // Sub-millisecond parts are cut, not rounded up into the next second.
  AppendWallTime(WallTime(std::chrono::microseconds(1746123601999999)), out);
  EXPECT_EQ(out, "2025-05-01T18:20:01.999Z");
}

TEST(EventFormatTest, PortEvents) {
  EXPECT_EQ(Line(MakePortEvent(EventKind::kPortAdded, kTime, "h1", "tap")),
            R"({"jsonrpc":"2.0","method":"event","params":{"event":"port-added","kind":"tap",)"
            R"("port":"h1","time":"2025-05-01T18:20:01.123Z"}})");
  EXPECT_EQ(
      Line(MakePortEvent(EventKind::kPortDown, kTime, "h1")),
      Expected({{"event", "port-down"}, {"port", "h1"}, {"time", "2025-05-01T18:20:01.123Z"}}));
  EXPECT_EQ(
      Line(MakePortEvent(EventKind::kPortRemoved, kTime, "h1")),
      Expected({{"event", "port-removed"}, {"port", "h1"}, {"time", "2025-05-01T18:20:01.123Z"}}));
}

TEST(EventFormatTest, MacEvents) {
  const MacEntry entry{Mac(1), 10, PortId{3}, false, {}};
  EXPECT_EQ(
      Line(MakeMacEvent(EventKind::kMacLearned, kTime, entry, "h1")),
      R"({"jsonrpc":"2.0","method":"event","params":{"event":"mac-learned",)"
      R"("mac":"02:00:00:00:00:01","port":"h1","time":"2025-05-01T18:20:01.123Z","vlan":10}})");
  EXPECT_EQ(Line(MakeMacEvent(EventKind::kMacMoved, kTime, entry, "h2", "h1")),
            Expected({{"event", "mac-moved"},
                      {"from", "h1"},
                      {"mac", "02:00:00:00:00:01"},
                      {"port", "h2"},
                      {"time", "2025-05-01T18:20:01.123Z"},
                      {"vlan", 10}}));
  for (EventKind kind : {EventKind::kMacAged, EventKind::kMacEvicted}) {
    EXPECT_EQ(Line(MakeMacEvent(kind, kTime, entry, "h1")),
              Expected({{"event", EventKindName(kind)},
                        {"mac", "02:00:00:00:00:01"},
                        {"port", "h1"},
                        {"time", "2025-05-01T18:20:01.123Z"},
                        {"vlan", 10}}));
  }
}

TEST(EventFormatTest, ArpEvents) {
  const ArpBinding binding{
      test::Ip("198.18.0.1"), 1, Mac("02:00:00:ab:cd:ef"), PortId{0}, false, {}};
  EXPECT_EQ(Line(MakeArpEvent(EventKind::kArpLearned, kTime, binding, "h1")),
            Expected({{"event", "arp-learned"},
                      {"ip", "198.18.0.1"},
                      {"mac", "02:00:00:ab:cd:ef"},
                      {"port", "h1"},
                      {"time", "2025-05-01T18:20:01.123Z"},
                      {"vlan", 1}}));
  EXPECT_EQ(Line(MakeArpEvent(EventKind::kArpChanged, kTime, binding, "h1", Mac(2))),
            Expected({{"event", "arp-changed"},
                      {"ip", "198.18.0.1"},
                      {"mac", "02:00:00:ab:cd:ef"},
                      {"old_mac", "02:00:00:00:00:02"},
                      {"port", "h1"},
                      {"time", "2025-05-01T18:20:01.123Z"},
                      {"vlan", 1}}));
  // A binding whose port is unknown (gone) names none.
  EXPECT_EQ(Line(MakeArpEvent(EventKind::kArpAged, kTime, binding, "")),
            Expected({{"event", "arp-aged"},
                      {"ip", "198.18.0.1"},
                      {"mac", "02:00:00:ab:cd:ef"},
                      {"port", nullptr},
                      {"time", "2025-05-01T18:20:01.123Z"},
                      {"vlan", 1}}));
}

TEST(EventFormatTest, LostNotification) {
  std::string line;
  AppendLostNotification(1234, kTime, line);
  EXPECT_EQ(
      line,
      Expected({{"count", 1234}, {"event", "events-lost"}, {"time", "2025-05-01T18:20:01.123Z"}}));
}

TEST(EventFormatTest, AppendsToWhatIsThere) {
  std::string line = "x";
  AppendEventNotification(MakePortEvent(EventKind::kPortUp, kTime, "h1"), line);
  EXPECT_EQ(
      line,
      "x" + Expected({{"event", "port-up"}, {"port", "h1"}, {"time", "2025-05-01T18:20:01.123Z"}}));
}

TEST(EventFormatTest, PortNamesAreEscapedLikeNlohmannJson) {
  // Port names may hold quotes, backslashes and any byte above 0x20; the line must stay one valid
  // JSON line whatever they are, and read as nlohmann writes it.
  const std::vector<std::string> names = {
      "a\"b",
      "back\\slash",
      "caf\xc3\xa9",
      "\xe2\x82\xac"
      "uro",
      "bad\xff",
      "cut\xe2\x82",
      "\xc0\xaf",
      "\xed\xa0\x80surrogate",
      "\xf4\x90\x80",
      "\xf0\x9f\x98\x80",
      "tab\there",
      "\x01\x1f\x7f",
  };
  for (const std::string& name : names) {
    const std::string line = Line(MakePortEvent(EventKind::kPortUp, kTime, name));
    EXPECT_EQ(line, Expected({{"event", "port-up"},
                              {"port", name.substr(0, 15)},
                              {"time", "2025-05-01T18:20:01.123Z"}}))
        << name;
    EXPECT_EQ(line.find('\n'), std::string::npos);
  }
}

TEST(EventFormatTest, RandomBytesInNamesMatchNlohmannJson) {
  std::mt19937 random(12345);
  std::uniform_int_distribution<int> length(1, 15);
  std::uniform_int_distribution<int> byte(1, 255);
  for (int i = 0; i < 20000; ++i) {
    std::string name(static_cast<size_t>(length(random)), ' ');
    for (char& c : name) c = static_cast<char>(byte(random));
    const std::string line = Line(MakePortEvent(EventKind::kPortAdded, kTime, name, name));
    ASSERT_EQ(line, Expected({{"event", "port-added"},
                              {"kind", name},
                              {"port", name},
                              {"time", "2025-05-01T18:20:01.123Z"}}))
        << json(name).dump(-1, ' ', true, json::error_handler_t::replace);
  }
}

}  // namespace
}  // namespace switchd
