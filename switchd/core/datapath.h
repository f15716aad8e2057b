// Datapath: the switch's forwarding core. Pure: no syscalls, no clock, no libevent, no logging.
//
// The edge hands it each received frame with the time (Receive), and it decides: count, parse,
// learn the source into the MAC table, snoop ARP into the ARP table, answer ARP requests it can,
// and emit frames through a FrameSink: known unicast out of one port, everything else flooded to
// every other port of the VLAN, never back out of the ingress port. Malformed frames are dropped
// and counted. Run(now) ages the tables. Events (learned, moved, aged ...) go to an optional
// DatapathEvents observer; the datapath itself never logs.
//
// Ports are registered by the edge (AddPort) and named, so that control code can refer to them.
// Every port is an access port in VLAN 1 unless configured otherwise.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "switchd/core/arp_table.h"
#include "switchd/core/frame.h"
#include "switchd/core/mac_table.h"
#include "switchd/core/offload.h"
#include "switchd/core/status.h"
#include "switchd/core/types.h"
#include "switchd/core/vlan.h"

namespace switchd {

// Where the datapath sends frames. Implemented by the I/O layer (TAP writes) and by tests.
class FrameSink {
 public:
  virtual ~FrameSink() = default;
  // Sends `frame` out of `port` with its virtio-net header `vnet` (all zero for a plain frame;
  // offloaded frames are only sent to ports registered with offloads). Returns false when the
  // frame was dropped (the datapath counts it in the port's tx_dropped); true when it was handed
  // to the port.
  virtual bool Send(PortId port, std::span<const std::byte> frame, const VnetHeader& vnet) = 0;
};

// Observer for table changes, e.g. logging and event streams. Called synchronously; must not call
// back into the datapath. Default implementations do nothing.
class DatapathEvents {
 public:
  virtual ~DatapathEvents() = default;
  virtual void OnMacLearned(const MacEntry& /*entry*/) {}
  virtual void OnMacMoved(const MacEntry& /*entry*/, PortId /*from*/) {}
  // `entry` was seen on `attempted` while still active on its own port, and stays there.
  virtual void OnMacMoveDamped(const MacEntry& /*entry*/, PortId /*attempted*/) {}
  virtual void OnMacExpired(const MacEntry& /*entry*/) {}
  virtual void OnMacEvicted(const MacEntry& /*entry*/) {}
  virtual void OnArpLearned(const ArpBinding& /*binding*/) {}
  virtual void OnArpChanged(const ArpBinding& /*binding*/, MacAddress /*old_mac*/) {}
  virtual void OnArpExpired(const ArpBinding& /*binding*/) {}
};

// Sees the frames of the ports being captured (Datapath::SetCaptured): each one as the port
// received it, before anything else happens to it, and as it was sent out of the port.
class FrameObserver {
 public:
  enum class Direction : uint8_t { kRx, kTx };
  virtual ~FrameObserver() = default;
  virtual void OnFrame(PortId port, Direction direction, std::span<const std::byte> frame,
                       const VnetHeader& vnet) = 0;
};

struct PortCounters {
  uint64_t rx_packets = 0;
  uint64_t rx_bytes = 0;
  uint64_t tx_packets = 0;
  uint64_t tx_bytes = 0;
  uint64_t rx_dropped = 0;     // received and dropped: malformed, wrong VLAN, storm control
  uint64_t tx_dropped = 0;     // not sent: the sink refused it, or offload could not finish it
  uint64_t storm_dropped = 0;  // of rx_dropped: flooded frames over the port's storm limit
  uint64_t unlearned = 0;      // frames whose new source MAC the port's MAC limit kept out
  uint64_t drops() const { return rx_dropped + tx_dropped; }
  // Adds every counter of `other` to this one's.
  void Add(const PortCounters& other);
};

struct DatapathStats {
  uint64_t malformed = 0;            // runts, truncated headers, bad ARP, invalid source MAC,
                                     // frames longer than kMaxFrameSize
  uint64_t vlan_dropped = 0;         // frames not admitted by the ingress port's VLAN setting
  uint64_t local_dropped = 0;        // unicast to a MAC learned on the ingress port
  uint64_t unicast_forwarded = 0;    // known unicast sent out of one port
  uint64_t flooded = 0;              // frames flooded (broadcast, multicast, unknown unicast)
  uint64_t unknown_unicast = 0;      // of those, unknown unicast
  uint64_t arp_answered = 0;         // ARP requests answered by the switch
  uint64_t arp_flooded = 0;          // ARP requests flooded because no usable binding was known
  uint64_t storm_dropped = 0;        // flooded frames dropped by storm control
  uint64_t gso_segmented = 0;        // GSO frames cut into segments for a port without offloads
  uint64_t checksums_completed = 0;  // partial checksums finished for a port without offloads
  uint64_t offload_dropped = 0;      // offloaded frames that could not be finished (malformed)
  uint64_t tx_failed = 0;            // frames the sink refused (slow or gone reader)
  uint64_t isolated_dropped = 0;     // known unicast between two isolated ports
  uint64_t mirror_port_dropped = 0;  // frames arriving on a mirror destination
  uint64_t mirrored = 0;             // copies sent to mirror destinations
};

struct DatapathConfig {
  size_t max_macs = MacTable::kDefaultCapacity;
  size_t max_arp = ArpTable::kDefaultCapacity;
  Duration aging_time = MacTable::kDefaultAgingTime;
  // A MAC moves to another port only after this long without frames on its own (damping flaps).
  Duration move_hold = std::chrono::seconds(1);
};

// What can be changed on a port at runtime (set-port).
struct PortSettings {
  size_t max_macs = 0;       // dynamic MAC entries the port may hold; 0: only the table's bound
  uint32_t storm_limit = 0;  // flooded frames (broadcast, multicast, unknown unicast) accepted
                             // from the port per second, token bucket; 0: no limit
  PortVlan vlan;             // access VLAN 1 unless set otherwise
  bool learning = true;      // source MACs of frames from the port are learned
  bool flood = true;         // unknown unicast is flooded to the port
  bool bcast_flood = true;   // broadcast is flooded to the port
  bool mcast_flood = true;   // multicast is flooded to the port
  bool isolated = false;     // frames from isolated ports never reach isolated ports
  bool operator==(const PortSettings&) const = default;
};

// A port mirror: copies of the frames `source` receives (rx), sends (tx) or both go out of
// `destination`, which then carries mirrored frames only.
struct Mirror {
  enum Direction : uint8_t { kRx = 1, kTx = 2, kBoth = 3 };
  std::string name;
  PortId source = kNoPort;
  PortId destination = kNoPort;
  Direction direction = kBoth;
  uint64_t frames = 0;  // copies sent (or refused by the sink) so far
};

// How a port is set up when it is added.
struct PortOptions {
  // The port takes offloaded frames (GSO, partial checksums) with their virtio-net header. A port
  // without offloads gets only complete frames: the datapath segments and checksums for it.
  bool offloads = false;
};

struct PortInfo {
  PortId id = kNoPort;
  std::string name;
  bool offloads = false;
  PortSettings settings;
  bool mirror_destination = false;  // the destination of a mirror: mirrored frames only
  PortCounters counters;
};

class Datapath {
 public:
  // `sink` and `events` (optional) must outlive the datapath.
  Datapath(FrameSink& sink, const DatapathConfig& config, DatapathEvents* events = nullptr);

