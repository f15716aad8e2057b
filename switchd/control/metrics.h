// Metrics: the switch's counters in the Prometheus text exposition format, version 0.0.4, for the
// --metrics HTTP endpoint (switchd/io/metrics_server.h serves them). Pure: TakeMetricsSnapshot
// copies the numbers out of the datapath, RenderMetrics turns a snapshot into text; no sockets,
// no clock. docs/metrics.md lists every family.
//
// The text: each family is one block, `# HELP`, `# TYPE`, then its samples, never split. Counters
// are named switchd_..._total and never go down while switchd runs (the totals keep the counters
// of removed ports; a port's own series go away with it). Per-port families carry a
// port="NAME" label, escaped as the format asks (\\, \", \n) and made valid UTF-8.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "switchd/control/methods.h"
#include "switchd/core/arp_table.h"
#include "switchd/core/datapath.h"
#include "switchd/core/mac_table.h"

namespace switchd {

// The Content-Type of RenderMetrics's text.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// Every number the metrics show, copied at one moment.
struct MetricsSnapshot {
  struct Port {
    std::string name;
    bool up = false;
    PortCounters counters;
    size_t macs = 0;      // dynamic MAC entries learned on the port
    size_t max_macs = 0;  // the port's MAC limit; 0: none
  };

  std::string version;  // switchd's, for switchd_build_info
  DatapathStats frames;
  PortCounters totals;  // Datapath::TotalCounters
  MacTableStats mac_stats;
  size_t mac_entries = 0;
  size_t mac_static = 0;
  size_t mac_capacity = 0;
  ArpTableStats arp_stats;
  size_t arp_entries = 0;
  size_t arp_static = 0;
  size_t arp_capacity = 0;
  int64_t aging_seconds = 0;
  std::vector<Port> ports;  // ordered by port number
};

// Copies `datapath`'s counters and table sizes, and each port's link state from `backend`.
// O(ports); no table walk.
MetricsSnapshot TakeMetricsSnapshot(const Datapath& datapath, const PortBackend& backend,
                                    std::string_view version);

// The snapshot as a Prometheus text exposition (kMetricsContentType), ending with a newline.
std::string RenderMetrics(const MetricsSnapshot& snapshot);

// `value` as the inside of a quoted label value: backslash, double quote and newline escaped
// (\\, \", \n), and each byte that is not part of valid UTF-8 replaced by U+FFFD.
std::string EscapeLabelValue(std::string_view value);

}  // namespace switchd
