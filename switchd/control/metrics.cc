#include "switchd/control/metrics.h"

#include <chrono>

namespace switchd {
namespace {

// The length of the valid UTF-8 sequence starting at text[i] (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF), or 0 when none starts there.
size_t Utf8SequenceLength(std::string_view text, size_t i) {
  auto byte = [&](size_t k) -> int {
    return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : -1;
  };
  auto continuation = [&](size_t k, int low = 0x80, int high = 0xbf) {
    const int b = byte(k);
    return b >= low && b <= high;
  };
  const int lead = byte(0);
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return continuation(1) ? 2 : 0;
  if (lead >= 0xe0 && lead <= 0xef) {
    const int low = lead == 0xe0 ? 0xa0 : 0x80;   // overlong below U+0800
    const int high = lead == 0xed ? 0x9f : 0xbf;  // surrogates U+D800..U+DFFF
    return continuation(1, low, high) && continuation(2) ? 3 : 0;
  }
  if (lead >= 0xf0 && lead <= 0xf4) {
    const int low = lead == 0xf0 ? 0x90 : 0x80;   // overlong below U+10000
    const int high = lead == 0xf4 ? 0x8f : 0xbf;  // above U+10FFFF
    return continuation(1, low, high) && continuation(2) && continuation(3) ? 4 : 0;
  }
  return 0;
}

// Writes families in the text format. Each family is written whole before the next one starts.
class Exposition {
 public:
  void Family(std::string_view name, std::string_view type, std::string_view help) {
    // Help texts are constants here: no backslash or newline to escape.
    Line("# HELP ", name, " ", help);
    Line("# TYPE ", name, " ", type);
  }
  void Sample(std::string_view name, uint64_t value) { Line(name, " ", std::to_string(value)); }
  // `label_value` already escaped.
  void Sample(std::string_view name, std::string_view label, std::string_view label_value,
              uint64_t value) {
    Line(name, "{", label, "=\"", label_value, "\"} ", std::to_string(value));
  }

  void Counter(std::string_view name, std::string_view help, uint64_t value) {
    Family(name, "counter", help);
    Sample(name, value);
  }
  void Gauge(std::string_view name, std::string_view help, uint64_t value) {
    Family(name, "gauge", help);
    Sample(name, value);
  }

  std::string Take() { return std::move(text_); }

 private:
  template <typename... Parts>
  void Line(const Parts&... parts) {
    (text_.append(std::string_view(parts)), ...);
    text_ += '\n';
  }

  std::string text_;
};

using PortValue = uint64_t (*)(const MetricsSnapshot::Port&);

struct PortFamily {
  std::string_view name;
  std::string_view type;
  std::string_view help;
  PortValue value;
};

// clang-format off
constexpr PortFamily kPortFamilies[] = {
    {"switchd_port_up", "gauge", "Whether the port's interface is up (1) or down (0).",
     [](const MetricsSnapshot::Port& p) -> uint64_t { return p.up ? 1 : 0; }},
    {"switchd_port_rx_packets_total", "counter", "Frames received on the port.",
     [](const MetricsSnapshot::Port& p) { return p.counters.rx_packets; }},
    {"switchd_port_rx_bytes_total", "counter", "Bytes received on the port.",
     [](const MetricsSnapshot::Port& p) { return p.counters.rx_bytes; }},
    {"switchd_port_tx_packets_total", "counter", "Frames sent out of the port.",
     [](const MetricsSnapshot::Port& p) { return p.counters.tx_packets; }},
    {"switchd_port_tx_bytes_total", "counter", "Bytes sent out of the port.",
     [](const MetricsSnapshot::Port& p) { return p.counters.tx_bytes; }},
    {"switchd_port_rx_dropped_total", "counter",
     "Frames received on the port and dropped (malformed, VLAN, storm control).",
     [](const MetricsSnapshot::Port& p) { return p.counters.rx_dropped; }},
    {"switchd_port_tx_dropped_total", "counter",
     "Frames for the port that could not be sent (tx failed, offload).",
     [](const MetricsSnapshot::Port& p) { return p.counters.tx_dropped; }},
    {"switchd_port_storm_dropped_total", "counter",
     "Flooded frames from the port dropped by storm control (part of rx_dropped).",
     [](const MetricsSnapshot::Port& p) { return p.counters.storm_dropped; }},
    {"switchd_port_unlearned_total", "counter",
     "Frames whose new source MAC the port's MAC limit kept out of the MAC table (still forwarded).",
     [](const MetricsSnapshot::Port& p) { return p.counters.unlearned; }},
    {"switchd_port_mac_entries", "gauge", "Dynamic MAC entries learned on the port.",
     [](const MetricsSnapshot::Port& p) -> uint64_t { return p.macs; }},
    {"switchd_port_mac_limit", "gauge", "Dynamic MAC entries the port may hold; 0: no limit of its own.",
     [](const MetricsSnapshot::Port& p) -> uint64_t { return p.max_macs; }},
};
// clang-format on

}  // namespace

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size();) {
    const size_t length = Utf8SequenceLength(value, i);
    if (length == 0) {
      out += "\xef\xbf\xbd";  // U+FFFD REPLACEMENT CHARACTER
      ++i;
      continue;
    }
    const char c = value[i];
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.append(value.substr(i, length));
    }
    i += length;
  }
  return out;
}

