// The Prometheus text of a real Datapath, parsed back by a strict reader of the 0.0.4 format
// (every family whole, HELP and TYPE before its samples, counters named *_total, labels escaped),
// and checked against the datapath's counters and show-stats.
#include "switchd/control/metrics.h"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/helpers/frames.h"
#include "tests/helpers/recording_sink.h"

namespace switchd {
namespace {

// A Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or, without colons, a label name. (Not
// std::regex: GCC 12 warns inside it under -O1 with the sanitizers, and warnings are errors.)
bool IsName(std::string_view name, bool colons) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(colons && c == ':') && !(i > 0 && digit)) return false;
  }
  return true;
}

using nlohmann::json;
using test::At;
using test::Mac;

// What a scraper reads from the text.
struct Exposition {
  std::map<std::string, std::string> help;  // family -> help text
  std::map<std::string, std::string> type;  // family -> counter, gauge
  // (name, labels) -> value.
  std::map<std::pair<std::string, std::map<std::string, std::string>>, uint64_t> samples;
  std::vector<std::string> errors;

  uint64_t Value(const std::string& name, const std::map<std::string, std::string>& labels = {}) {
    const auto it = samples.find({name, labels});
    if (it == samples.end()) {
      ADD_FAILURE() << "no sample " << name << " with " << labels.size() << " labels";
      return UINT64_MAX;
    }
    return it->second;
  }
  uint64_t Port(const std::string& name, const std::string& port) {
    return Value(name, {{"port", port}});
  }
};

// Reads a label set {a="x",b="y"} at text[i] (after the '{'); false on a syntax error.
bool ParseLabels(const std::string& text, size_t& i, std::map<std::string, std::string>& labels) {
  // [a-zA-Z_][a-zA-Z0-9_]*
  while (i < text.size() && text[i] != '}') {
    const size_t eq = text.find('=', i);
    if (eq == std::string::npos) return false;
    const std::string name = text.substr(i, eq - i);
    if (!IsName(name, /*colons=*/false) || eq + 1 >= text.size() || text[eq + 1] != '"') {
      return false;
    }
    std::string value;
    i = eq + 2;
    for (; i < text.size() && text[i] != '"'; ++i) {
      if (text[i] == '\n') return false;
      if (text[i] != '\\') {
        value += text[i];
        continue;
      }
      if (++i >= text.size()) return false;
      if (text[i] == 'n') {
        value += '\n';
      } else if (text[i] == '\\' || text[i] == '"') {
        value += text[i];
      } else {
        return false;  // the format knows no other escape
      }
    }
    if (i >= text.size() || !labels.emplace(name, value).second) return false;
    ++i;  // the closing quote
    if (i < text.size() && text[i] == ',') ++i;
  }
  if (i >= text.size()) return false;
  ++i;  // '}'
  return true;
}

Exposition Parse(const std::string& text) {
  // [a-zA-Z_:][a-zA-Z0-9_:]*
  Exposition out;
  if (text.empty() || text.back() != '\n') out.errors.push_back("text does not end with a newline");
  std::set<std::string> finished;  // families whose block has ended
  std::string current;             // the family whose block this is
  size_t start = 0;
  for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    const std::string line = text.substr(start, end - start);
    auto error = [&](const std::string& what) { out.errors.push_back(what + ": " + line); };
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      const std::string rest = line.substr(7);
      const size_t space = rest.find(' ');
      const std::string name = rest.substr(0, space);
      const std::string value = space == std::string::npos ? "" : rest.substr(space + 1);
      if (!IsName(name, /*colons=*/true)) error("bad metric name");
      if (name != current) {
        if (!current.empty()) finished.insert(current);
        if (finished.count(name)) error("family split in two blocks");
        current = name;
      }
      auto& field = line[2] == 'H' ? out.help : out.type;
      if (!field.emplace(name, value).second) error("HELP or TYPE twice");
      if (line[2] == 'T') {
        if (value != "counter" && value != "gauge") error("unexpected type");
        if (value == "counter" && !name.ends_with("_total")) error("counter not named *_total");
        if (!out.help.count(name)) error("TYPE before HELP");
      }
      continue;
    }
    if (line.empty() || line[0] == '#') {
      error("unexpected line");
      continue;
    }
    size_t i = line.find_first_of("{ ");
    const std::string name = line.substr(0, i);
    std::map<std::string, std::string> labels;
    if (i != std::string::npos && line[i] == '{' && !ParseLabels(line, ++i, labels)) {
      error("bad labels");
      continue;
    }
    if (i == std::string::npos || line[i] != ' ') {
      error("no value");
      continue;
    }
    const std::string value = line.substr(i + 1);
    if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) {
      error("value is not a whole number");
      continue;
    }
    if (name != current || !out.type.count(name)) error("sample outside its family's block");
    if (!out.samples.emplace(std::pair(name, labels), std::stoull(value)).second) {
      error("duplicate series");
    }
  }
  return out;
}

