// libFuzzer target: the whole datapath (Datapath::Receive and Run) driven by a program of
// operations read from the input, checking the switch's invariants after every step.
//
// Input: one config byte, then operations until the input ends (a cut operation is dropped):
//   config        bit 0: an events observer is attached; bits 1-3: ports p0..p2 have offloads
//   0x00-0x02 P F L L frame    receive `frame` (L L bytes, big-endian; fewer when the input ends)
//                              on port P, with a 10-byte virtio-net header before L L when F bit 0
//                              is set (used only if the port has offloads); F bit 1: the sink
//                              refuses this frame's sends
//   0x03 S        advance the clock: S < 200 is S * 10 ms, else (S - 199) * 15 s
//   0x04          Run(now)
//   0x05 P        add port p<P % 8> (offloads when P bit 7 is set)
//   0x06 P        remove port p<P % 8>
//   0x07 K ...    table operation K % 6: 0 add static MAC (6 bytes MAC, P, V), 1 remove MAC (6
//                 bytes), 2 flush port P (static too when P bit 7), 3 set aging (1 + S seconds),
//                 4 add static ARP binding (4 bytes IP, 6 bytes MAC, V); V is a VLAN 0..3;
//                 5 configure port P (M, L): MAC limit M % 8 (0: none), storm limit
//                 kStormLimits[L % 8] frames a second (0: none)
//   (opcodes are taken modulo 8)
// Port byte P: bit 7 clear names slot p<P % 8>, whose PortId is used when it exists; otherwise
// (bit 7 set, or the slot is empty) PortId{P & 0x7f}, which may be unknown to the datapath.
// Slots p0, p1 and p2 exist at the start. The MAC table holds 64 entries, so eviction happens.
//
// Invariants checked:
// - a frame never leaves through its ingress port, except the switch's own ARP reply to an ARP
//   request received there (a different frame, a reply to the request's sender), and an answered
//   request is not forwarded anywhere;
// - frames go only to registered ports, offloaded frames only to ports with offloads, nothing is
//   sent outside Receive, and nothing is sent for a frame that does not parse or carries a VID;
// - the MAC table never holds more than its capacity; every entry belongs to a registered port;
//   the per-port counts and the static count add up to its size; after Run(now) no dynamic entry
//   is older than the aging time; the ARP table stays within its bound;
// - a port never gains dynamic MAC entries while it holds its MAC limit or more;
// - storm control: a port with a storm limit L floods at most max(1, L/10) + L * t frames in the
//   t seconds since it was configured (its token bucket holds a tenth of a second).
#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fuzz/check.h"
#include "switchd/core/datapath.h"
#include "switchd/core/frame.h"
#include "switchd/core/offload.h"
#include "switchd/core/types.h"

namespace switchd {
namespace {

constexpr size_t kSlots = 8;
constexpr size_t kMaxMacs = 64;
constexpr size_t kMaxArp = 32;
// Port ids are the smallest free ones, so with kSlots ports they stay below this.
constexpr size_t kMaxPortIds = 128;
constexpr uint32_t kStormLimits[8] = {0, 1, 5, 10, 25, 100, 1000, 100000};

// Reads the program; every read past the end fails and ends the program.
class Reader {
 public:
  explicit Reader(std::span<const std::byte> bytes) : bytes_(bytes) {}
  bool done() const { return pos_ >= bytes_.size(); }
  std::optional<uint8_t> U8() {
    if (pos_ >= bytes_.size()) return std::nullopt;
    return std::to_integer<uint8_t>(bytes_[pos_++]);
  }
  std::optional<std::span<const std::byte>> Bytes(size_t n, bool allow_short = false) {
    const size_t left = bytes_.size() - pos_;
    if (n > left) {
      if (!allow_short) return std::nullopt;
      n = left;
    }
    std::span<const std::byte> out = bytes_.subspan(pos_, n);
    pos_ += n;
    return out;
  }