MetricsSnapshot TakeMetricsSnapshot(const Datapath& datapath, const PortBackend& backend,
                                    std::string_view version) {
  MetricsSnapshot s;
  s.version = std::string(version);
  s.frames = datapath.stats();
  s.totals = datapath.TotalCounters();
  const MacTable& macs = datapath.mac_table();
  s.mac_stats = macs.stats();
  s.mac_entries = macs.size();
  s.mac_static = macs.static_count();
  s.mac_capacity = macs.capacity();
  const ArpTable& arp = datapath.arp_table();
  s.arp_stats = arp.stats();
  s.arp_entries = arp.size();
  s.arp_static = arp.static_count();
  s.arp_capacity = arp.capacity();
  s.aging_seconds = std::chrono::duration_cast<std::chrono::seconds>(datapath.aging_time()).count();
  for (const PortInfo& port : datapath.Ports()) {
    s.ports.push_back(MetricsSnapshot::Port{port.name, backend.Describe(port.id).up, port.counters,
                                            macs.CountOnPort(port.id), port.settings.max_macs});
  }
  return s;
}

std::string RenderMetrics(const MetricsSnapshot& s) {
  Exposition out;
  out.Family("switchd_build_info", "gauge", "switchd's version, as a label; always 1.");
  out.Sample("switchd_build_info", "version", EscapeLabelValue(s.version), 1);
  out.Gauge("switchd_up", "Whether switchd is up: 1 whenever it answers.", 1);
  out.Gauge("switchd_ports", "Ports of the switch.", s.ports.size());
  out.Gauge("switchd_aging_seconds", "Aging time of dynamic MAC entries and ARP bindings.",
            s.aging_seconds < 0 ? 0 : static_cast<uint64_t>(s.aging_seconds));

  // Frames, over every port since switchd started (removed ports included).
  const PortCounters& t = s.totals;
  out.Counter("switchd_rx_packets_total", "Frames received, all ports.", t.rx_packets);
  out.Counter("switchd_rx_bytes_total", "Bytes received, all ports.", t.rx_bytes);
  out.Counter("switchd_tx_packets_total", "Frames sent, all ports.", t.tx_packets);
  out.Counter("switchd_tx_bytes_total", "Bytes sent, all ports.", t.tx_bytes);
  const DatapathStats& f = s.frames;
  out.Counter("switchd_unicast_forwarded_total", "Known unicast frames sent out of one port.",
              f.unicast_forwarded);
  out.Counter("switchd_flooded_total", "Frames flooded: broadcast, multicast and unknown unicast.",
              f.flooded);
  out.Counter("switchd_unknown_unicast_total", "Flooded frames that were unknown unicast.",
              f.unknown_unicast);
  out.Family("switchd_dropped_total", "counter", "Frames dropped, by reason.");
  const std::pair<std::string_view, uint64_t> drops[] = {
      {"malformed", f.malformed},       {"vlan", f.vlan_dropped},
      {"local", f.local_dropped},       {"storm", f.storm_dropped},
      {"tx_failed", f.tx_failed},       {"offload", f.offload_dropped},
      {"isolated", f.isolated_dropped}, {"mirror_port", f.mirror_port_dropped},
  };
  for (const auto& [reason, value] : drops) {
    out.Sample("switchd_dropped_total", "reason", reason, value);
  }
  out.Counter("switchd_mirrored_total", "Copies sent to mirror destinations.", f.mirrored);
  out.Counter("switchd_gso_segmented_total",
              "GSO frames segmented in software for a port without offloads.", f.gso_segmented);
  out.Counter("switchd_checksums_completed_total",
              "Partial checksums completed in software for a port without offloads.",
              f.checksums_completed);

  // The MAC table.
  out.Gauge("switchd_mac_table_entries", "Entries in the MAC table, static and dynamic.",
            s.mac_entries);
  out.Gauge("switchd_mac_table_static_entries", "Static entries in the MAC table.", s.mac_static);
  out.Gauge("switchd_mac_table_capacity", "The most entries the MAC table holds.", s.mac_capacity);
  const MacTableStats& m = s.mac_stats;
  out.Counter("switchd_mac_learned_total", "Dynamic MAC entries learned.", m.learned);
  out.Counter("switchd_mac_moved_total", "Dynamic MAC entries that moved to another port.",
              m.moved);
  out.Counter("switchd_mac_move_damped_total",
              "MAC moves refused: the MAC was still active on its port.", m.move_damped);
  out.Counter("switchd_mac_expired_total", "Dynamic MAC entries aged out.", m.expired);
  out.Counter("switchd_mac_evicted_total",
              "Dynamic MAC entries evicted from the busiest port to make room.", m.evicted);
  out.Counter("switchd_mac_not_learned_total",
              "New MACs not learned: the table was full of static entries.", m.not_learned);
  out.Counter("switchd_mac_port_limited_total",
              "New MACs not learned: their port had reached its MAC limit.", m.port_limited);

  // The ARP table.
  out.Gauge("switchd_arp_table_entries", "Bindings in the ARP table, static and dynamic.",
            s.arp_entries);
  out.Gauge("switchd_arp_table_static_entries", "Static bindings in the ARP table.", s.arp_static);
  out.Gauge("switchd_arp_table_capacity", "The most bindings the ARP table holds.", s.arp_capacity);
  const ArpTableStats& a = s.arp_stats;
  out.Counter("switchd_arp_learned_total", "Dynamic ARP bindings learned.", a.learned);
  out.Counter("switchd_arp_changed_total", "Dynamic ARP bindings whose MAC changed.", a.changed);
  out.Counter("switchd_arp_expired_total", "Dynamic ARP bindings aged out.", a.expired);
  out.Counter("switchd_arp_evicted_total", "Dynamic ARP bindings evicted to make room.", a.evicted);
  out.Counter("switchd_arp_not_learned_total",
              "ARP bindings not learned: the table was full of static bindings.", a.not_learned);
  out.Counter("switchd_arp_answered_total", "ARP requests answered by the switch itself.",
              f.arp_answered);
  out.Counter("switchd_arp_flooded_total", "ARP requests flooded: no usable binding was known.",
              f.arp_flooded);

  // Per port. A family with no port still gets its HELP and TYPE.
  std::vector<std::string> names;
  names.reserve(s.ports.size());
  for (const MetricsSnapshot::Port& port : s.ports) names.push_back(EscapeLabelValue(port.name));
  for (const PortFamily& family : kPortFamilies) {
    out.Family(family.name, family.type, family.help);
    for (size_t i = 0; i < s.ports.size(); ++i) {
      out.Sample(family.name, "port", names[i], family.value(s.ports[i]));
    }
  }
  return out.Take();
}

}  // namespace switchd