class UpPorts : public PortBackend {
 public:
  explicit UpPorts(Datapath& datapath) : datapath_(datapath) {}
  Result<PortId> AddPort(std::string_view name, std::string_view, const PortOptions& options,
                         const LinkOptions&) override {
    return datapath_.AddPort(name, options);
  }
  Status DelPort(PortId port) override {
    datapath_.RemovePort(port);
    return Status::Ok();
  }
  PortDetails Describe(PortId port) const override {
    PortDetails details;
    details.up = down.count(port) == 0;
    return details;
  }
  std::set<PortId> down;

 private:
  Datapath& datapath_;
};

class MetricsTest : public ::testing::Test {
 protected:
  MetricsTest() : datapath_(sink_, DatapathConfig{}), backend_(datapath_) {}

  Exposition Scrape() {
    const std::string text = RenderMetrics(TakeMetricsSnapshot(datapath_, backend_, "1.2.3"));
    Exposition parsed = Parse(text);
    EXPECT_TRUE(parsed.errors.empty()) << ::testing::PrintToString(parsed.errors) << "\n" << text;
    return parsed;
  }
  json ShowStats() {
    ControlMethods methods(datapath_, backend_);
    Result<json> stats = methods.Call("show-stats", json::object(), At(200));
    EXPECT_TRUE(stats.ok());
    return stats.ok() ? *stats : json();
  }
  void Send(PortId port, MacAddress dst, MacAddress src, int64_t seconds = 100) {
    datapath_.Receive(port, test::MakeEthernet(dst, src, kEtherTypeIpv4, {}, {}, 60), At(seconds));
  }

  test::RecordingSink sink_;
  Datapath datapath_;
  UpPorts backend_;
};

