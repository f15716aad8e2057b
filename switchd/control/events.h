// Events: what the `monitor` method streams to subscribed control clients (port added, removed, up,
// down; MAC learned, moved, aged, evicted; ARP binding learned, changed, aged).
//
// Pure: no sockets, no clock, no libevent. The daemon turns datapath and port changes into Event
// records and appends them to an EventRing; later in the loop it drains the ring and serializes
// each event once, as the JSON-RPC notification line every subscriber gets.
// - An Event is plain fixed-size data: port names are copied into it when the event happens, so
//   a record still names the right port after the port is gone (or its id is reused).
// - The ring allocates only at construction. When it is full the new event is dropped and counted
//   by kind, and so is every later one until the count is taken (TakeLost): what was lost is one
//   gap in the stream, which the consumer reports at its place (an "events-lost" event).
// - The notification is written by hand into a reused buffer (no allocation once it has grown),
//   byte for byte what nlohmann::json would write: keys sorted, compact, invalid UTF-8 replaced by
//   U+FFFD. docs/control-protocol.md (monitor) describes every event and its fields.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "switchd/core/arp_table.h"
#include "switchd/core/mac_table.h"
#include "switchd/core/types.h"

namespace switchd {

// Wall-clock time: events carry the time of day they happened at, unlike the datapath's `Time`.
using WallTime = std::chrono::system_clock::time_point;

// Every kind of event, in the order `monitor` lists them.
enum class EventKind : uint8_t {
  kPortAdded,
  kPortRemoved,
  kPortUp,
  kPortDown,
  kMacLearned,
  kMacMoved,
  kMacAged,
  kMacEvicted,
  kArpLearned,
  kArpChanged,
  kArpAged,
};
inline constexpr size_t kEventKindCount = 11;

// The kind's name on the wire: "port-added", "mac-learned", ...
std::string_view EventKindName(EventKind kind);

// A set of event kinds: what a subscriber asked for.
class EventKinds {
 public:
  constexpr EventKinds() = default;
  static constexpr EventKinds All() { return EventKinds((1u << kEventKindCount) - 1); }
  static constexpr EventKinds Of(EventKind kind) {
    return EventKinds(1u << static_cast<unsigned>(kind));
  }
  constexpr bool Has(EventKind kind) const { return (bits_ & Of(kind).bits_) != 0; }
  constexpr bool empty() const { return bits_ == 0; }
  // One bit per kind (bit i for the kind with value i).
  constexpr uint32_t bits() const { return bits_; }
  constexpr EventKinds operator|(EventKinds other) const { return EventKinds(bits_ | other.bits_); }
  constexpr bool operator==(const EventKinds&) const = default;
  // The kinds in the set, in EventKind order.
  std::vector<EventKind> List() const;

 private:
  constexpr explicit EventKinds(uint32_t bits) : bits_(bits) {}
  uint32_t bits_ = 0;
};

// The kinds a name stands for: an event kind ("mac-learned"), a group ("port", "mac", "arp": every
// kind of that group) or "all". Nullopt for anything else.
std::optional<EventKinds> ParseEventKinds(std::string_view name);

// "all, port, mac, arp, port-added, port-removed, ...": the names ParseEventKinds accepts, for
// error messages.
std::string EventNameList();

// An interface name or port kind (at most 15 bytes, like IFNAMSIZ - 1), stored in place.
class EventName {
 public:
  static constexpr size_t kMaxSize = 15;
  // Keeps the first kMaxSize bytes of `name`.
  void Set(std::string_view name);
  std::string_view view() const { return std::string_view(chars_.data(), size_); }
  bool empty() const { return size_ == 0; }

 private:
  std::array<char, kMaxSize> chars_{};
  uint8_t size_ = 0;
};

// One event. Which fields mean something depends on the kind (the others stay empty or zero):
//  port-*: port; port-added also port_kind.
//  mac-*:  mac, vlan, port (where the entry is, or was); mac-moved also from (the port it left).
//  arp-*:  ip, mac, vlan, port (where the binding was learned; empty if none); arp-changed also
//          old_mac (the MAC before).
struct Event {
  EventKind kind = EventKind::kPortAdded;
  VlanId vlan = 0;
  WallTime time{};
  MacAddress mac;
  MacAddress old_mac;
  Ipv4Address ip;
  EventName port;
  EventName from;
  EventName port_kind;
};
static_assert(std::is_trivially_copyable_v<Event>);

// Builders for the three families; names are copied (and cut to EventName::kMaxSize).
Event MakePortEvent(EventKind kind, WallTime time, std::string_view port,
                    std::string_view port_kind = {});
Event MakeMacEvent(EventKind kind, WallTime time, const MacEntry& entry, std::string_view port,
                   std::string_view from = {});
Event MakeArpEvent(EventKind kind, WallTime time, const ArpBinding& binding, std::string_view port,
                   MacAddress old_mac = {});

// Lost events counted by kind.
using LostCounts = std::array<uint64_t, kEventKindCount>;

// A bounded FIFO of events: Push and Pop never allocate.
class EventRing {
 public:
  static constexpr size_t kDefaultCapacity = 4096;

  // Allocates room for `capacity` (at least 1) events.
  explicit EventRing(size_t capacity = kDefaultCapacity);

  // Appends `event`. Returns false, and counts the event as lost, when the ring is full or a gap is
  // open: once an event is lost, every later one is too until TakeLost closes the gap, so that
  // the events lost are consecutive.
  bool Push(const Event& event);
  // Removes the oldest event into `out`. False when the ring is empty.
  bool Pop(Event& out);
  // The events lost since the last call, by kind, and reopens the ring to new events. Call it
  // once the ring is empty, to report the gap where it was.
  LostCounts TakeLost();

  bool has_lost() const { return lost_total_ != 0; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t capacity() const { return slots_.size(); }

 private:
  std::vector<Event> slots_;
  size_t head_ = 0;  // the oldest event
  size_t size_ = 0;
  LostCounts lost_{};
  uint64_t lost_total_ = 0;
};

// Appends the JSON-RPC notification that carries `event` to `out`, without a newline:
// {"jsonrpc":"2.0","method":"event","params":{"event":"mac-learned","mac":"02:00:00:00:00:01",
// "port":"h1","time":"2025-05-01T18:20:01.123Z","vlan":1}}. An empty port name is null.
void AppendEventNotification(const Event& event, std::string& out);

// Appends the notification that tells a subscriber `count` events were lost at `time` (it did
// not read them in time, or the ring was full): {"jsonrpc":"2.0","method":"event","params":
// {"count":12,"event":"events-lost","time":"..."}}.
void AppendLostNotification(uint64_t count, WallTime time, std::string& out);

// Appends `time` in UTC as RFC 3339 with milliseconds: "2025-05-01T18:20:01.123Z".
void AppendWallTime(WallTime time, std::string& out);

}  // namespace switchd
