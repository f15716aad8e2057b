#include "switchd/core/vlan.h"

#include <charconv>

namespace switchd {
namespace {

std::optional<VlanId> ParseVid(std::string_view text) {
  unsigned value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  if (value < 1 || value > kMaxVlan) return std::nullopt;
  return static_cast<VlanId>(value);
}

}  // namespace

std::optional<VlanSet> VlanSet::Parse(std::string_view text) {
  VlanSet set;
  if (text.empty()) return std::nullopt;
  while (true) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    const size_t dash = item.find('-');
    const std::optional<VlanId> first = ParseVid(item.substr(0, dash));
    const std::optional<VlanId> last =
        dash == std::string_view::npos ? first : ParseVid(item.substr(dash + 1));
    if (!first || !last || *last < *first) return std::nullopt;
    for (unsigned vlan = *first; vlan <= *last; ++vlan) set.bits_[vlan] = true;
    if (comma == std::string_view::npos) break;
    text = text.substr(comma + 1);
  }
  return set;
}

std::string VlanSet::ToString() const {
  std::string text;
  for (unsigned vlan = 1; vlan <= kMaxVlan; ++vlan) {
    if (!bits_[vlan]) continue;
    unsigned last = vlan;
    while (last + 1 <= kMaxVlan && bits_[last + 1]) ++last;
    if (!text.empty()) text += ',';
    text += std::to_string(vlan);
    if (last >= vlan + 2) {
      text += '-' + std::to_string(last);
    } else if (last == vlan + 1) {
      text += ',' + std::to_string(last);
    }
    vlan = last;
  }
  return text;
}

}  // namespace switchd