TEST_F(MetricsTest, MatchShowStatsAndThePortsCounters) {
  const PortId tap0 = *datapath_.AddPort("tap0");
  const PortId tap1 = *datapath_.AddPort("tap1");
  const PortId tap2 = *datapath_.AddPort("tap2");
  ASSERT_TRUE(datapath_.ConfigurePort(tap2, test::PortLimits(1, 0)).ok());
  backend_.down.insert(tap1);
  Send(tap0, MacAddress::Broadcast(), Mac(1));
  Send(tap1, Mac(1), Mac(2));
  Send(tap2, MacAddress::Broadcast(), Mac(3));
  Send(tap2, MacAddress::Broadcast(), Mac(4));              // over tap2's MAC limit: unlearned
  Send(tap0, Mac(1), Mac(5));                               // local drop
  datapath_.Receive(tap1, test::Hex("01 02 03"), At(100));  // malformed
  datapath_.Receive(
      tap0, test::MakeArpRequest(Mac(1), test::Ip("198.18.0.1"), test::Ip("198.18.0.2")), At(100));
  sink_.FailPort(tap1);
  Send(tap2, Mac(2), Mac(3));  // tx failed
  ASSERT_TRUE(datapath_.mac_table().AddStatic(Mac(9), kDefaultVlan, tap0, At(100)).ok());

  Exposition m = Scrape();
  const json stats = ShowStats();
  const json& frames = stats.at("frames");
  EXPECT_EQ(m.Value("switchd_rx_packets_total"), frames.at("rx_packets"));
  EXPECT_EQ(m.Value("switchd_rx_packets_total"), 8u);
  EXPECT_EQ(m.Value("switchd_rx_bytes_total"), frames.at("rx_bytes"));
  EXPECT_EQ(m.Value("switchd_tx_packets_total"), frames.at("tx_packets"));
  EXPECT_EQ(m.Value("switchd_tx_bytes_total"), frames.at("tx_bytes"));
  EXPECT_EQ(m.Value("switchd_unicast_forwarded_total"), frames.at("unicast_forwarded"));
  EXPECT_EQ(m.Value("switchd_flooded_total"), frames.at("flooded"));
  EXPECT_EQ(m.Value("switchd_unknown_unicast_total"), frames.at("unknown_unicast"));
  EXPECT_EQ(m.Value("switchd_gso_segmented_total"), frames.at("gso_segmented"));
  EXPECT_EQ(m.Value("switchd_checksums_completed_total"), frames.at("checksums_completed"));
  const std::map<std::string, std::string> reasons = {
      {"malformed", "malformed"}, {"vlan", "vlan_dropped"},   {"local", "local_dropped"},
      {"storm", "storm_dropped"}, {"tx_failed", "tx_failed"}, {"offload", "offload_dropped"}};
  uint64_t dropped = 0;
  for (const auto& [reason, key] : reasons) {
    EXPECT_EQ(m.Value("switchd_dropped_total", {{"reason", reason}}), frames.at(key)) << reason;
    dropped += m.Value("switchd_dropped_total", {{"reason", reason}});
  }
  EXPECT_EQ(dropped, frames.at("dropped"));
  EXPECT_EQ(m.Value("switchd_dropped_total", {{"reason", "malformed"}}), 1u);
  EXPECT_EQ(m.Value("switchd_dropped_total", {{"reason", "local"}}), 1u);
  EXPECT_EQ(m.Value("switchd_dropped_total", {{"reason", "tx_failed"}}), 1u);

  const json& macs = stats.at("macs");
  EXPECT_EQ(m.Value("switchd_mac_table_entries"), macs.at("current"));
  EXPECT_EQ(m.Value("switchd_mac_table_entries"), 5u);
  EXPECT_EQ(m.Value("switchd_mac_table_static_entries"), macs.at("static"));
  EXPECT_EQ(m.Value("switchd_mac_table_capacity"), macs.at("max"));
  for (const char* key :
       {"learned", "moved", "move_damped", "expired", "evicted", "not_learned", "port_limited"}) {
    EXPECT_EQ(m.Value("switchd_mac_" + std::string(key) + "_total"), macs.at(key)) << key;
  }
  EXPECT_EQ(m.Value("switchd_mac_port_limited_total"), 1u);
  const json& arp = stats.at("arp");
  EXPECT_EQ(m.Value("switchd_arp_table_entries"), arp.at("current"));
  EXPECT_EQ(m.Value("switchd_arp_table_static_entries"), arp.at("static"));
  EXPECT_EQ(m.Value("switchd_arp_table_capacity"), arp.at("max"));
  for (const char* key :
       {"learned", "changed", "expired", "evicted", "not_learned", "answered", "flooded"}) {
    EXPECT_EQ(m.Value("switchd_arp_" + std::string(key) + "_total"), arp.at(key)) << key;
  }
  EXPECT_EQ(m.Value("switchd_arp_flooded_total"), 1u);
  EXPECT_EQ(m.Value("switchd_aging_seconds"), stats.at("aging"));
  EXPECT_EQ(m.Value("switchd_ports"), stats.at("ports"));
  EXPECT_EQ(m.Value("switchd_up"), 1u);
  EXPECT_EQ(m.Value("switchd_build_info", {{"version", "1.2.3"}}), 1u);

  for (const PortInfo& port : datapath_.Ports()) {
    const PortCounters& c = port.counters;
    EXPECT_EQ(m.Port("switchd_port_rx_packets_total", port.name), c.rx_packets);
    EXPECT_EQ(m.Port("switchd_port_rx_bytes_total", port.name), c.rx_bytes);
    EXPECT_EQ(m.Port("switchd_port_tx_packets_total", port.name), c.tx_packets);
    EXPECT_EQ(m.Port("switchd_port_tx_bytes_total", port.name), c.tx_bytes);
    EXPECT_EQ(m.Port("switchd_port_rx_dropped_total", port.name), c.rx_dropped);
    EXPECT_EQ(m.Port("switchd_port_tx_dropped_total", port.name), c.tx_dropped);
    EXPECT_EQ(m.Port("switchd_port_storm_dropped_total", port.name), c.storm_dropped);
    EXPECT_EQ(m.Port("switchd_port_unlearned_total", port.name), c.unlearned);
    EXPECT_EQ(m.Port("switchd_port_mac_entries", port.name),
              datapath_.mac_table().CountOnPort(port.id));
    EXPECT_EQ(m.Port("switchd_port_mac_limit", port.name), port.settings.max_macs);
  }
  EXPECT_EQ(m.Port("switchd_port_rx_packets_total", "tap0"), 3u);
  EXPECT_EQ(m.Port("switchd_port_tx_dropped_total", "tap1"), 1u);
  EXPECT_EQ(m.Port("switchd_port_unlearned_total", "tap2"), 1u);
  EXPECT_EQ(m.Port("switchd_port_mac_limit", "tap2"), 1u);
  EXPECT_EQ(m.Port("switchd_port_up", "tap0"), 1u);
  EXPECT_EQ(m.Port("switchd_port_up", "tap1"), 0u);
}

