#include "tests/helpers/recording_sink.h"

#include <algorithm>
#include <string>

#include "tests/helpers/frames.h"

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

namespace {

// "port 2, 64 bytes: ff ff ff ff ff ff 02 00 00 00 00 0a 81 00 00 0a 08 00 ..." (the Ethernet
// header and a tag), and where it differs from `other` when it does.
std::string Describe(PortId port, const std::vector<std::byte>& frame,
                     const std::vector<std::byte>* other) {
  constexpr size_t kShown = 18;
  std::string text = "port " + std::to_string(ToIndex(port)) + ", " + std::to_string(frame.size()) +
                     " bytes: " + ToHex(std::span(frame).first(std::min(frame.size(), kShown)));
  if (frame.size() > kShown) text += " ...";
  if (other != nullptr && *other != frame) {
    const auto differs =
        std::mismatch(frame.begin(), frame.end(), other->begin(), other->end()).first;
    text += " (differs from byte " + std::to_string(differs - frame.begin()) + ")";
  }
  return text;
}

}  // namespace

::testing::AssertionResult SentExactly(const RecordingSink& sink,
                                       const std::vector<Expected>& expected) {
  const std::vector<RecordingSink::Sent>& sent = sink.sent();
  bool same = sent.size() == expected.size();
  for (size_t i = 0; same && i < sent.size(); ++i) {
    same = sent[i].port == expected[i].port && sent[i].frame == expected[i].frame;
  }
  if (same) return ::testing::AssertionSuccess();
  ::testing::AssertionResult failure = ::testing::AssertionFailure();
  failure << "sent " << sent.size() << " frames:\n";
  for (size_t i = 0; i < sent.size(); ++i) {
    const bool paired = i < expected.size() && expected[i].port == sent[i].port;
    failure << "  " << Describe(sent[i].port, sent[i].frame, paired ? &expected[i].frame : nullptr)
            << "\n";
  }
  failure << "expected " << expected.size() << " frames:\n";
  for (const Expected& e : expected) failure << "  " << Describe(e.port, e.frame, nullptr) << "\n";
  return failure;
}

}  // namespace switchd::test
