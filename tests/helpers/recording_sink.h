// RecordingSink: a FrameSink for tests that records every frame the datapath sends, and can be
// told to refuse sends (all of them, or one port's) to exercise tx_dropped.
#pragma once

#include <cstddef>
#include <set>
#include <span>
#include <vector>

#include <gtest/gtest.h>

#include "switchd/core/datapath.h"
#include "switchd/core/types.h"

namespace switchd::test {

// Default port settings with a MAC limit and a storm limit.
inline PortSettings PortLimits(size_t max_macs, uint32_t storm_limit) {
  PortSettings settings;
  settings.max_macs = max_macs;
  settings.storm_limit = storm_limit;
  return settings;
}

class RecordingSink : public FrameSink {
 public:
  struct Sent {
    PortId port;
    std::vector<std::byte> frame;
    VnetHeader vnet;
  };

  // Records the frame and returns true, or records it as refused and returns false when sends
  // fail (FailAll) or fail on `port` (FailPort).
  bool Send(PortId port, std::span<const std::byte> frame, const VnetHeader& vnet) override;

  // Frames accepted, in send order.
  const std::vector<Sent>& sent() const { return sent_; }
  // Frames refused, in send order.
  const std::vector<Sent>& refused() const { return refused_; }
  // The ports of the accepted frames, in send order.
  std::vector<PortId> ports() const;
  // The accepted frames sent out of `port`, in send order.
  std::vector<std::vector<std::byte>> FramesTo(PortId port) const;
  // Forgets what was sent and refused (but not the failure settings).
  void Clear();

  // Makes every send fail (true) or succeed again (false).
  void FailAll(bool fail) { fail_all_ = fail; }
  // Makes sends out of `port` fail (true) or succeed again (false).
  void FailPort(PortId port, bool fail = true);

 private:
  std::vector<Sent> sent_;
  std::vector<Sent> refused_;
  bool fail_all_ = false;
  std::set<PortId> failing_ports_;
};

// A frame a test expects out of a port.
struct Expected {
  PortId port;
  std::vector<std::byte> frame;
};

// Success when `sink` accepted exactly the `expected` frames, in that order, byte for byte; else
// a failure listing what was sent and what was expected (sizes, the headers, the first byte that
// differs).
::testing::AssertionResult SentExactly(const RecordingSink& sink,
                                       const std::vector<Expected>& expected);

}  // namespace switchd::test