TEST_F(MetricsTest, EveryFamilyHasHelpAndTypeEvenWithNoPort) {
  Exposition m = Scrape();
  for (const char* family :
       {"switchd_port_up", "switchd_port_rx_packets_total", "switchd_port_tx_dropped_total",
        "switchd_port_mac_entries", "switchd_dropped_total", "switchd_rx_packets_total"}) {
    EXPECT_TRUE(m.help.count(family)) << family;
    EXPECT_TRUE(m.type.count(family)) << family;
  }
  EXPECT_EQ(m.type["switchd_port_up"], "gauge");
  EXPECT_EQ(m.type["switchd_port_rx_packets_total"], "counter");
  EXPECT_EQ(m.type["switchd_mac_table_entries"], "gauge");
  EXPECT_EQ(m.Value("switchd_ports"), 0u);
  EXPECT_EQ(m.Value("switchd_rx_packets_total"), 0u);
  for (const auto& [series, value] : m.samples) {
    EXPECT_FALSE(series.first.starts_with("switchd_port_")) << series.first;
  }
  EXPECT_EQ(m.help.size(), m.type.size());
}

TEST_F(MetricsTest, TotalsKeepARemovedPortsFramesWhileItsSeriesGo) {
  const PortId tap0 = *datapath_.AddPort("tap0");
  const PortId tap1 = *datapath_.AddPort("tap1");
  Send(tap0, MacAddress::Broadcast(), Mac(1));
  Send(tap1, MacAddress::Broadcast(), Mac(2));
  EXPECT_EQ(Scrape().Value("switchd_rx_packets_total"), 2u);
  datapath_.RemovePort(tap0);
  Exposition m = Scrape();
  EXPECT_EQ(m.Value("switchd_rx_packets_total"), 2u);
  EXPECT_EQ(m.Value("switchd_tx_packets_total"), 2u);
  EXPECT_EQ(m.samples.count({"switchd_port_rx_packets_total", {{"port", "tap0"}}}), 0u);
  EXPECT_EQ(m.Port("switchd_port_rx_packets_total", "tap1"), 1u);
}