 private:
  std::span<const std::byte> bytes_;
  size_t pos_ = 0;
};

// What the sink and the observer need to know about the frame being received.
struct Current {
  bool in_receive = false;
  bool in_run = false;
  PortId ingress = kNoPort;
  std::span<const std::byte> frame;
  std::optional<ArpPacket> arp_request;  // the frame is a well-formed ARP request
  bool refuse = false;                   // the sink refuses the frame's sends
};

class CheckingSink : public FrameSink {
 public:
  // `offloads` says, by PortId, which registered ports take offloaded frames.
  CheckingSink(const Current& current, const std::array<bool, kMaxPortIds>& offloads)
      : current_(current), offloads_(offloads) {}
  void set_datapath(const Datapath* datapath) { datapath_ = datapath; }

  bool Send(PortId port, std::span<const std::byte> frame, const VnetHeader& vnet) override {
    FUZZ_CHECK(current_.in_receive, "a frame was sent outside Receive");
    FUZZ_CHECK(datapath_->HasPort(port), "a frame was sent to a port that is not registered");
    FUZZ_CHECK(!frame.empty() && frame.size() <= kMaxFrameSize, "sent frame size");
    FUZZ_CHECK(vnet.IsPlain() || offloads_[ToIndex(port)],
               "an offloaded frame went to a port without offloads");
    if (port == current_.ingress) {
      // The one frame allowed back out of the ingress port: the switch's answer to an ARP
      // request, which is a new frame, not the request.
      FUZZ_CHECK(current_.arp_request, "a frame went back out of its ingress port");
      FUZZ_CHECK(
          !std::equal(frame.begin(), frame.end(), current_.frame.begin(), current_.frame.end()),
          "the received frame itself went back out of its ingress port");
      const std::optional<EthernetFrame> eth = ParseEthernet(frame);
      FUZZ_CHECK(eth && eth->ethertype == kEtherTypeArp, "non-ARP frame back out of ingress");
      const std::optional<ArpPacket> reply = ParseArp(eth->payload);
      const ArpPacket& request = *current_.arp_request;
      FUZZ_CHECK(reply && reply->op == ArpOp::kReply, "ARP answer is not a reply");
      FUZZ_CHECK(eth->dst == request.sender_mac && reply->target_mac == request.sender_mac &&
                     reply->target_ip == request.sender_ip && reply->sender_ip == request.target_ip,
                 "ARP answer does not answer the request");
      ++answers_;
    } else {
      ++forwarded_;
    }
    return !current_.refuse;
  }

  // Frames sent back out of the ingress port (ARP answers) and out of other ports since Reset.
  size_t answers() const { return answers_; }
  size_t forwarded() const { return forwarded_; }
  void Reset() { answers_ = forwarded_ = 0; }

 private:
  const Current& current_;
  const std::array<bool, kMaxPortIds>& offloads_;
  const Datapath* datapath_ = nullptr;
  size_t answers_ = 0;
  size_t forwarded_ = 0;
};

class CheckingEvents : public DatapathEvents {
 public:
  explicit CheckingEvents(const Current& current) : current_(current) {}
  void OnMacLearned(const MacEntry& entry) override {
    FUZZ_CHECK(current_.in_receive && entry.port == current_.ingress && !entry.is_static,
               "learned outside Receive or on another port");
  }
  void OnMacMoved(const MacEntry& entry, PortId from) override {
    FUZZ_CHECK(current_.in_receive && entry.port == current_.ingress && from != entry.port,
               "moved outside Receive, or to where it was");
  }
  void OnMacMoveDamped(const MacEntry& entry, PortId attempted) override {
    FUZZ_CHECK(current_.in_receive && attempted == current_.ingress && entry.port != attempted,
               "a damped move outside Receive, or from the port it is on");
  }
  void OnMacExpired(const MacEntry& entry) override {
    FUZZ_CHECK(current_.in_run && !entry.is_static, "expired outside Run, or a static entry");
  }
  void OnMacEvicted(const MacEntry& entry) override {
    FUZZ_CHECK(!entry.is_static, "a static entry was evicted");
  }
  void OnArpLearned(const ArpBinding& binding) override {
    FUZZ_CHECK(current_.in_receive && binding.port == current_.ingress, "ARP learned elsewhere");
  }
  void OnArpExpired(const ArpBinding& binding) override {
    FUZZ_CHECK(current_.in_run && !binding.is_static, "ARP expired outside Run, or static");
  }

