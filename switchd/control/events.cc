#include "switchd/control/events.h"

#include <algorithm>
#include <charconv>

namespace switchd {

namespace {

constexpr std::string_view kKindNames[kEventKindCount] = {
    "port-added", "port-removed", "port-up",     "port-down",   "mac-learned", "mac-moved",
    "mac-aged",   "mac-evicted",  "arp-learned", "arp-changed", "arp-aged",
};

struct Group {
  std::string_view name;
  EventKinds kinds;
};

constexpr EventKinds Range(EventKind first, EventKind last) {
  EventKinds kinds;
  for (auto k = static_cast<unsigned>(first); k <= static_cast<unsigned>(last); ++k) {
    kinds = kinds | EventKinds::Of(static_cast<EventKind>(k));
  }
  return kinds;
}

constexpr Group kGroups[] = {
    {"all", EventKinds::All()},
    {"port", Range(EventKind::kPortAdded, EventKind::kPortDown)},
    {"mac", Range(EventKind::kMacLearned, EventKind::kMacEvicted)},
    {"arp", Range(EventKind::kArpLearned, EventKind::kArpAged)},
};

void AppendNumber(uint64_t value, std::string& out) {
  char digits[24];
  const auto result = std::to_chars(std::begin(digits), std::end(digits), value);
  out.append(digits, result.ptr);
}

// Two digits, zero-padded (0..99).
void AppendTwoDigits(unsigned value, std::string& out) {
  out += static_cast<char>('0' + value / 10 % 10);
  out += static_cast<char>('0' + value % 10);
}

void AppendMac(MacAddress mac, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < 6; ++i) {
    if (i > 0) out += ':';
    out += kHex[mac.bytes()[i] >> 4];
    out += kHex[mac.bytes()[i] & 0xf];
  }
}

void AppendIp(Ipv4Address ip, std::string& out) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    AppendNumber((ip.value() >> shift) & 0xff, out);
    if (shift > 0) out += '.';
  }
}

// The length of the well-formed UTF-8 sequence at the start of `text` (Unicode table 3-7), or 0
// if it is not one. `*consumed` is how many bytes to replace by one U+FFFD when it is not: the
// maximal subpart of an ill-formed sequence, as nlohmann::json's error_handler_t::replace does.
size_t Utf8Sequence(std::string_view text, size_t* consumed) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;
    if (lead == 0xed) high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;
    if (lead == 0xf4) high = 0x8f;
  } else {
    *consumed = 1;  // not a lead byte
    return 0;
  }
  for (size_t i = 1; i < length; ++i) {
    if (i >= text.size() || byte(i) < (i == 1 ? low : 0x80) || byte(i) > (i == 1 ? high : 0xbf)) {
      *consumed = i;  // the byte at i starts over
      return 0;
    }
  }
  return length;
}

// Appends `text` as a JSON string, quoted, escaped as nlohmann::json escapes (ensure_ascii off).
void AppendJsonString(std::string_view text, std::string& out) {
  out += '"';
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      size_t consumed = 0;
      if (const size_t length = Utf8Sequence(text.substr(i), &consumed); length > 0) {
        out.append(text.substr(i, length));
        i += length;
      } else {
        out += "\xef\xbf\xbd";  // U+FFFD
        i += consumed;
      }
      continue;
    }
    ++i;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

// Writes the members of one JSON object; the caller adds them in sorted key order.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string& out) : out_(out) { out_ += '{'; }
  void Key(std::string_view key) {
    if (!first_) out_ += ',';
    first_ = false;
    out_ += '"';
    out_.append(key);
    out_ += "\":";
  }
  void String(std::string_view key, std::string_view value) {
    Key(key);
    AppendJsonString(value, out_);
  }
  // A port name; an empty one is null.
  void Port(std::string_view key, const EventName& name) {
    Key(key);
    if (name.empty()) {
      out_ += "null";
    } else {
      AppendJsonString(name.view(), out_);
    }
  }
  void Number(std::string_view key, uint64_t value) {
    Key(key);
    AppendNumber(value, out_);
  }
  void Mac(std::string_view key, MacAddress mac) {
    Key(key);
    out_ += '"';
    AppendMac(mac, out_);
    out_ += '"';
  }
  void Ip(std::string_view key, Ipv4Address ip) {
    Key(key);
    out_ += '"';
    AppendIp(ip, out_);
    out_ += '"';
  }
  void Time(std::string_view key, WallTime time) {
    Key(key);
    out_ += '"';
    AppendWallTime(time, out_);
    out_ += '"';
  }
  void End() { out_ += '}'; }

 private:
  std::string& out_;
  bool first_ = true;
};

constexpr std::string_view kNotificationStart = R"({"jsonrpc":"2.0","method":"event","params":)";

}  // namespace

std::string_view EventKindName(EventKind kind) {
  const auto index = static_cast<size_t>(kind);
  return index < kEventKindCount ? kKindNames[index] : "unknown";
}

std::vector<EventKind> EventKinds::List() const {
  std::vector<EventKind> kinds;
  for (size_t i = 0; i < kEventKindCount; ++i) {
    if (Has(static_cast<EventKind>(i))) kinds.push_back(static_cast<EventKind>(i));
  }
  return kinds;
}

