#include "switchd/core/datapath.h"

#include <algorithm>
#include <string>

namespace switchd {
namespace {

// Storm control's bucket size: a tenth of a second of frames, at least one.
double StormBurst(uint32_t limit) { return std::max(1.0, limit / 10.0); }

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
      offload_scratch_(kMaxFrameSize) {
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
  arp_table_.RemovePort(port);
  active_ports_.erase(std::find(active_ports_.begin(), active_ports_.end(), port));
  removed_ports_counters_.Add(ports_[ToIndex(port)].info.counters);
  ports_[ToIndex(port)] = Port{};
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
  Port& p = ports_[ToIndex(port)];
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
  PortCounters& counters = ports_[ToIndex(ingress)].info.counters;
  ++counters.rx_packets;
  counters.rx_bytes += frame.size();

  const std::optional<EthernetFrame> eth = ParseEthernet(frame);
  // A multicast or all-zero source is not a station and must never be learned.
  if (!eth || eth->src.IsMulticast() || eth->src.IsZero()) {
    DropMalformed(ingress);
    return;
  }
  const std::optional<VlanId> vlan = IngressVlan(ports_[ToIndex(ingress)], *eth);
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

  LearnSource(ingress, *vlan, eth->src, now);
  if (arp) {
    LearnArpSender(ingress, *vlan, eth->src, *arp, now);
    if (AnswerArpRequest(ingress, *vlan, *eth, *arp)) return;
  }
  Forward(ingress, *vlan, eth->dst, frame, vnet, now);
}

std::optional<VlanId> Datapath::IngressVlan(const Port& port, const EthernetFrame& frame) const {
  // An access port admits untagged and priority-tagged (VID 0) frames into its VLAN only.
  if (frame.vid() != 0) return std::nullopt;
  return port.info.access_vlan;
}

bool Datapath::CarriesVlan(PortId port, VlanId vlan) const {
  return HasPort(port) && ports_[ToIndex(port)].info.access_vlan == vlan;
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
  }
  if (!answer) {
    ++stats_.arp_flooded;
    return false;
  }
  // Untagged, as everything an access port sends (even to a priority-tagged request).
  const size_t size = BuildArpReply(arp_reply_, arp, binding->mac, /*vlan_tci=*/std::nullopt);
  SendTo(ingress, std::span<const std::byte>(arp_reply_.data(), size), VnetHeader{});
  ++stats_.arp_answered;
  return true;
}

void Datapath::Forward(PortId ingress, VlanId vlan, MacAddress dst,
                       std::span<const std::byte> frame, const VnetHeader& vnet, Time now) {
  if (dst.IsMulticast()) {
    if (!AdmitFlood(ingress, now)) return;
    ++stats_.flooded;
    Flood(ingress, vlan, frame, vnet);
    return;
  }
  const std::optional<PortId> egress = mac_table_.Lookup(dst, vlan);
  if (egress == ingress) {
    ++stats_.local_dropped;
    return;
  }
  // An entry whose port cannot carry the frame (a static entry for a port since gone) is as good
  // as none.
  if (!egress || !CarriesVlan(*egress, vlan)) {
    if (!AdmitFlood(ingress, now)) return;
    ++stats_.flooded;
    ++stats_.unknown_unicast;
    Flood(ingress, vlan, frame, vnet);
    return;
  }
  ++stats_.unicast_forwarded;
  SendTo(*egress, frame, vnet);
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

void Datapath::Flood(PortId ingress, VlanId vlan, std::span<const std::byte> frame,
                     const VnetHeader& vnet) {
  for (PortId port : active_ports_) {
    if (port != ingress && CarriesVlan(port, vlan)) SendTo(port, frame, vnet);
  }
}

void Datapath::SendTo(PortId port, std::span<const std::byte> frame, const VnetHeader& vnet) {
  PortInfo& info = ports_[ToIndex(port)].info;
  if (vnet.IsPlain() || info.offloads) {
    Deliver(info, frame, vnet);
    return;
  }
  // The port cannot take an offloaded frame: finish it here, as the kernel's software GSO would.
  // The frame itself is shared by every port of a flood, so the work is done in scratch.
  if (vnet.IsGso()) {
    const size_t segments = SegmentGso(
        frame, vnet, offload_scratch_,
        [&](std::span<const std::byte> segment) { Deliver(info, segment, VnetHeader{}); });
    if (segments != 0) {
      ++stats_.gso_segmented;
      return;
    }
  } else if (frame.size() <= offload_scratch_.size()) {
    std::span<std::byte> copy(offload_scratch_.data(), frame.size());
    std::copy(frame.begin(), frame.end(), copy.begin());
    if (CompleteChecksum(copy, vnet)) {
      ++stats_.checksums_completed;
      Deliver(info, copy, VnetHeader{});
      return;
    }
  }
  ++stats_.offload_dropped;
  ++info.counters.tx_dropped;
}

void Datapath::Deliver(PortInfo& port, std::span<const std::byte> frame, const VnetHeader& vnet) {
  if (sink_.Send(port.id, frame, vnet)) {
    ++port.counters.tx_packets;
    port.counters.tx_bytes += frame.size();
  } else {
    ++port.counters.tx_dropped;
    ++stats_.tx_failed;
  }
}

}  // namespace switchd