 private:
  const Current& current_;
};

class Harness {
 public:
  explicit Harness(uint8_t config)
      : sink_(current_, offloads_),
        events_(current_),
        datapath_(sink_, DatapathConfig{kMaxMacs, kMaxArp, MacTable::kDefaultAgingTime},
                  (config & 1) ? &events_ : nullptr) {
    sink_.set_datapath(&datapath_);
    for (size_t slot = 0; slot < 3; ++slot) AddPort(slot, (config >> (1 + slot)) & 1);
  }

  // Runs one operation; false when the input ended inside it.
  bool Step(Reader& in) {
    const std::optional<uint8_t> op = in.U8();
    if (!op) return false;
    switch (*op % 8) {
      case 0:
      case 1:
      case 2:
        if (!Receive(in)) return false;
        break;
      case 3: {
        const std::optional<uint8_t> s = in.U8();
        if (!s) return false;
        now_ += *s < 200 ? Duration(std::chrono::milliseconds(10 * *s))
                         : Duration(std::chrono::seconds(15 * (*s - 199)));
        break;
      }
      case 4:
        Run();
        break;
      case 5: {
        const std::optional<uint8_t> p = in.U8();
        if (!p) return false;
        AddPort(*p % kSlots, (*p & 0x80) != 0);
        break;
      }
      case 6: {
        const std::optional<uint8_t> p = in.U8();
        if (!p) return false;
        if (slots_[*p % kSlots]) datapath_.RemovePort(*slots_[*p % kSlots]);
        slots_[*p % kSlots].reset();
        break;
      }
      case 7:
        if (!TableOp(in)) return false;
        break;
    }
    CheckTables();
    return true;
  }

 private:
  void AddPort(size_t slot, bool offloads) {
    Result<PortId> id = datapath_.AddPort("p" + std::to_string(slot), PortOptions{offloads});
    FUZZ_CHECK(id.ok() == !slots_[slot], "AddPort refused a new name or took a taken one");
    if (!id.ok()) return;
    slots_[slot] = *id;
    FUZZ_CHECK(ToIndex(*id) < kMaxPortIds, "port ids are not the smallest free ones");
    offloads_[ToIndex(*id)] = offloads;
    model_[ToIndex(*id)] = PortModel{};
  }

  PortId PortFor(uint8_t p) const {
    if (!(p & 0x80) && slots_[p % kSlots]) return *slots_[p % kSlots];
    return PortId{static_cast<uint32_t>(p & 0x7f)};
  }

