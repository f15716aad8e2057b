// The frame observer behind captures: it sees a captured port's frames as received and as sent,
// and nothing of the ports that are not captured.
#include <vector>

#include <gtest/gtest.h>

#include "switchd/core/datapath.h"
#include "tests/helpers/frames.h"
#include "tests/helpers/recording_sink.h"

namespace switchd {
namespace {

using test::At;
using test::Bytes;
using test::Ip;
using test::Mac;
using test::MakeIpv4;

struct Seen {
  PortId port;
  FrameObserver::Direction direction;
  Bytes frame;
};

class RecordingObserver : public FrameObserver {
 public:
  void OnFrame(PortId port, Direction direction, std::span<const std::byte> frame,
               const VnetHeader&) override {
    seen.push_back({port, direction, Bytes(frame.begin(), frame.end())});
  }
  std::vector<Seen> seen;
};

class DatapathCaptureTest : public ::testing::Test {
 protected:
  DatapathCaptureTest() : datapath_(sink_, DatapathConfig{}) {
    a_ = *datapath_.AddPort("a");
    b_ = *datapath_.AddPort("b");
    c_ = *datapath_.AddPort("c");
    datapath_.set_observer(&observer_);
  }
  test::RecordingSink sink_;
  Datapath datapath_;
  RecordingObserver observer_;
  PortId a_, b_, c_;
};

TEST_F(DatapathCaptureTest, SeesACapturedPortsFramesBothWaysAndNoOtherPorts) {
  const Bytes from_a =
      MakeIpv4(MacAddress::Broadcast(), Mac(1), Ip("198.18.0.1"), Ip("198.18.0.2"));
  const Bytes from_c = MakeIpv4(Mac(1), Mac(3), Ip("198.18.0.3"), Ip("198.18.0.1"));
  datapath_.Receive(a_, from_a, At(1));  // not captured yet
  EXPECT_TRUE(observer_.seen.empty());
  datapath_.SetCaptured(a_, true);
  datapath_.Receive(a_, from_a, At(2));  // rx on a (flooded to b and c: not captured)
  datapath_.Receive(c_, from_c, At(3));  // tx on a (known unicast)
  ASSERT_EQ(observer_.seen.size(), 2u);
  EXPECT_EQ(observer_.seen[0].port, a_);
  EXPECT_EQ(observer_.seen[0].direction, FrameObserver::Direction::kRx);
  EXPECT_EQ(observer_.seen[0].frame, from_a);
  EXPECT_EQ(observer_.seen[1].port, a_);
  EXPECT_EQ(observer_.seen[1].direction, FrameObserver::Direction::kTx);
  EXPECT_EQ(observer_.seen[1].frame, from_c);
  datapath_.SetCaptured(a_, false);
  datapath_.Receive(a_, from_a, At(4));
  EXPECT_EQ(observer_.seen.size(), 2u);
}

TEST_F(DatapathCaptureTest, RecordsWhatLeftOnlyAndMalformedFramesAsTheyCame) {
  datapath_.SetCaptured(b_, true);
  sink_.FailPort(b_);  // b's reader is gone: nothing leaves
  datapath_.Receive(
      a_, MakeIpv4(MacAddress::Broadcast(), Mac(1), Ip("198.18.0.1"), Ip("198.18.0.2")), At(1));
  EXPECT_TRUE(observer_.seen.empty());
  const Bytes runt(10, std::byte{0});
  datapath_.Receive(b_, runt, At(2));  // dropped as malformed, still captured as received
  ASSERT_EQ(observer_.seen.size(), 1u);
  EXPECT_EQ(observer_.seen[0].frame, runt);
  EXPECT_EQ(datapath_.stats().malformed, 1u);
}

}  // namespace
}  // namespace switchd
