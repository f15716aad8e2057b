#include "ctl/render.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <initializer_list>
#include <utility>
#include <vector>

namespace switchd::ctl {

namespace {

using nlohmann::json;

// Terminal columns taken by `text`: UTF-8 continuation bytes take none. Good enough for names
// and addresses; wide characters are not worth a wcwidth table here.
size_t DisplayWidth(std::string_view text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  }));
}

void Pad(std::string& out, size_t n) { out.append(n, ' '); }

// The field `key` of `object`, or null when `object` is not an object or lacks it. Never throws,
// unlike json::at and json::value.
const json& Field(const json& object, std::string_view key) {
  static const json kNull;
  if (!object.is_object()) return kNull;
  const auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

void TrimTrailingSpaces(std::string& line) {
  while (!line.empty() && line.back() == ' ') line.pop_back();
}

// "n entries" / "1 entry".
std::string Entries(const json& n) {
  return FormatCell(n) + (n.is_number_integer() && n.get<int64_t>() == 1 ? " entry" : " entries");
}

// A result {"<key>": n} -> "<verb> n entries"; anything else prints as JSON.
std::string RenderCount(const json& result, std::string_view key, std::string_view verb) {
  const json& n = Field(result, key);
  if (!n.is_number_integer()) return RenderJson(result);
  return std::string(verb) + " " + Entries(n) + "\n";
}

// A labelled block: section titles at the left margin, "label: value" lines indented under
// them with the values right-aligned in one column.
class Block {
 public:
  void Title(std::string text) { lines_.push_back({std::move(text), "", false}); }
  void Item(std::string label, std::string value) {
    lines_.push_back({std::move(label) + ":", std::move(value), true});
  }
  // Adds every field of `section` not in `known`, labelled by its key ("not_learned" reads
  // "not learned"), so counters added to the daemon show up before switchctl learns them.
  void Rest(const json& section, std::span<const std::string_view> known) {
    if (!section.is_object()) return;
    for (const auto& [key, value] : section.items()) {
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      std::string label = Sanitize(key);
      std::replace(label.begin(), label.end(), '_', ' ');
      Item(std::move(label), FormatCell(value));
    }
  }

  std::string Render() const {
    size_t label_width = 0;
    size_t value_width = 0;
    for (const Line& line : lines_) {
      if (!line.indented) continue;
      label_width = std::max(label_width, DisplayWidth(line.label));
      value_width = std::max(value_width, DisplayWidth(line.value));
    }
    std::string out;
    for (const Line& line : lines_) {
      if (!line.indented) {
        out += line.label + "\n";
        continue;
      }
      out += "  " + line.label;
      Pad(out, label_width - DisplayWidth(line.label) + 2 + value_width - DisplayWidth(line.value));
      out += line.value + "\n";
    }
    return out;
  }

 private:
  struct Line {
    std::string label;
    std::string value;
    bool indented;
  };
  std::vector<Line> lines_;
};

// "MAC table: 3/8192 entries, 0 static" and the section's counters.
void TableSection(Block& block, std::string_view title, const json& section,
                  std::span<const std::pair<std::string_view, std::string_view>> counters) {
  block.Title(std::string(title) + ": " + FormatCell(Field(section, "current")) + "/" +
              FormatCell(Field(section, "max")) + " entries, " +
              FormatCell(Field(section, "static")) + " static");
  std::vector<std::string_view> known = {"current", "max", "static"};
  for (const auto& [key, label] : counters) {
    block.Item(std::string(label), FormatCell(Field(section, key)));
    known.push_back(key);
  }
  block.Rest(section, known);
}

constexpr std::array kPortColumns = {
    Column{"NAME", "name"},
    Column{"INDEX", "index", Align::kRight},
    Column{"KIND", "kind"},
    Column{"IFNAME", "ifname"},
    Column{"MAC", "mac"},
    Column{"UP", "up"},
    Column{"RX-PKTS", "rx_packets", Align::kRight},
    Column{"TX-PKTS", "tx_packets", Align::kRight},
    Column{"RX-BYTES", "rx_bytes", Align::kRight},
    Column{"TX-BYTES", "tx_bytes", Align::kRight},
    Column{"DROPS", "drops", Align::kRight},
    Column{"MACS", "macs", Align::kRight},
    Column{"VLAN", "vlan_summary"},
    Column{"FLAGS", "flags"},
};

constexpr std::array kMirrorColumns = {
    Column{"NAME", "name"},
    Column{"SOURCE", "source"},
    Column{"DESTINATION", "destination"},
    Column{"DIRECTION", "direction"},
    Column{"FRAMES", "frames", Align::kRight},
};

// A port's VLAN setting in a few characters: "10" for an access port, "10,20" for a trunk, with
// its native VLAN as "10,20 native 5".
std::string VlanSummary(const json& port) {
  const json& mode = Field(port, "vlan_mode");
  if (mode == "trunk") {
    std::string text = FormatCell(Field(port, "trunk"));
    if (Field(port, "native").is_number_integer())
      text += " native " + FormatCell(Field(port, "native"));
    return text;
  }
  return FormatCell(Field(port, "vlan"));
}

// The settings that differ from a port's defaults, like `bridge link`'s flags: "isolated",
// "no-learning", "no-flood", "no-bcast-flood", "no-mcast-flood", "mirror-dest"; "-" for none.
std::string PortFlags(const json& port) {
  std::string flags;
  auto add = [&](std::string_view flag) {
    if (!flags.empty()) flags += ',';
    flags += flag;
  };
  if (Field(port, "mirror_destination") == true) add("mirror-dest");
  if (Field(port, "isolated") == true) add("isolated");
  if (Field(port, "learning") == false) add("no-learning");
  if (Field(port, "flood") == false) add("no-flood");
  if (Field(port, "bcast_flood") == false) add("no-bcast-flood");
  if (Field(port, "mcast_flood") == false) add("no-mcast-flood");
  return flags.empty() ? "-" : flags;
}

constexpr std::array kMacColumns = {
    Column{"PORT", "port"}, Column{"VLAN", "vlan", Align::kRight}, Column{"MAC", "mac"},
    Column{"TYPE", "type"}, Column{"AGE", "age", Align::kRight},
};

constexpr std::array kArpColumns = {
    Column{"IP", "ip"},     Column{"VLAN", "vlan", Align::kRight},
    Column{"MAC", "mac"},   Column{"PORT", "port"},
    Column{"TYPE", "type"}, Column{"AGE", "age", Align::kRight},
};

}  // namespace