  Datapath(const Datapath&) = delete;
  Datapath& operator=(const Datapath&) = delete;

  // Registers a port named `name` (unique, non-empty). Returns its id (the smallest free one), or
  // kAlreadyExists / kInvalidArgument.
  Result<PortId> AddPort(std::string_view name, const PortOptions& options = {});
  // Unregisters `port` and forgets its MAC entries (static too) and its dynamic ARP bindings.
  // No effect for an unknown id.
  void RemovePort(PortId port);
  std::optional<PortId> FindPort(std::string_view name) const;
  bool HasPort(PortId port) const;
  // Precondition: HasPort(port).
  const std::string& port_name(PortId port) const;
  // Precondition: HasPort(port). The edge adds its own drops here too.
  PortCounters& counters(PortId port);
  // Replaces `port`'s settings. kNotFound for an unknown port, kInvalidArgument for a VLAN setting
  // that carries nothing (a trunk with no VLAN and no native VLAN). A port whose VLANs change
  // forgets its dynamic MAC entries.
  Status ConfigurePort(PortId port, const PortSettings& settings);

  // Mirrors. AddMirror fails with kAlreadyExists for a taken name, kInvalidArgument when the
  // source is the destination or a mirror would feed another (a destination is never a source,
  // and the reverse), kNotFound for an unknown port. The destination stops forwarding and
  // learning: it forgets its dynamic MAC entries, frames arriving on it are dropped, and it gets
  // only mirrored frames. Removing a port removes its mirrors.
  Status AddMirror(std::string_view name, PortId source, PortId destination,
                   Mirror::Direction direction);
  Status DelMirror(std::string_view name);
  const std::vector<Mirror>& mirrors() const { return mirrors_; }

  // Captures: `observer` (which must outlive the datapath, or be replaced first) sees every frame
  // of the ports marked captured. Costs a flag test per frame otherwise.
  void set_observer(FrameObserver* observer) { observer_ = observer; }
  // Marks `port` captured or not. No effect for an unknown port.
  void SetCaptured(PortId port, bool captured);
  // Precondition: HasPort(port).
  const PortSettings& port_settings(PortId port) const;
  // Every port, ordered by id.
  std::vector<PortInfo> Ports() const;
  // The counters of every port added up, those of the ports removed since the datapath was made
  // included: totals that never go down. O(ports).
  PortCounters TotalCounters() const;

