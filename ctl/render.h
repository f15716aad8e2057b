// Text rendering of the daemon's JSON results: pure functions, JSON in, text out.
//
// Every table goes through RenderTable (one header line, aligned columns, numbers right-aligned),
// so show-ports, show-macs and show-arp cannot drift apart. Renderers never throw: a value of an
// unexpected type prints as its JSON, a missing or null field prints "-", and a result of an
// unexpected shape prints as one line of JSON. Every rendered line ends with '\n'; an empty
// string means "print nothing".
#pragma once

#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace switchd::ctl {

enum class Align { kLeft, kRight };

// One column of a table: its header, the JSON field it shows, and its alignment.
struct Column {
  std::string_view header;
  std::string_view field;
  Align align = Align::kLeft;
};

// Renders `rows` (a JSON array of objects) as a header line plus one line per row, columns
// separated by two spaces, no trailing spaces. Non-array `rows` render as their JSON.
std::string RenderTable(std::span<const Column> columns, const nlohmann::json& rows);

// Formats one JSON value for a table cell: strings as-is (control characters become '?'),
// numbers in decimal, booleans as yes/no, null as "-", anything else as its JSON.
std::string FormatCell(const nlohmann::json& value);

// The result renderers, one per result shape in docs/control-protocol.md.

// show-ports (and add-port's port object, as a one-row table).
std::string RenderPorts(const nlohmann::json& result);
// show-macs.
std::string RenderMacs(const nlohmann::json& result);
// show-arp.
std::string RenderArp(const nlohmann::json& result);
// show-stats: a labelled block (MAC table, ARP table, frames, aging, ports).
std::string RenderStats(const nlohmann::json& result);
// add-port: nothing for {}, else the port as a one-row show-ports table.
std::string RenderPort(const nlohmann::json& result);
// Commands whose result is {}: nothing (a non-empty result prints as JSON).
std::string RenderEmpty(const nlohmann::json& result);
// {"flushed": n} -> "flushed n entries" ("1 entry" when n is 1).
std::string RenderFlushed(const nlohmann::json& result);
// {"removed": n} -> "removed n entries" ("1 entry" when n is 1).
std::string RenderRemoved(const nlohmann::json& result);
// {"aging": n} -> "aging n s".
std::string RenderAging(const nlohmann::json& result);
// {"version": v} -> "switchd v".
std::string RenderVersion(const nlohmann::json& result);
// show-mirrors: NAME SOURCE DESTINATION DIRECTION FRAMES; add-mirror: the new mirror's row.
std::string RenderMirrors(const nlohmann::json& result);
std::string RenderMirror(const nlohmann::json& result);
// capture's last event: "captured 42 frames (3456 bytes) of tap0 to /tmp/tap0.pcap (count)".
std::string RenderCaptureDone(const nlohmann::json& event);
// show-config and save: the configuration as an indented JSON document, as a config file holds it.
std::string RenderConfig(const nlohmann::json& result);

// One monitor event (a notification's params) as one line, like `bridge monitor`: the local time
// of day with milliseconds, then the event, e.g.
// "18:20:01.123 mac learned 02:00:00:00:00:01 vlan 1 port h1",
// "18:20:01.123 mac moved 02:00:00:00:00:01 vlan 1 from h1 to h2",
// "18:20:01.123 arp learned 198.18.0.1 at 02:00:00:00:00:01 vlan 1 port h1",
// "18:20:01.123 port added h1 (tap)", "18:20:01.123 lost 12 events". An event this switchctl
// does not know prints its name and its other fields as JSON.
std::string RenderEvent(const nlohmann::json& event);

// The one JSON form switchctl prints for --json and for unexpected shapes: one line, no spaces,
// invalid UTF-8 replaced (never throws), terminated by '\n'.
std::string RenderJson(const nlohmann::json& value);

// Makes daemon-supplied text safe for one terminal line: control characters become '?'.
std::string Sanitize(std::string_view text);

}  // namespace switchd::ctl
