// RecordingEvents: a DatapathEvents observer for tests that keeps every event as a short line,
// e.g. "mac learned 02:00:00:00:00:01 vlan 1 port 0", so tests can compare against a list.
#pragma once

#include <string>
#include <vector>

#include "switchd/core/datapath.h"

namespace switchd::test {

class RecordingEvents : public DatapathEvents {
 public:
  void OnMacLearned(const MacEntry& e) override { Add("mac learned", e, ""); }
  void OnMacMoved(const MacEntry& e, PortId from) override {
    Add("mac moved", e, " from " + std::to_string(ToIndex(from)));
  }
  void OnMacMoveDamped(const MacEntry& e, PortId attempted) override {
    Add("mac move damped", e, " seen on " + std::to_string(ToIndex(attempted)));
  }
  void OnMacExpired(const MacEntry& e) override { Add("mac expired", e, ""); }
  void OnMacEvicted(const MacEntry& e) override { Add("mac evicted", e, ""); }
  void OnArpLearned(const ArpBinding& b) override { Add("arp learned", b, ""); }
  void OnArpChanged(const ArpBinding& b, MacAddress old_mac) override {
    Add("arp changed", b, " was " + old_mac.ToString());
  }
  void OnArpExpired(const ArpBinding& b) override { Add("arp expired", b, ""); }

  // Every event so far, oldest first.
  const std::vector<std::string>& events() const { return events_; }
  void Clear() { events_.clear(); }

 private:
  void Add(const char* what, const MacEntry& e, const std::string& extra) {
    events_.push_back(std::string(what) + " " + e.mac.ToString() + " vlan " +
                      std::to_string(e.vlan) + " port " + std::to_string(ToIndex(e.port)) + extra);
  }
  void Add(const char* what, const ArpBinding& b, const std::string& extra) {
    events_.push_back(std::string(what) + " " + b.ip.ToString() + " vlan " +
                      std::to_string(b.vlan) + " " + b.mac.ToString() + " port " +
                      std::to_string(ToIndex(b.port)) + extra);
  }

  std::vector<std::string> events_;
};

}  // namespace switchd::test
