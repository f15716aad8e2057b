#include "switchd/core/datapath.h"

#include <algorithm>
#include <string>

namespace switchd {
namespace {

// Storm control's bucket size: a tenth of a second of frames, at least one.
double StormBurst(uint32_t limit) { return std::max(1.0, limit / 10.0); }

constexpr uint16_t kVidMask = 0x0fff;

// A header hint or checksum offset moved by `delta` bytes (a tag pushed or popped before it).
uint16_t Shift(uint16_t offset, int delta) {
  return offset == 0 ? 0 : static_cast<uint16_t>(std::max(0, offset + delta));
}

VnetHeader ShiftVnet(VnetHeader vnet, int delta) {
  if (vnet.NeedsChecksum()) vnet.csum_start = Shift(vnet.csum_start, delta);
  vnet.hdr_len = Shift(vnet.hdr_len, delta);
  return vnet;
}

}  // namespace

void PortCounters::Add(const PortCounters& other) {
  rx_packets += other.rx_packets;
  rx_bytes += other.rx_bytes;
  tx_packets += other.tx_packets;
  tx_bytes += other.tx_bytes;
  rx_dropped += other.rx_dropped;
  tx_dropped += other.tx_dropped;
  storm_dropped += other.storm_dropped;
  unlearned += other.unlearned;
}

Datapath::Datapath(FrameSink& sink, const DatapathConfig& config, DatapathEvents* events)
    : sink_(sink),
      events_(events),
      mac_table_(config.max_macs),
      arp_table_(config.max_arp),
      offload_scratch_(kMaxFrameSize),
      untagged_scratch_(kMaxFrameSize),
      tagged_scratch_(kMaxFrameSize + kVlanTagSize) {
  mac_table_.set_aging_time(config.aging_time);
  mac_table_.set_move_hold(config.move_hold);
}

Result<PortId> Datapath::AddPort(std::string_view name, const PortOptions& options) {
  if (name.empty()) return Status::InvalidArgument("port name must not be empty");
  if (FindPort(name)) {
    return Status::AlreadyExists("port '" + std::string(name) + "' already exists");
  }
  size_t index = 0;
  while (index < ports_.size() && ports_[index].active) ++index;
  if (index == ports_.size()) ports_.emplace_back();
  const PortId id{static_cast<uint32_t>(index)};
  Port& port = ports_[index];
  port = Port{};
  port.active = true;
  port.info.id = id;
  port.info.name = std::string(name);
  port.info.offloads = options.offloads;
  active_ports_.insert(std::lower_bound(active_ports_.begin(), active_ports_.end(), id), id);
  // Now, not on the port's first frame: Receive must never allocate.
  mac_table_.ReservePorts(ports_.size());
  return id;
}

void Datapath::RemovePort(PortId port) {
  if (!HasPort(port)) return;
  mac_table_.SetPortLimit(port, 0);  // the id may be reused by a port with other settings
  mac_table_.Flush(port, /*include_static=*/true);
  const size_t mirror_count = mirrors_.size();
  std::erase_if(mirrors_,
                [port](const Mirror& m) { return m.source == port || m.destination == port; });
  arp_table_.RemovePort(port);
  active_ports_.erase(std::find(active_ports_.begin(), active_ports_.end(), port));
  removed_ports_counters_.Add(ports_[ToIndex(port)].info.counters);
  ports_[ToIndex(port)] = Port{};
  if (mirrors_.size() != mirror_count) IndexMirrors();
}

std::optional<PortId> Datapath::FindPort(std::string_view name) const {
  for (const Port& port : ports_) {
    if (port.active && port.info.name == name) return port.info.id;
  }
  return std::nullopt;
}

bool Datapath::HasPort(PortId port) const {
  return ToIndex(port) < ports_.size() && ports_[ToIndex(port)].active;
}

const std::string& Datapath::port_name(PortId port) const {
  return ports_[ToIndex(port)].info.name;
}

PortCounters& Datapath::counters(PortId port) { return ports_[ToIndex(port)].info.counters; }

Status Datapath::ConfigurePort(PortId port, const PortSettings& settings) {
  if (!HasPort(port)) return Status::NotFound("unknown port");
  const PortVlan& vlan = settings.vlan;
  if (vlan.mode == VlanMode::kTrunk && vlan.trunk.empty() && vlan.native == 0) {
    return Status::InvalidArgument("a trunk must carry at least one VLAN");
  }
  if ((vlan.mode == VlanMode::kAccess && (vlan.access < 1 || vlan.access > kMaxVlan)) ||
      vlan.native > kMaxVlan) {
    return Status::InvalidArgument("VLAN out of range (expected 1..4094)");
  }
  Port& p = ports_[ToIndex(port)];
  // Entries learned in VLANs the port may no longer carry would send frames nowhere.
  if (!(p.info.settings.vlan == vlan)) mac_table_.Flush(port, /*include_static=*/false);
  p.info.settings = settings;
  mac_table_.SetPortLimit(port, settings.max_macs);
  p.storm_tokens = StormBurst(settings.storm_limit);
  p.storm_refilled = Time{};
  return Status::Ok();
}

const PortSettings& Datapath::port_settings(PortId port) const {
  return ports_[ToIndex(port)].info.settings;
}

std::vector<PortInfo> Datapath::Ports() const {
  std::vector<PortInfo> ports;
  ports.reserve(active_ports_.size());
  for (PortId id : active_ports_) ports.push_back(ports_[ToIndex(id)].info);
  return ports;
}

PortCounters Datapath::TotalCounters() const {
  PortCounters totals = removed_ports_counters_;
  for (PortId id : active_ports_) totals.Add(ports_[ToIndex(id)].info.counters);
  return totals;
}

Status Datapath::AddMirror(std::string_view name, PortId source, PortId destination,
                           Mirror::Direction direction) {
  if (name.empty()) return Status::InvalidArgument("mirror name must not be empty");
  if (!HasPort(source) || !HasPort(destination)) return Status::NotFound("unknown port");
  for (const Mirror& m : mirrors_) {
    if (m.name == name) {
      return Status::AlreadyExists("mirror '" + std::string(name) + "' already exists");
    }
  }
  if (source == destination) {
    return Status::InvalidArgument("a port cannot mirror to itself");
  }
  for (const Mirror& m : mirrors_) {
    if (m.destination == source) {
      return Status::InvalidArgument("port '" + port_name(source) +
                                     "' is the destination of mirror '" + m.name +
                                     "'; a destination cannot be mirrored");
    }
    if (m.source == destination) {
      return Status::InvalidArgument("port '" + port_name(destination) + "' is mirrored by '" +
                                     m.name + "'; a mirrored port cannot be a destination");
    }
  }
  mirrors_.push_back(Mirror{std::string(name), source, destination, direction, 0});
  // What the destination learned would attract unicast it no longer forwards.
  mac_table_.Flush(destination, /*include_static=*/false);
  IndexMirrors();
  return Status::Ok();
}

Status Datapath::DelMirror(std::string_view name) {
  const size_t before = mirrors_.size();
  std::erase_if(mirrors_, [name](const Mirror& m) { return m.name == name; });
  if (mirrors_.size() == before) {
    return Status::NotFound("unknown mirror '" + std::string(name) + "'");
  }
  IndexMirrors();
  return Status::Ok();
}

void Datapath::IndexMirrors() {
  for (Port& port : ports_) {
    port.rx_mirrors.clear();
    port.tx_mirrors.clear();
    port.info.mirror_destination = false;
  }
  for (uint32_t i = 0; i < mirrors_.size(); ++i) {
    const Mirror& m = mirrors_[i];
    Port& source = ports_[ToIndex(m.source)];
    if (m.direction & Mirror::kRx) source.rx_mirrors.push_back(i);
    if (m.direction & Mirror::kTx) source.tx_mirrors.push_back(i);
    ports_[ToIndex(m.destination)].info.mirror_destination = true;
  }
}

void Datapath::set_aging_time(Duration aging) { mac_table_.set_aging_time(aging); }

void Datapath::Run(Time now) {
  if (events_ == nullptr) {
    mac_table_.Expire(now);
    arp_table_.Expire(now, aging_time());
    return;
  }
  mac_table_.Expire(now, [this](const MacEntry& entry) { events_->OnMacExpired(entry); });
  arp_table_.Expire(now, aging_time(),
                    [this](const ArpBinding& binding) { events_->OnArpExpired(binding); });
}

void Datapath::Receive(PortId ingress, std::span<const std::byte> frame, Time now,
                       const VnetHeader& vnet) {
  if (!HasPort(ingress)) return;
  Port& port = ports_[ToIndex(ingress)];
  PortCounters& counters = port.info.counters;
  ++counters.rx_packets;
  counters.rx_bytes += frame.size();
  // A SPAN copy is what arrived, as it arrived, whatever the switch then makes of it.
  if (!port.rx_mirrors.empty()) CopyToMirrors(port.rx_mirrors, frame, vnet);
  if (port.captured && observer_ != nullptr) {
    observer_->OnFrame(ingress, FrameObserver::Direction::kRx, frame, vnet);
  }
  if (port.info.mirror_destination) {
    ++stats_.mirror_port_dropped;
    ++counters.rx_dropped;
    return;
  }

  // Nothing is longer than what a TAP hands over: the frame's egress shapes are built in scratch
  // buffers of that size (plus a tag).
  if (frame.size() > kMaxFrameSize) {
    DropMalformed(ingress);
    return;
  }
  const std::optional<EthernetFrame> eth = ParseEthernet(frame);
  // A multicast or all-zero source is not a station and must never be learned.
  if (!eth || eth->src.IsMulticast() || eth->src.IsZero()) {
    DropMalformed(ingress);
    return;
  }
  const PortVlan& vlans = port.info.settings.vlan;
  // 802.1ad frames are not 802.1Q: an access port has no use for them, a trunk carries them as
  // they are, in its native VLAN.
  const bool qinq = !eth->vlan_tci && eth->ethertype == kEtherTypeQinQ;
  const std::optional<VlanId> vlan =
      qinq && vlans.mode == VlanMode::kAccess ? std::nullopt : vlans.Admit(eth->vid());
  if (!vlan) {
    ++stats_.vlan_dropped;
    ++counters.rx_dropped;
    return;
  }
  // ARP is validated before learning so that a malformed frame leaves no trace in the tables.
  std::optional<ArpPacket> arp;
  if (eth->ethertype == kEtherTypeArp) {
    arp = ParseArp(eth->payload);
    if (!arp) {
      DropMalformed(ingress);
      return;
    }
  }

  if (port.info.settings.learning) LearnSource(ingress, *vlan, eth->src, now);
  if (arp) {
    LearnArpSender(ingress, *vlan, eth->src, *arp, now);
    if (AnswerArpRequest(ingress, *vlan, *eth, *arp)) return;
  }
  Egress egress;
  egress.frame = frame;
  egress.vnet = vnet;
  egress.tci = eth->vlan_tci;
  egress.qinq = qinq;
  egress.vlan = *vlan;
  Forward(ingress, eth->dst, egress, now);
}

bool Datapath::CarriesVlan(PortId port, VlanId vlan) const {
  if (!HasPort(port)) return false;
  const PortInfo& info = ports_[ToIndex(port)].info;
  return !info.mirror_destination && info.settings.vlan.Carries(vlan);
}

void Datapath::DropMalformed(PortId ingress) {
  ++stats_.malformed;
  ++counters(ingress).rx_dropped;
}

void Datapath::LearnSource(PortId ingress, VlanId vlan, MacAddress src, Time now) {
  const LearnOutcome outcome = mac_table_.Learn(src, vlan, ingress, now);
  if (outcome.kind == LearnOutcome::Kind::kLimited) ++counters(ingress).unlearned;
  if (events_ == nullptr) return;
  if (outcome.evicted) events_->OnMacEvicted(*outcome.evicted);
  const MacEntry entry{src, vlan, ingress, /*is_static=*/false, now};
  if (outcome.kind == LearnOutcome::Kind::kLearned) {
    events_->OnMacLearned(entry);
  } else if (outcome.kind == LearnOutcome::Kind::kMoved) {
    events_->OnMacMoved(entry, outcome.previous_port);
  } else if (outcome.kind == LearnOutcome::Kind::kDamped) {
    events_->OnMacMoveDamped(MacEntry{src, vlan, outcome.previous_port, false, now}, ingress);
  }
}

void Datapath::LearnArpSender(PortId ingress, VlanId vlan, MacAddress eth_src, const ArpPacket& arp,
                              Time now) {
  // The sender fields are believed only when they name the station that sent the frame; 0.0.0.0
  // is a probe (RFC 5227) from a station that has no address yet.
  if (arp.sender_mac != eth_src || arp.sender_ip.IsZero()) return;
  std::optional<ArpBinding> before;
  if (events_ != nullptr) before = arp_table_.Lookup(arp.sender_ip, vlan);
  const ArpTable::LearnResult result =
      arp_table_.Learn(arp.sender_ip, vlan, arp.sender_mac, ingress, now);
  if (events_ == nullptr) return;
  const ArpBinding binding{arp.sender_ip, vlan, arp.sender_mac, ingress, /*is_static=*/false, now};
  if (result == ArpTable::LearnResult::kLearned) {
    events_->OnArpLearned(binding);
  } else if (result == ArpTable::LearnResult::kChanged) {
    events_->OnArpChanged(binding, before->mac);
  }
}

bool Datapath::AnswerArpRequest(PortId ingress, VlanId vlan, const EthernetFrame& eth,
                                const ArpPacket& arp) {
  if (arp.op != ArpOp::kRequest || arp.IsGratuitous()) return false;
  // The answer goes to the request's sender MAC out of the ingress port; only when that MAC sent
  // the frame is the ingress port surely the way to it. Otherwise the owner answers instead.
  bool answer = false;
  const std::optional<ArpBinding> binding = arp_table_.Lookup(arp.target_ip, vlan);
  if (binding && arp.sender_mac == eth.src) {
    const std::optional<PortId> where = mac_table_.Lookup(binding->mac, vlan);
    // A static binding is answered unless its station sits behind the asking port (it answers
    // itself there). A dynamic binding is answered only while its MAC is known elsewhere: once
    // the MAC has aged out the binding may be stale, and the flooded request finds the truth.
    answer = binding->is_static ? where != ingress : (where && *where != ingress);
    // Two isolated ports may not talk: an answer would only promise what forwarding refuses.
    if (answer && where && ports_[ToIndex(ingress)].info.settings.isolated && HasPort(*where) &&
        ports_[ToIndex(*where)].info.settings.isolated) {
      answer = false;
    }
  }
  if (!answer) {
    ++stats_.arp_flooded;
    return false;
  }
  // Untagged where the VLAN leaves the port untagged (even to a priority-tagged request), else
  // tagged for it with the request's priority.
  std::optional<uint16_t> tci;
  if (!ports_[ToIndex(ingress)].info.settings.vlan.Untagged(vlan)) {
    tci = static_cast<uint16_t>((eth.vlan_tci.value_or(0) & ~kVidMask) | vlan);
  }
  const size_t size = BuildArpReply(arp_reply_, arp, binding->mac, tci);
  SendTo(ingress, std::span<const std::byte>(arp_reply_.data(), size), VnetHeader{});
  ++stats_.arp_answered;
  return true;
}

void Datapath::Forward(PortId ingress, MacAddress dst, Egress& egress, Time now) {
  if (dst.IsMulticast()) {
    if (!AdmitFlood(ingress, now)) return;
    ++stats_.flooded;
    Flood(ingress, dst.IsBroadcast() ? FloodKind::kBroadcast : FloodKind::kMulticast, egress);
    return;
  }
  const std::optional<PortId> port = mac_table_.Lookup(dst, egress.vlan);
  if (port == ingress) {
    ++stats_.local_dropped;
    return;
  }
  // An entry whose port cannot carry the frame (a static entry for a port since gone, or now a
  // mirror destination) is as good as none.
  if (!port || !CarriesVlan(*port, egress.vlan)) {
    if (!AdmitFlood(ingress, now)) return;
    ++stats_.flooded;
    ++stats_.unknown_unicast;
    Flood(ingress, FloodKind::kUnknownUnicast, egress);
    return;
  }
  if (ports_[ToIndex(ingress)].info.settings.isolated &&
      ports_[ToIndex(*port)].info.settings.isolated) {
    ++stats_.isolated_dropped;
    return;
  }
  ++stats_.unicast_forwarded;
  SendInVlan(*port, egress);
}

bool Datapath::AdmitFlood(PortId ingress, Time now) {
  Port& port = ports_[ToIndex(ingress)];
  const uint32_t limit = port.info.settings.storm_limit;
  if (limit == 0) return true;
  // Token bucket: `limit` tokens a second, holding at most a tenth of a second's worth, so a
  // storm is held to the limit while a burst after a quiet spell still gets through.
  const double elapsed = std::chrono::duration<double>(now - port.storm_refilled).count();
  port.storm_refilled = now;
  if (elapsed > 0) {
    port.storm_tokens = std::min(StormBurst(limit), port.storm_tokens + elapsed * limit);
  }
  if (port.storm_tokens >= 1) {
    port.storm_tokens -= 1;
    return true;
  }
  ++stats_.storm_dropped;
  ++port.info.counters.storm_dropped;
  ++port.info.counters.rx_dropped;
  return false;
}

void Datapath::Flood(PortId ingress, FloodKind kind, Egress& egress) {
  const bool isolated = ports_[ToIndex(ingress)].info.settings.isolated;
  for (PortId id : active_ports_) {
    if (id == ingress || !CarriesVlan(id, egress.vlan)) continue;
    const PortSettings& settings = ports_[ToIndex(id)].info.settings;
    if (isolated && settings.isolated) continue;
    const bool wanted = kind == FloodKind::kBroadcast   ? settings.bcast_flood
                        : kind == FloodKind::kMulticast ? settings.mcast_flood
                                                        : settings.flood;
    if (wanted) SendInVlan(id, egress);
  }
}

void Datapath::SendInVlan(PortId port, Egress& egress) {
  const PortVlan& vlans = ports_[ToIndex(port)].info.settings.vlan;
  if (egress.qinq) {
    // Carried unchanged, and only by trunks whose native VLAN it is in: out of a trunk that
    // carries the VLAN tagged, an untagged frame would land in the far end's native VLAN.
    if (vlans.mode == VlanMode::kTrunk && vlans.Untagged(egress.vlan)) {
      SendTo(port, egress.frame, egress.vnet);
    }
    return;
  }
  const int tag = static_cast<int>(kVlanTagSize);
  if (vlans.Untagged(egress.vlan)) {
    if (!egress.tci) {
      SendTo(port, egress.frame, egress.vnet);
      return;
    }
    if (egress.untagged.empty()) {
      // Pop the tag: the addresses, then everything after the tag.
      const std::span<const std::byte> in = egress.frame;
      std::copy(in.begin(), in.begin() + 12, untagged_scratch_.begin());
      std::copy(in.begin() + 12 + tag, in.end(), untagged_scratch_.begin() + 12);
      egress.untagged = std::span<const std::byte>(untagged_scratch_.data(), in.size() - tag);
      egress.untagged_vnet = ShiftVnet(egress.vnet, -tag);
    }
    SendTo(port, egress.untagged, egress.untagged_vnet);
    return;
  }
  // Tagged for the frame's VLAN, keeping the priority bits it arrived with.
  if (egress.tci && (*egress.tci & kVidMask) == egress.vlan) {
    SendTo(port, egress.frame, egress.vnet);
    return;
  }
  if (egress.tagged.empty()) {
    const std::span<const std::byte> in = egress.frame;
    const uint16_t tci = static_cast<uint16_t>((egress.tci.value_or(0) & ~kVidMask) | egress.vlan);
    std::byte* out = tagged_scratch_.data();
    std::copy(in.begin(), in.begin() + 12, out);
    out[12] = std::byte{kEtherTypeVlan >> 8};
    out[13] = std::byte{kEtherTypeVlan & 0xff};
    out[14] = std::byte(tci >> 8);
    out[15] = std::byte(tci & 0xff);
    if (egress.tci) {  // a VLAN id rewritten in place
      std::copy(in.begin() + 16, in.end(), out + 16);
      egress.tagged = std::span<const std::byte>(out, in.size());
      egress.tagged_vnet = egress.vnet;
    } else {  // a tag pushed
      std::copy(in.begin() + 12, in.end(), out + 16);
      egress.tagged = std::span<const std::byte>(out, in.size() + tag);
      egress.tagged_vnet = ShiftVnet(egress.vnet, tag);
    }
  }
  SendTo(port, egress.tagged, egress.tagged_vnet);
}

void Datapath::SendTo(PortId port, std::span<const std::byte> frame, const VnetHeader& vnet,
                      bool mirror) {
  Port& p = ports_[ToIndex(port)];
  PortInfo& info = p.info;
  if (vnet.IsPlain() || info.offloads) {
    Deliver(p, frame, vnet, mirror);
    return;
  }
  // The port cannot take an offloaded frame: finish it here, as the kernel's software GSO would.
  // The frame itself is shared by every port of a flood, so the work is done in scratch.
  if (vnet.IsGso()) {
    const size_t segments = SegmentGso(
        frame, vnet, offload_scratch_,
        [&](std::span<const std::byte> segment) { Deliver(p, segment, VnetHeader{}, mirror); });
    if (segments != 0) {
      ++stats_.gso_segmented;
      return;
    }
  } else if (frame.size() <= offload_scratch_.size()) {
    std::span<std::byte> copy(offload_scratch_.data(), frame.size());
    std::copy(frame.begin(), frame.end(), copy.begin());
    if (CompleteChecksum(copy, vnet)) {
      ++stats_.checksums_completed;
      Deliver(p, copy, VnetHeader{}, mirror);
      return;
    }
  }
  ++stats_.offload_dropped;
  ++info.counters.tx_dropped;
}

void Datapath::Deliver(Port& port, std::span<const std::byte> frame, const VnetHeader& vnet,
                       bool mirror) {
  PortCounters& counters = port.info.counters;
  if (sink_.Send(port.info.id, frame, vnet)) {
    ++counters.tx_packets;
    counters.tx_bytes += frame.size();
    // A capture records what left, as tcpdump on the interface would.
    if (port.captured && observer_ != nullptr) {
      observer_->OnFrame(port.info.id, FrameObserver::Direction::kTx, frame, vnet);
    }
    // A SPAN copy of what left the port; what could not leave is not mirrored.
    if (mirror && !port.tx_mirrors.empty()) CopyToMirrors(port.tx_mirrors, frame, vnet);
  } else {
    ++counters.tx_dropped;
    ++stats_.tx_failed;
  }
}

void Datapath::SetCaptured(PortId port, bool captured) {
  if (HasPort(port)) ports_[ToIndex(port)].captured = captured;
}

void Datapath::CopyToMirrors(const std::vector<uint32_t>& mirrors, std::span<const std::byte> frame,
                             const VnetHeader& vnet) {
  for (uint32_t index : mirrors) {
    Mirror& m = mirrors_[index];
    ++m.frames;
    ++stats_.mirrored;
    // A copy is never mirrored again: no loops, whatever the mirrors.
    SendTo(m.destination, frame, vnet, /*mirror=*/false);
  }
}

}  // namespace switchd
