// MacTable learn and lookup at 1k, 64k and 1M entries (capacity == entries, so the table is full),
// and what an entry costs in memory.
//
// Every run fills a fresh table with N stations spread over 16 ports, then times one operation
// per iteration over keys visited in a random permutation, so that at 64k and 1M nearly every
// operation misses the caches (bucket and slab are both random accesses) and is not helped by the
// previous one. Lookup is timed twice: independent lookups (what a batch of frames does: the CPU
// overlaps the misses of consecutive lookups) and dependent ones, where each key is chosen from the
// previous lookup's result (the full latency of one lookup, misses not overlapped).
//
// Counters: bytes_per_entry is MacTable::BytesPerEntry() (slab plus index, from the layout);
// rss_bytes_per_entry is the growth of the process's resident set (/proc/self/statm) across
// constructing and filling the table, divided by N.
//
// Keys are read from arrays built before timing, never built in the loop: GCC builds a MacAddress
// on the stack in two stores and reads it back with a wider load, which cannot be forwarded from
// the stores and so waits for the previous operation's cache misses to retire. That serialized
// the "independent" lookups at 1M (about 330 ns instead of 150-200 ns on the README's machine).
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <vector>

#include "bench/micro/bench_util.h"
#include "switchd/core/mac_table.h"
#include "switchd/core/types.h"