std::optional<EventKinds> ParseEventKinds(std::string_view name) {
  for (const Group& group : kGroups) {
    if (group.name == name) return group.kinds;
  }
  for (size_t i = 0; i < kEventKindCount; ++i) {
    if (kKindNames[i] == name) return EventKinds::Of(static_cast<EventKind>(i));
  }
  return std::nullopt;
}

std::string EventNameList() {
  std::string list;
  for (const Group& group : kGroups) list += std::string(group.name) + ", ";
  for (size_t i = 0; i < kEventKindCount; ++i) {
    list += kKindNames[i];
    if (i + 1 < kEventKindCount) list += ", ";
  }
  return list;
}

void EventName::Set(std::string_view name) {
  size_ = static_cast<uint8_t>(std::min(name.size(), kMaxSize));
  std::copy_n(name.data(), size_, chars_.data());
}

Event MakePortEvent(EventKind kind, WallTime time, std::string_view port,
                    std::string_view port_kind) {
  Event event;
  event.kind = kind;
  event.time = time;
  event.port.Set(port);
  event.port_kind.Set(port_kind);
  return event;
}

Event MakeMacEvent(EventKind kind, WallTime time, const MacEntry& entry, std::string_view port,
                   std::string_view from) {
  Event event;
  event.kind = kind;
  event.time = time;
  event.mac = entry.mac;
  event.vlan = entry.vlan;
  event.port.Set(port);
  event.from.Set(from);
  return event;
}

Event MakeArpEvent(EventKind kind, WallTime time, const ArpBinding& binding, std::string_view port,
                   MacAddress old_mac) {
  Event event;
  event.kind = kind;
  event.time = time;
  event.ip = binding.ip;
  event.mac = binding.mac;
  event.vlan = binding.vlan;
  event.port.Set(port);
  event.old_mac = old_mac;
  return event;
}

EventRing::EventRing(size_t capacity) : slots_(std::max<size_t>(capacity, 1)) {}

bool EventRing::Push(const Event& event) {
  if (lost_total_ != 0 || size_ == slots_.size()) {
    ++lost_[static_cast<size_t>(event.kind)];
    ++lost_total_;
    return false;
  }
  slots_[(head_ + size_) % slots_.size()] = event;
  ++size_;
  return true;
}

bool EventRing::Pop(Event& out) {
  if (size_ == 0) return false;
  out = slots_[head_];
  head_ = (head_ + 1) % slots_.size();
  --size_;
  return true;
}

LostCounts EventRing::TakeLost() {
  const LostCounts lost = lost_;
  lost_ = {};
  lost_total_ = 0;
  return lost;
}

void AppendWallTime(WallTime time, std::string& out) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(time);
  const auto day = floor<days>(ms);
  const year_month_day date(day);
  const hh_mm_ss clock(ms - day);
  const int year = static_cast<int>(date.year());
  if (year < 0 || year > 9999) {
    out += "0000-01-01T00:00:00.000Z";  // outside RFC 3339; never from a sane clock
    return;
  }
  AppendTwoDigits(static_cast<unsigned>(year / 100), out);
  AppendTwoDigits(static_cast<unsigned>(year % 100), out);
  out += '-';
  AppendTwoDigits(static_cast<unsigned>(date.month()), out);
  out += '-';
  AppendTwoDigits(static_cast<unsigned>(date.day()), out);
  out += 'T';
  AppendTwoDigits(static_cast<unsigned>(clock.hours().count()), out);
  out += ':';
  AppendTwoDigits(static_cast<unsigned>(clock.minutes().count()), out);
  out += ':';
  AppendTwoDigits(static_cast<unsigned>(clock.seconds().count()), out);
  out += '.';
  const auto millis = static_cast<unsigned>(clock.subseconds().count());
  out += static_cast<char>('0' + millis / 100);
  AppendTwoDigits(millis % 100, out);
  out += 'Z';
}

void AppendEventNotification(const Event& event, std::string& out) {
  out += kNotificationStart;
  ObjectWriter params(out);
  // Keys in sorted order, as nlohmann::json writes them.
  const bool is_port = event.kind <= EventKind::kPortDown;
  const bool is_arp = event.kind >= EventKind::kArpLearned;
  params.String("event", EventKindName(event.kind));
  if (event.kind == EventKind::kMacMoved) params.Port("from", event.from);
  if (is_arp) params.Ip("ip", event.ip);
  if (event.kind == EventKind::kPortAdded) params.String("kind", event.port_kind.view());
  if (!is_port) params.Mac("mac", event.mac);
  if (event.kind == EventKind::kArpChanged) params.Mac("old_mac", event.old_mac);
  params.Port("port", event.port);
  params.Time("time", event.time);
  if (!is_port) params.Number("vlan", event.vlan);
  params.End();
  out += '}';
}

void AppendLostNotification(uint64_t count, WallTime time, std::string& out) {
  out += kNotificationStart;
  ObjectWriter params(out);
  params.Number("count", count);
  params.String("event", "events-lost");
  params.Time("time", time);
  params.End();
  out += '}';
}

}  // namespace switchd