TEST(MetricsEscapeTest, EscapesBackslashQuoteAndNewline) {
  EXPECT_EQ(EscapeLabelValue("tap0"), "tap0");
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(EscapeLabelValue("\\\\"), "\\\\\\\\");
  EXPECT_EQ(EscapeLabelValue("tab\there"), "tab\there");  // only these three are escaped
  EXPECT_EQ(EscapeLabelValue(""), "");
}

TEST(MetricsEscapeTest, KeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(EscapeLabelValue("br\xc3\xbc"
                             "cke-\xe2\x82\xac-\xf0\x9f\x90\xa7"),
            "br\xc3\xbc"
            "cke-\xe2\x82\xac-\xf0\x9f\x90\xa7");
  const std::string kReplacement = "\xef\xbf\xbd";
  EXPECT_EQ(EscapeLabelValue("a\xff"
                             "b"),
            "a" + kReplacement + "b");
  EXPECT_EQ(EscapeLabelValue("\xc0\xaf"), kReplacement + kReplacement);  // overlong '/'
  EXPECT_EQ(EscapeLabelValue("\xed\xa0\x80"), kReplacement + kReplacement + kReplacement);
  EXPECT_EQ(EscapeLabelValue("\xf4\x90\x80\x80").size(), 4 * kReplacement.size());  // > U+10FFFF
  EXPECT_EQ(EscapeLabelValue("x\xc3"), "x" + kReplacement);                         // cut short
  EXPECT_EQ(EscapeLabelValue("\xe2\x82\""), kReplacement + kReplacement + "\\\"");
}

TEST_F(MetricsTest, PortNamesComeBackWhateverTheyHold) {
  const std::vector<std::string> names = {"a\"b", "c\\d", "e\nf", "\\\"", "caf\xc3\xa9"};
  for (const std::string& name : names) ASSERT_TRUE(datapath_.AddPort(name).ok()) << name;
  Exposition m = Scrape();
  for (const std::string& name : names) {
    EXPECT_EQ(m.Port("switchd_port_up", name), 1u) << name;
    EXPECT_EQ(m.Port("switchd_port_rx_packets_total", name), 0u) << name;
  }
  EXPECT_EQ(m.Value("switchd_ports"), names.size());
}

TEST(MetricsParseTest, TheReaderCatchesWhatIsWrong) {
  // The reader above must be able to fail, or the tests that use it prove nothing.
  EXPECT_TRUE(Parse("# HELP a_total x\n# TYPE a_total counter\na_total 1\n").errors.empty());
  EXPECT_FALSE(Parse("# HELP a_total x\n# TYPE a_total counter\na_total 1").errors.empty());
  EXPECT_FALSE(Parse("# HELP a x\n# TYPE a counter\na 1\n").errors.empty());
  EXPECT_FALSE(Parse("a_total 1\n").errors.empty());
  EXPECT_FALSE(Parse("# HELP a x\n# TYPE a gauge\n# HELP b x\n# TYPE b gauge\n"
                     "b 1\na 2\n")
                   .errors.empty());
  EXPECT_FALSE(Parse("# HELP a x\n# TYPE a gauge\na{p=\"x\\t\"} 1\n").errors.empty());
  EXPECT_FALSE(Parse("# HELP a x\n# TYPE a gauge\na{p=\"x\"} 1\na{p=\"x\"} 2\n").errors.empty());
  EXPECT_FALSE(Parse("# HELP a x\n# TYPE a gauge\na{p=\"x} 1\n").errors.empty());
  EXPECT_FALSE(Parse("# HELP 1a x\n# TYPE 1a gauge\n1a 1\n").errors.empty());
  const Exposition ok = Parse("# HELP a x\n# TYPE a gauge\na{p=\"q\\\"\\\\\\n\",r=\"\"} 7\n");
  EXPECT_TRUE(ok.errors.empty()) << ::testing::PrintToString(ok.errors);
  EXPECT_EQ(ok.samples.at({"a", {{"p", "q\"\\\n"}, {"r", ""}}}), 7u);
}

}  // namespace
}  // namespace switchd