  // Handles one frame received on `ingress` at `now`. Never fails: what cannot be forwarded is
  // dropped and counted (a frame longer than kMaxFrameSize as malformed). Hot path: no
  // allocation; O(1) in the number of MACs; flooding is the only O(ports) step. Frames for an
  // unknown `ingress` are ignored.
  // `vnet` is the frame's virtio-net header when the ingress port has offloads (a GSO frame may
  // be up to 64 KiB); it travels with the frame to every egress.
  void Receive(PortId ingress, std::span<const std::byte> frame, Time now,
               const VnetHeader& vnet = {});

  // Ages the MAC and ARP tables. Call about once a second.
  void Run(Time now);

  void set_aging_time(Duration aging);
  Duration aging_time() const { return mac_table_.aging_time(); }

  MacTable& mac_table() { return mac_table_; }
  const MacTable& mac_table() const { return mac_table_; }
  ArpTable& arp_table() { return arp_table_; }
  const ArpTable& arp_table() const { return arp_table_; }
  const DatapathStats& stats() const { return stats_; }

 private:
  // A port slot, indexed by PortId. Per-port configuration belongs in PortInfo so it travels
  // with the port.
  struct Port {
    bool active = false;
    PortInfo info;
    // Storm control's token bucket: flooded frames the port may still send now.
    double storm_tokens = 0;
    Time storm_refilled{};
    // Indexes into mirrors_ of the mirrors copying this port's received and sent frames.
    std::vector<uint32_t> rx_mirrors;
    std::vector<uint32_t> tx_mirrors;
    bool captured = false;
  };

  // What is being flooded, for the per-port flood controls.
  enum class FloodKind : uint8_t { kBroadcast, kMulticast, kUnknownUnicast };

  // One received frame and the shapes it leaves in: as received, untagged, or tagged for its
  // VLAN. Each shape is built once per frame (in scratch), when a port first needs it.
  struct Egress {
    std::span<const std::byte> frame;  // as received
    VnetHeader vnet;
    std::optional<uint16_t> tci;  // the received 802.1Q tag
    bool qinq = false;            // an 802.1ad frame: only native VLANs of trunks carry it,
                                  // untouched
    VlanId vlan = 0;              // the VLAN it was admitted to
    std::span<const std::byte> untagged;
    VnetHeader untagged_vnet;
    std::span<const std::byte> tagged;
    VnetHeader tagged_vnet;
  };

  // Whether frames of `vlan` may leave through `port` (a mirror destination carries none).
  bool CarriesVlan(PortId port, VlanId vlan) const;
  void DropMalformed(PortId ingress);
  void LearnSource(PortId ingress, VlanId vlan, MacAddress src, Time now);
  void LearnArpSender(PortId ingress, VlanId vlan, MacAddress eth_src, const ArpPacket& arp,
                      Time now);
  // Answers `arp` out of `ingress` when the ARP rules allow it. True if it was answered (and so
  // must not be forwarded).
  bool AnswerArpRequest(PortId ingress, VlanId vlan, const EthernetFrame& eth,
                        const ArpPacket& arp);
  void Forward(PortId ingress, MacAddress dst, Egress& egress, Time now);
  // Storm control: whether `ingress` may flood one more frame at `now` (takes a token).
  bool AdmitFlood(PortId ingress, Time now);
  void Flood(PortId ingress, FloodKind kind, Egress& egress);
  // Sends the frame to `port` in the shape the port's VLAN setting asks for.
  void SendInVlan(PortId port, Egress& egress);
  // Sends to `port`, finishing an offloaded frame in software when the port has no offloads.
  // `mirror`: copies go to the port's tx mirrors (never for a mirrored copy itself).
  void SendTo(PortId port, std::span<const std::byte> frame, const VnetHeader& vnet,
              bool mirror = true);
  void Deliver(Port& port, std::span<const std::byte> frame, const VnetHeader& vnet, bool mirror);
  void CopyToMirrors(const std::vector<uint32_t>& mirrors, std::span<const std::byte> frame,
                     const VnetHeader& vnet);
  // Rebuilds every port's rx_mirrors/tx_mirrors and mirror_destination from mirrors_.
  void IndexMirrors();

  FrameSink& sink_;
  DatapathEvents* events_;
  MacTable mac_table_;
  ArpTable arp_table_;
  DatapathStats stats_;
  PortCounters removed_ports_counters_;  // added up as ports are removed, for TotalCounters
  std::vector<Port> ports_;              // indexed by PortId; inactive slots are reused
  std::vector<PortId> active_ports_;     // ascending: the flood list
  std::vector<Mirror> mirrors_;
  FrameObserver* observer_ = nullptr;
  std::array<std::byte, kMaxArpFrameSize> arp_reply_{};  // scratch for ARP answers
  std::vector<std::byte> offload_scratch_;   // kMaxFrameSize: segments and completed checksums
  std::vector<std::byte> untagged_scratch_;  // kMaxFrameSize: Egress::untagged
  std::vector<std::byte> tagged_scratch_;    // kMaxFrameSize + 4: Egress::tagged
};

}  // namespace switchd