  bool Receive(Reader& in) {
    const std::optional<uint8_t> p = in.U8();
    const std::optional<uint8_t> flags = in.U8();
    if (!p || !flags) return false;
    VnetHeader vnet;
    if (*flags & 1) {
      const auto header = in.Bytes(kVnetHeaderSize);
      if (!header) return false;
      vnet = ReadVnetHeader(*header);
    }
    const std::optional<uint8_t> hi = in.U8();
    const std::optional<uint8_t> lo = in.U8();
    if (!hi || !lo) return false;
    const auto bytes = in.Bytes(size_t{*hi} << 8 | *lo, /*allow_short=*/true);
    // The frame in a buffer of its own size, so that ASan sees any read past its end.
    const std::vector<std::byte> frame(bytes->begin(), bytes->end());

    const PortId ingress = PortFor(*p);
    const bool known = datapath_.HasPort(ingress);
    // The edge passes a virtio-net header only for ports with offloads.
    if (!known || !offloads_[ToIndex(ingress)]) vnet = VnetHeader{};

    current_ = Current{};
    current_.in_receive = true;
    current_.ingress = ingress;
    current_.frame = frame;
    current_.refuse = (*flags & 2) != 0;
    const std::optional<EthernetFrame> eth = ParseEthernet(frame);
    if (eth && eth->ethertype == kEtherTypeArp) {
      current_.arp_request = ParseArp(eth->payload);
      if (current_.arp_request && current_.arp_request->op != ArpOp::kRequest) {
        current_.arp_request.reset();
      }
    }
    sink_.Reset();
    const uint64_t flooded_before = datapath_.stats().flooded;
    datapath_.Receive(ingress, frame, now_, vnet);
    current_.in_receive = false;
    if (known && datapath_.stats().flooded != flooded_before) {
      PortModel& model = model_[ToIndex(ingress)];
      ++model.floods;
      if (model.storm_limit != 0) {
        const double limit = model.storm_limit;
        const double seconds = std::chrono::duration<double>(now_ - model.configured).count();
        const double allowed = std::max(1.0, limit / 10) + limit * seconds;
        FUZZ_CHECK(static_cast<double>(model.floods) <= allowed + 1e-3,
                   "a port flooded more than its storm limit allows");
      }
    }

    const size_t sent = sink_.answers() + sink_.forwarded();
    FUZZ_CHECK(sink_.answers() <= 1, "more than one ARP answer to one request");
    FUZZ_CHECK(sink_.answers() == 0 || sink_.forwarded() == 0,
               "an ARP request was answered and forwarded too");
    FUZZ_CHECK(known || sent == 0, "a frame from an unknown port was forwarded");
    FUZZ_CHECK(eth || sent == 0, "a frame that does not parse was forwarded");
    FUZZ_CHECK(!eth || !(eth->src.IsMulticast() || eth->src.IsZero()) || sent == 0,
               "a frame from a multicast or zero source MAC was forwarded");
    FUZZ_CHECK(!eth || eth->vid() == 0 || sent == 0,
               "a frame tagged with a VID was admitted on an access port");
    return true;
  }

  void Run() {
    current_ = Current{};
    current_.in_run = true;
    datapath_.Run(now_);
    current_.in_run = false;
    for (const MacEntry& e : datapath_.mac_table().Entries()) {
      FUZZ_CHECK(e.is_static || e.last_seen > now_ - datapath_.aging_time(),
                 "a dynamic entry older than the aging time survived Run");
    }
  }

  static MacAddress ToMac(std::span<const std::byte> b) { return MacAddress::FromBytes(b); }

