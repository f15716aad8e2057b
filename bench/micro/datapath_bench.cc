// Datapath::Receive per frame: known unicast, broadcast flooding, and ARP requests the switch
// answers. Frames are built once before timing; the sink discards what the datapath sends, so
// the figures are the core's cost alone (parse, learn, decide, one virtual Send per copy), not
// the TAP writes around it. Each run checks afterwards that every frame took the intended path.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "bench/micro/bench_util.h"
#include "switchd/core/datapath.h"
#include "switchd/core/frame.h"
#include "switchd/core/types.h"

namespace switchd::bench {
namespace {

using Frame = std::vector<std::byte>;

// Counts the frames it is handed and drops them.
class DiscardSink final : public FrameSink {
 public:
  bool Send(PortId /*port*/, std::span<const std::byte> frame,
            const VnetHeader& /*vnet*/) override {
    benchmark::DoNotOptimize(frame.data());
    ++sent_;
    return true;
  }
  uint64_t sent() const { return sent_; }

 private:
  uint64_t sent_ = 0;
};

// A datapath with the default configuration (8192 MACs) and `port_count` ports p0, p1, ...
struct Switch {
  explicit Switch(size_t port_count) : datapath(sink, DatapathConfig{}) {
    for (size_t i = 0; i < port_count; ++i)
      ports.push_back(*datapath.AddPort("p" + std::to_string(i)));
  }
  DiscardSink sink;
  Datapath datapath;
  std::vector<PortId> ports;
};

// A 60-byte IPv4 frame (the Ethernet minimum without FCS). The datapath looks no further than the
// Ethernet header here, so the payload is left zero.
Frame MakeIpv4Frame(MacAddress dst, MacAddress src) {
  Frame frame(60);
  dst.CopyTo(frame);
  src.CopyTo(std::span(frame).subspan(6));
  frame[12] = std::byte{kEtherTypeIpv4 >> 8};
  frame[13] = std::byte{kEtherTypeIpv4 & 0xff};
  return frame;
}

Frame MakeArpFrame(MacAddress eth_dst, MacAddress eth_src, const ArpPacket& arp) {
  Frame frame(kMaxArpFrameSize);
  frame.resize(BuildArp(frame, eth_dst, eth_src, std::nullopt, arp));
  return frame;
}

void ReportFrames(benchmark::State& state) { state.SetItemsProcessed(state.iterations()); }

// Known unicast between `stations` stations, half on p0 and half on p1, each frame out of the
// other port. The table also holds 4096 entries of stations on p2 and p3 (8192-entry table about
// half full). With 2 stations the frames alternate A->B, B->A: the hot-cache case. With 2048 the
// frames cycle over 4096 random pairs, so the learn and the lookup land on different entries each
// frame.
void BM_ReceiveKnownUnicast(benchmark::State& state) {
  const auto stations = static_cast<uint64_t>(state.range(0));
  constexpr uint64_t kOtherStations = 4096;
  Switch sw(4);
  BatchClock clock;
  MacTable& table = sw.datapath.mac_table();
  for (uint64_t i = 0; i < kOtherStations; ++i) {
    table.Learn(StationMac(stations + i), kDefaultVlan, sw.ports[2 + i % 2], clock.now());
  }
  for (uint64_t s = 0; s < stations; ++s) {
    table.Learn(StationMac(s), kDefaultVlan, sw.ports[s % 2], clock.now());
  }
  std::mt19937_64 random(1);
  std::vector<Frame> frames;
  std::vector<PortId> ingress;
  for (uint64_t f = 0; f < 2 * stations; ++f) {
    const uint64_t src = f % stations;
    uint64_t dst = random() % stations;
    if (dst % 2 == src % 2) dst ^= 1;  // the other port
    frames.push_back(MakeIpv4Frame(StationMac(dst), StationMac(src)));
    ingress.push_back(sw.ports[src % 2]);
  }

  size_t i = 0;
  for (auto _ : state) {
    sw.datapath.Receive(ingress[i], frames[i], clock.Next());
    if (++i == frames.size()) i = 0;
  }

  const auto n = static_cast<uint64_t>(state.iterations());
  if (sw.datapath.stats().unicast_forwarded != n || sw.sink.sent() != n ||
      table.stats().learned != kOtherStations + stations) {
    state.SkipWithError("frames did not all go out as known unicast");
  }
  ReportFrames(state);
}
BENCHMARK(BM_ReceiveKnownUnicast)->ArgName("stations")->Arg(2)->Arg(2048);

// A broadcast frame from a station on p0, flooded to every other port of a `ports`-port switch.
void BM_ReceiveFloodBroadcast(benchmark::State& state) {
  const auto port_count = static_cast<size_t>(state.range(0));
  Switch sw(port_count);
  BatchClock clock;
  const Frame frame = MakeIpv4Frame(MacAddress::Broadcast(), StationMac(0));

  for (auto _ : state) {
    sw.datapath.Receive(sw.ports[0], frame, clock.Next());
  }

  const auto n = static_cast<uint64_t>(state.iterations());
  if (sw.datapath.stats().flooded != n || sw.sink.sent() != n * (port_count - 1)) {
    state.SkipWithError("frames were not flooded to every other port");
  }
  state.counters["copies_per_frame"] = static_cast<double>(port_count - 1);
  ReportFrames(state);
}
BENCHMARK(BM_ReceiveFloodBroadcast)->ArgName("ports")->Arg(8)->Arg(64);

// A who-has request from A on p0 for B's address, answered by the switch out of p0: B announced
// itself on p1 (gratuitous ARP), so its binding is known and its MAC is learned on another port.
void BM_ReceiveArpRequestAnswered(benchmark::State& state) {
  Switch sw(4);
  BatchClock clock;
  const MacAddress a = StationMac(1);
  const MacAddress b = StationMac(2);
  const Ipv4Address a_ip(0xc6120001);  // 198.18.0.1
  const Ipv4Address b_ip(0xc6120002);  // 198.18.0.2
  const Frame announce =
      MakeArpFrame(MacAddress::Broadcast(), b, ArpPacket{ArpOp::kRequest, b, b_ip, {}, b_ip});
  sw.datapath.Receive(sw.ports[1], announce, clock.now());
  const Frame request =
      MakeArpFrame(MacAddress::Broadcast(), a, ArpPacket{ArpOp::kRequest, a, a_ip, {}, b_ip});
  const uint64_t sent_before = sw.sink.sent();

  for (auto _ : state) {
    sw.datapath.Receive(sw.ports[0], request, clock.Next());
  }

  const auto n = static_cast<uint64_t>(state.iterations());
  if (sw.datapath.stats().arp_answered != n || sw.sink.sent() - sent_before != n) {
    state.SkipWithError("requests were not all answered by the switch");
  }
  ReportFrames(state);
}
BENCHMARK(BM_ReceiveArpRequestAnswered);

}  // namespace
}  // namespace switchd::bench