std::string Sanitize(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  return out;
}

std::string FormatCell(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
    case json::value_t::discarded:
      return "-";
    case json::value_t::string:
      return Sanitize(value.get_ref<const std::string&>());
    case json::value_t::boolean:
      return value.get<bool>() ? "yes" : "no";
    default:
      return Sanitize(value.dump(-1, ' ', false, json::error_handler_t::replace));
  }
}

std::string RenderJson(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string RenderTable(std::span<const Column> columns, const json& rows) {
  if (!rows.is_array()) return RenderJson(rows);
  std::vector<std::vector<std::string>> cells;
  cells.reserve(rows.size());
  std::vector<size_t> widths;
  for (const Column& column : columns) widths.push_back(DisplayWidth(column.header));
  for (const json& row : rows) {
    std::vector<std::string>& line = cells.emplace_back();
    for (size_t i = 0; i < columns.size(); ++i) {
      line.push_back(FormatCell(Field(row, columns[i].field)));
      widths[i] = std::max(widths[i], DisplayWidth(line.back()));
    }
  }
  std::string out;
  auto append_line = [&](auto&& cell_text) {
    std::string line;
    for (size_t i = 0; i < columns.size(); ++i) {
      if (i > 0) line += "  ";
      const std::string_view text = cell_text(i);
      const size_t padding = widths[i] - DisplayWidth(text);
      if (columns[i].align == Align::kRight) Pad(line, padding);
      line += text;
      if (columns[i].align == Align::kLeft) Pad(line, padding);
    }
    TrimTrailingSpaces(line);
    out += line + "\n";
  };
  append_line([&](size_t i) { return columns[i].header; });
  for (const auto& line : cells) {
    append_line([&](size_t i) { return std::string_view(line[i]); });
  }
  return out;
}

std::string RenderPorts(const json& result) {
  if (!result.is_array()) return RenderTable(kPortColumns, result);
  json rows = result;
  for (json& row : rows) {
    if (!row.is_object()) continue;
    row["vlan_summary"] = VlanSummary(row);
    row["flags"] = PortFlags(row);
  }
  return RenderTable(kPortColumns, rows);
}

std::string RenderCaptureDone(const json& event) {
  if (Field(event, "event") != "capture-done") return RenderJson(event);
  const json& frames = Field(event, "frames");
  const bool one = frames.is_number_integer() && frames.get<int64_t>() == 1;
  std::string line = "captured " + FormatCell(frames) + (one ? " frame (" : " frames (") +
                     FormatCell(Field(event, "bytes")) + " bytes) of " +
                     FormatCell(Field(event, "port")) + " to " + FormatCell(Field(event, "file"));
  const json& reason = Field(event, "reason");
  if (reason == "count") {
    line += ": count reached";
  } else if (reason == "time") {
    line += ": time is up";
  } else if (!reason.is_null()) {
    line += ": " + FormatCell(reason);
  }
  if (!Field(event, "error").is_null()) line += " (" + FormatCell(Field(event, "error")) + ")";
  return line + "\n";
}

std::string RenderMirrors(const json& result) { return RenderTable(kMirrorColumns, result); }

std::string RenderMirror(const json& result) {
  if (!result.is_object()) return RenderJson(result);
  return RenderMirrors(json::array({result}));
}

std::string RenderMacs(const json& result) {
  // The REMOTE column only where some MAC is behind a VXLAN port.
  const bool remotes =
      result.is_array() && std::any_of(result.begin(), result.end(), [](const json& e) {
        return e.is_object() && e.contains("remote");
      });
  if (!remotes) return RenderTable(kMacColumns, result);
  static constexpr std::array kColumns = {
      Column{"PORT", "port"}, Column{"VLAN", "vlan", Align::kRight}, Column{"MAC", "mac"},
      Column{"TYPE", "type"}, Column{"AGE", "age", Align::kRight},   Column{"REMOTE", "remote"},
  };
  return RenderTable(kColumns, result);
}

std::string RenderArp(const json& result) { return RenderTable(kArpColumns, result); }

std::string RenderStats(const json& result) {
  if (!result.is_object()) return RenderJson(result);
  Block block;
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 5> kMacCounters = {{
      {"learned", "learned"},
      {"moved", "moved"},
      {"expired", "expired"},
      {"evicted", "evicted"},
      {"not_learned", "not learned"},
  }};
  TableSection(block, "MAC table", Field(result, "macs"), kMacCounters);
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kArpCounters = {{
      {"learned", "learned"},
      {"changed", "changed"},
      {"expired", "expired"},
      {"evicted", "evicted"},
      {"not_learned", "not learned"},
      {"answered", "answered"},
      {"flooded", "flooded"},
  }};
  TableSection(block, "ARP table", Field(result, "arp"), kArpCounters);

  static constexpr std::array<std::pair<std::string_view, std::string_view>, 10> kFrameCounters = {{
      {"rx_packets", "received"},
      {"rx_bytes", "received bytes"},
      {"tx_packets", "sent"},
      {"tx_bytes", "sent bytes"},
      {"unicast_forwarded", "unicast forwarded"},
      {"flooded", "flooded"},
      {"unknown_unicast", "unknown unicast"},
      {"gso_segmented", "GSO segmented"},
      {"checksums_completed", "checksums completed"},
      {"mirrored", "mirrored"},
  }};
  // Drops by reason, under their sum; rx_dropped and tx_dropped (the sums per direction) are for
  // scripts.
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 8> kDropCounters = {{
      {"malformed", "malformed"},
      {"vlan_dropped", "VLAN"},
      {"local_dropped", "local"},
      {"isolated_dropped", "isolated"},
      {"mirror_port_dropped", "mirror port"},
      {"storm_dropped", "storm"},
      {"tx_failed", "tx failed"},
      {"offload_dropped", "offload"},
  }};
  const json& frames = Field(result, "frames");
  std::vector<std::string_view> known_frames = {"dropped", "rx_dropped", "tx_dropped"};
  for (const auto& [key, label] : kFrameCounters) known_frames.push_back(key);
  for (const auto& [key, label] : kDropCounters) known_frames.push_back(key);
  block.Title("frames:");
  for (const auto& [key, label] : kFrameCounters) {
    block.Item(std::string(label), FormatCell(Field(frames, key)));
  }
  block.Rest(frames, known_frames);
  block.Title("dropped: " + FormatCell(Field(frames, "dropped")));
  for (const auto& [key, label] : kDropCounters) {
    block.Item(std::string(label), FormatCell(Field(frames, key)));
  }

  block.Title("aging: " + FormatCell(Field(result, "aging")) + " s");
  block.Title("ports: " + FormatCell(Field(result, "ports")));
  // Top-level fields added to the daemon later: scalars as "key: value", objects as sections.
  static constexpr std::array<std::string_view, 5> kKnown = {"macs", "arp", "frames", "aging",
                                                             "ports"};
  for (const auto& [key, value] : result.items()) {
    if (std::find(kKnown.begin(), kKnown.end(), key) != kKnown.end()) continue;
    if (value.is_object()) {
      block.Title(Sanitize(key) + ":");
      block.Rest(value, {});
    } else {
      block.Title(Sanitize(key) + ": " + FormatCell(value));
    }
  }
  return block.Render();
}

std::string RenderPort(const json& result) {
  if (result.is_object() && result.empty()) return "";
  if (!result.is_object()) return RenderJson(result);
  return RenderPorts(json::array({result}));
}

std::string RenderEmpty(const json& result) {
  if ((result.is_object() || result.is_array()) && result.empty()) return "";
  if (result.is_null()) return "";
  return RenderJson(result);
}

std::string RenderFlushed(const json& result) { return RenderCount(result, "flushed", "flushed"); }

std::string RenderRemoved(const json& result) { return RenderCount(result, "removed", "removed"); }

std::string RenderAging(const json& result) {
  const json& seconds = Field(result, "aging");
  if (!seconds.is_number_integer()) return RenderJson(result);
  return "aging " + FormatCell(seconds) + " s\n";
}

std::string RenderVersion(const json& result) {
  const json& version = Field(result, "version");
  if (!version.is_string()) return RenderJson(result);
  return "switchd " + FormatCell(version) + "\n";
}

namespace {

// `object` with the keys in `first` first (in that order), then the others (sorted).
nlohmann::ordered_json Ordered(const nlohmann::json& object,
                               std::initializer_list<std::string_view> first) {
  if (!object.is_object()) return object;
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (std::string_view key : first) {
    if (auto it = object.find(key); it != object.end()) out[std::string(key)] = *it;
  }
  for (const auto& [key, value] : object.items()) {
    if (!out.contains(key)) out[key] = value;
  }
  return out;
}

// `text` from `pos` holds `count` digits: their value, else -1.
int Digits(std::string_view text, size_t pos, size_t count) {
  if (pos + count > text.size()) return -1;
  int value = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return -1;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

// "2025-05-01T18:20:01.123Z" (UTC) -> the local time of day, "20:20:01.123". Anything else is
// printed as it is.
std::string LocalTimeOfDay(const json& time) {
  if (!time.is_string()) return FormatCell(time);
  const std::string& text = time.get_ref<const std::string&>();
  const int year = Digits(text, 0, 4);
  const int month = Digits(text, 5, 2);
  const int day = Digits(text, 8, 2);
  const int hour = Digits(text, 11, 2);
  const int minute = Digits(text, 14, 2);
  const int second = Digits(text, 17, 2);
  const int millis = Digits(text, 20, 3);
  const std::chrono::year_month_day date{std::chrono::year(year),
                                         std::chrono::month(static_cast<unsigned>(month)),
                                         std::chrono::day(static_cast<unsigned>(day))};
  if (text.size() != 24 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':' || text[19] != '.' || text[23] != 'Z' || millis < 0 || hour < 0 ||
      hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60 || !date.ok()) {
    return Sanitize(text);
  }
  const auto utc = std::chrono::sys_days(date) + std::chrono::hours(hour) +
                   std::chrono::minutes(minute) + std::chrono::seconds(second);
  const time_t seconds = static_cast<time_t>(utc.time_since_epoch().count());
  tm local{};
  if (localtime_r(&seconds, &local) == nullptr) return Sanitize(text);
  char out[32];
  std::snprintf(out, sizeof(out), "%02d:%02d:%02d.%03d", local.tm_hour, local.tm_min, local.tm_sec,
                millis);
  return out;
}

}  // namespace

std::string RenderConfig(const nlohmann::json& result) {
  // As people write config files: scalars, then ports (name and kind first), then entries.
  nlohmann::ordered_json config = Ordered(
      result, {"socket", "socket_group", "log_level", "max_macs", "aging", "ports", "macs", "arp"});
  if (config.is_object() && config.contains("ports") && config["ports"].is_array()) {
    nlohmann::ordered_json ports = nlohmann::ordered_json::array();
    for (const nlohmann::json& port : result["ports"])
      ports.push_back(Ordered(port, {"name", "kind"}));
    config["ports"] = std::move(ports);
  }
  if (config.is_object() && config.contains("mirrors") && config["mirrors"].is_array()) {
    nlohmann::ordered_json mirrors = nlohmann::ordered_json::array();
    for (const nlohmann::json& m : result["mirrors"]) {
      mirrors.push_back(Ordered(m, {"name", "source", "destination", "direction"}));
    }
    config["mirrors"] = std::move(mirrors);
  }
  for (const char* list : {"macs", "arp"}) {
    if (!config.is_object() || !config.contains(list) || !config[list].is_array()) continue;
    const bool macs = std::string_view(list) == "macs";
    nlohmann::ordered_json entries = nlohmann::ordered_json::array();
    for (const nlohmann::json& entry : result[list]) {
      entries.push_back(macs ? Ordered(entry, {"mac", "port", "vlan"})
                             : Ordered(entry, {"ip", "mac", "vlan"}));
    }
    config[list] = std::move(entries);
  }
  return config.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string RenderEvent(const json& event) {
  std::string line = LocalTimeOfDay(Field(event, "time")) + " ";
  const json& name = Field(event, "event");
  if (!name.is_string()) return line + RenderJson(event);
  const std::string& kind = name.get_ref<const std::string&>();
  auto field = [&](std::string_view key) { return FormatCell(Field(event, key)); };
  auto has = [&](std::string_view key) { return !Field(event, key).is_null(); };
  if (kind == "events-lost") {
    const json& count = Field(event, "count");
    const bool one = count.is_number_integer() && count.get<int64_t>() == 1;
    return line + "lost " + FormatCell(count) + (one ? " event\n" : " events\n");
  }
  // "mac-learned" reads "mac learned"; the group decides which fields follow.
  const std::string group = kind.substr(0, kind.find('-'));
  std::string words = Sanitize(kind);
  if (const size_t dash = words.find('-'); dash != std::string::npos) words[dash] = ' ';
  line += words;
  if (group == "port") {
    line += " " + field("port");
    if (has("kind")) line += " (" + field("kind") + ")";
  } else if (group == "mac") {
    line += " " + field("mac") + " vlan " + field("vlan");
    if (has("from")) {
      line += " from " + field("from") + " to " + field("port");
    } else {
      line += " port " + field("port");
    }
  } else if (group == "arp") {
    line += " " + field("ip") + " at " + field("mac");
    if (has("old_mac")) line += " (was " + field("old_mac") + ")";
    line += " vlan " + field("vlan") + " port " + field("port");
  } else {
    json rest = event.is_object() ? event : json::object();
    rest.erase("event");
    rest.erase("time");
    if (!rest.empty())
      line += " " + Sanitize(rest.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  return line + "\n";
}

}  // namespace switchd::ctl