namespace switchd::bench {
namespace {

constexpr uint32_t kPorts = 16;

// Station s sits on port s % 16, which its MAC's last byte tells.
PortId PortOf(MacAddress mac) { return PortId{static_cast<uint32_t>(mac.bytes()[5] % kPorts)}; }

// The MACs of stations 0..n-1 in a random (but fixed) order.
std::vector<MacAddress> ShuffledStations(size_t n) {
  std::vector<uint64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(42));
  std::vector<MacAddress> macs;
  macs.reserve(n);
  for (uint64_t s : order) macs.push_back(StationMac(s));
  return macs;
}

size_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0;
  size_t resident_pages = 0;
  statm >> pages >> resident_pages;
  return resident_pages * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

struct FullTable {
  std::unique_ptr<MacTable> table;
  double rss_bytes_per_entry = 0;
};

// A table of capacity `n` holding stations 0..n-1 (station s on port s % 16), learned at `now`.
FullTable MakeFullTable(size_t n, Time now) {
  // Hand freed memory (an earlier run's table) back to the kernel first, so that the table cannot
  // reuse pages that are already resident and hide from the measurement.
  malloc_trim(0);
  const size_t before = ResidentBytes();
  FullTable full{std::make_unique<MacTable>(n)};
  for (uint64_t s = 0; s < n; ++s) {
    full.table->Learn(StationMac(s), kDefaultVlan, PortOf(StationMac(s)), now);
  }
  const size_t after = ResidentBytes();
  full.rss_bytes_per_entry =
      static_cast<double>(after > before ? after - before : 0) / static_cast<double>(n);
  return full;
}

void ReportTable(benchmark::State& state, const FullTable& full) {
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes_per_entry"] = static_cast<double>(MacTable::BytesPerEntry());
  state.counters["rss_bytes_per_entry"] = full.rss_bytes_per_entry;
}

// Lookup hits, independent of each other.
void BM_MacTableLookup(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  const std::vector<MacAddress> macs = ShuffledStations(n);
  BatchClock clock;
  const FullTable full = MakeFullTable(n, clock.now());
  const MacTable& table = *full.table;

  size_t i = 0;
  uint64_t misses = 0;
  for (auto _ : state) {
    const std::optional<PortId> port = table.Lookup(macs[i], kDefaultVlan);
    misses += !port.has_value();
    benchmark::DoNotOptimize(port);
    if (++i == n) i = 0;
  }

  if (misses != 0) state.SkipWithError("a lookup missed");
  ReportTable(state, full);
}
BENCHMARK(BM_MacTableLookup)->ArgName("entries")->Arg(1 << 10)->Arg(1 << 16)->Arg(1 << 20);

// Lookup hits, each key depending on the previous result: `salt` is always 0, but the CPU only
// knows that once the previous lookup has returned, so the misses cannot overlap. This is the
// latency of one lookup.
void BM_MacTableLookupDependent(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  const std::vector<MacAddress> macs = ShuffledStations(n);
  BatchClock clock;
  const FullTable full = MakeFullTable(n, clock.now());
  const MacTable& table = *full.table;

  size_t i = 0;
  uint32_t salt = 0;
  uint64_t misses = 0;
  for (auto _ : state) {
    const MacAddress mac = macs[i ^ salt];
    const std::optional<PortId> port = table.Lookup(mac, kDefaultVlan);
    misses += !port.has_value();
    // Masked so that even after a miss macs[i ^ salt] stays in bounds (n is a multiple of 16).
    salt = (ToIndex(port.value_or(kNoPort)) ^ ToIndex(PortOf(mac))) & (kPorts - 1);
    if (++i == n) i = 0;
  }

  if (misses != 0) state.SkipWithError("a lookup missed");
  ReportTable(state, full);
}
BENCHMARK(BM_MacTableLookupDependent)->ArgName("entries")->Arg(1 << 10)->Arg(1 << 16)->Arg(1 << 20);

// Learn of a station already in the table on the same port: the common case on the wire. It
// finds the entry, updates last_seen and moves it to the tail of its port's LRU list.
void BM_MacTableLearnRefresh(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  const std::vector<MacAddress> macs = ShuffledStations(n);
  BatchClock clock;
  const FullTable full = MakeFullTable(n, clock.now());
  MacTable& table = *full.table;

  size_t i = 0;
  for (auto _ : state) {
    const LearnOutcome outcome = table.Learn(macs[i], kDefaultVlan, PortOf(macs[i]), clock.Next());
    benchmark::DoNotOptimize(outcome.kind);
    if (++i == n) i = 0;
  }

  if (table.stats().learned != n || table.stats().moved != 0 || table.size() != n) {
    state.SkipWithError("learning did not only refresh");
  }
  ReportTable(state, full);
}
BENCHMARK(BM_MacTableLearnRefresh)->ArgName("entries")->Arg(1 << 10)->Arg(1 << 16)->Arg(1 << 20);

// Learn of a station never seen before into the full table, new stations arriving round-robin on
// the 16 ports (a MAC flood): each one evicts the least recently seen entry of the busiest port
// (unlink and unindex), then takes its slot (index and link). The new MACs cycle through 2N
// stations beyond the first N; a station comes round again only after N newer ones have evicted
// it, so every Learn is a new entry (checked after the run).
void BM_MacTableLearnNewEvicting(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  std::vector<MacAddress> arriving;
  arriving.reserve(2 * n);
  for (uint64_t s = n; s < 3 * n; ++s) arriving.push_back(StationMac(s));
  BatchClock clock;
  const FullTable full = MakeFullTable(n, clock.now());
  MacTable& table = *full.table;

  size_t i = 0;
  for (auto _ : state) {
    const LearnOutcome outcome =
        table.Learn(arriving[i], kDefaultVlan, PortOf(arriving[i]), clock.Next());
    benchmark::DoNotOptimize(outcome.kind);
    if (++i == arriving.size()) i = 0;
  }

  const auto learned = static_cast<uint64_t>(state.iterations());
  if (table.stats().evicted != learned || table.stats().learned != n + learned) {
    state.SkipWithError("learning did not evict one entry per new station");
  }
  ReportTable(state, full);
}
BENCHMARK(BM_MacTableLearnNewEvicting)
    ->ArgName("entries")
    ->Arg(1 << 10)
    ->Arg(1 << 16)
    ->Arg(1 << 20);

}  // namespace
}  // namespace switchd::bench
