#include "tests/helpers/recording_sink.h"

namespace switchd::test {

bool RecordingSink::Send(PortId port, std::span<const std::byte> frame, const VnetHeader& vnet) {
  const bool fail = fail_all_ || failing_ports_.count(port) > 0;
  (fail ? refused_ : sent_)
      .push_back(Sent{port, std::vector<std::byte>(frame.begin(), frame.end()), vnet});
  return !fail;
}

std::vector<PortId> RecordingSink::ports() const {
  std::vector<PortId> ports;
  for (const Sent& s : sent_) ports.push_back(s.port);
  return ports;
}

std::vector<std::vector<std::byte>> RecordingSink::FramesTo(PortId port) const {
  std::vector<std::vector<std::byte>> frames;
  for (const Sent& s : sent_) {
    if (s.port == port) frames.push_back(s.frame);
  }
  return frames;
}

void RecordingSink::Clear() {
  sent_.clear();
  refused_.clear();
}

void RecordingSink::FailPort(PortId port, bool fail) {
  if (fail) {
    failing_ports_.insert(port);
  } else {
    failing_ports_.erase(port);
  }
}

}  // namespace switchd::test