  bool TableOp(Reader& in) {
    const std::optional<uint8_t> kind = in.U8();
    if (!kind) return false;
    MacTable& macs = datapath_.mac_table();
    switch (*kind % 6) {
      case 0: {
        const auto mac = in.Bytes(6);
        const std::optional<uint8_t> p = in.U8();
        const std::optional<uint8_t> v = in.U8();
        if (!mac || !p || !v) return false;
        // As add-mac does: only for a registered port and a unicast MAC.
        const PortId port = PortFor(*p);
        if (!datapath_.HasPort(port) || ToMac(*mac).IsMulticast()) break;
        const size_t before = macs.size();
        const Status status = macs.AddStatic(ToMac(*mac), *v % 4, port, now_);
        FUZZ_CHECK(status.ok() || macs.size() == before, "a failed AddStatic changed the table");
        FUZZ_CHECK(!status.ok() || macs.Lookup(ToMac(*mac), *v % 4) == port,
                   "a static entry is not where it was added");
        break;
      }
      case 1: {
        const auto mac = in.Bytes(6);
        if (!mac) return false;
        macs.RemoveMac(ToMac(*mac));
        FUZZ_CHECK(!macs.Lookup(ToMac(*mac), kDefaultVlan), "a removed MAC is still found");
        break;
      }
      case 2: {
        const std::optional<uint8_t> p = in.U8();
        if (!p) return false;
        const PortId port = PortFor(*p);
        macs.Flush(port, (*p & 0x80) != 0);
        FUZZ_CHECK(macs.CountOnPort(port) == 0, "a flushed port still holds dynamic entries");
        break;
      }
      case 3: {
        const std::optional<uint8_t> s = in.U8();
        if (!s) return false;
        datapath_.set_aging_time(std::chrono::seconds(1 + *s));
        break;
      }
      case 5: {
        const std::optional<uint8_t> p = in.U8();
        const std::optional<uint8_t> m = in.U8();
        const std::optional<uint8_t> l = in.U8();
        if (!p || !m || !l) return false;
        const PortId port = PortFor(*p);
        PortSettings settings;
        settings.max_macs = size_t{*m} % 8;
        settings.storm_limit = kStormLimits[*l % 8];
        const Status status = datapath_.ConfigurePort(port, settings);
        FUZZ_CHECK(status.ok() == datapath_.HasPort(port), "ConfigurePort result");
        if (status.ok()) {
          PortModel& model = model_[ToIndex(port)];
          model.storm_limit = settings.storm_limit;
          model.configured = now_;
          model.floods = 0;
        }
        break;
      }
      case 4: {
        const auto ip = in.Bytes(4);
        const auto mac = in.Bytes(6);
        const std::optional<uint8_t> v = in.U8();
        if (!ip || !mac || !v) return false;
        if (ToMac(*mac).IsMulticast()) break;
        (void)datapath_.arp_table().AddStatic(Ipv4Address::FromBytes(*ip), *v % 4, ToMac(*mac),
                                              now_);
        break;
      }
    }
    return true;
  }

  void CheckTables() {
    const MacTable& macs = datapath_.mac_table();
    FUZZ_CHECK(macs.size() <= macs.capacity() && macs.capacity() == kMaxMacs,
               "the MAC table grew over its bound");
    FUZZ_CHECK(macs.static_count() <= macs.size(), "more static entries than entries");
    const std::vector<MacEntry> entries = macs.Entries();
    FUZZ_CHECK(entries.size() == macs.size(), "Entries() and size() disagree");
    size_t dynamic = 0;
    for (const MacEntry& e : entries) {
      FUZZ_CHECK(datapath_.HasPort(e.port), "a MAC entry on a port that is gone");
      dynamic += !e.is_static;
    }
    size_t counted = 0;
    for (const PortInfo& port : datapath_.Ports()) {
      const size_t count = macs.CountOnPort(port.id);
      counted += count;
      PortModel& model = model_[ToIndex(port.id)];
      const size_t limit = port.settings.max_macs;
      FUZZ_CHECK(limit == 0 || count <= std::max(limit, model.macs),
                 "a port gained MAC entries over its MAC limit");
      model.macs = count;
    }
    FUZZ_CHECK(counted == dynamic && dynamic + macs.static_count() == macs.size(),
               "per-port counts do not add up to the table's size");
    const ArpTable& arp = datapath_.arp_table();
    FUZZ_CHECK(arp.size() <= arp.capacity() && arp.capacity() == kMaxArp,
               "the ARP table grew over its bound");
  }

  // What the harness remembers of each port, by PortId, to check limits over time.
  struct PortModel {
    size_t macs = 0;  // dynamic entries after the previous operation
    uint32_t storm_limit = 0;
    Time configured{};    // when the storm limit was set
    uint64_t floods = 0;  // frames flooded from the port since then
  };

  Current current_;
  std::array<bool, kMaxPortIds> offloads_{};  // by PortId
  std::array<PortModel, kMaxPortIds> model_{};
  CheckingSink sink_;
  CheckingEvents events_;
  Datapath datapath_;
  std::array<std::optional<PortId>, kSlots> slots_;
  Time now_ = Time{} + std::chrono::seconds(1000);
};

}  // namespace
}  // namespace switchd

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace switchd;
  if (size == 0) return 0;
  Reader in(std::as_bytes(std::span(data, size)));
  Harness harness(*in.U8());
  while (harness.Step(in)) {
  }
  return 0;
}
