// libFuzzer target: the control protocol, from request bytes to the method table and back.
//
// The input is split into lines at '\n', as the control socket splits its stream, and each line
// goes through HandleRequestLine with the real ControlMethods over a real Datapath. Ports are
// reached through a fake PortBackend that registers them in that datapath, as the daemon's does
// with TAPs, so add-port, del-port and the methods that name ports all run. The switch starts
// with ports p0 and p1 and a few learned MACs and ARP bindings; each line runs one second after
// the one before.
//
// Invariants checked: nothing throws; every response is one line of valid JSON: a JSON-RPC 2.0
// response object (or a non-empty array of them) with an id and exactly one of result and error,
// errors with an integer code and a string message; the MAC and ARP tables stay within their
// bounds; the backend's ports and the datapath's ports stay the same set.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fuzz/check.h"
#include "switchd/control/json_rpc.h"
#include "switchd/control/methods.h"
#include "switchd/core/datapath.h"
#include "switchd/core/frame.h"

namespace switchd {
namespace {

using nlohmann::json;

constexpr size_t kMaxPorts = 16;

class NullSink : public FrameSink {
 public:
  bool Send(PortId, std::span<const std::byte>, const VnetHeader&) override { return true; }
};

// Registers ports in the datapath as the daemon's TAP backend does, up to kMaxPorts (beyond that
// it fails as the OS would).
class FakePortBackend : public PortBackend {
 public:
  explicit FakePortBackend(Datapath& datapath) : datapath_(datapath) {}

  Result<PortId> AddPort(std::string_view name, std::string_view kind, const PortOptions& options,
                         const LinkOptions& link) override {
    if (ports_.size() >= kMaxPorts) return Status::System("too many ports (fake backend)");
    Result<PortId> id = datapath_.AddPort(name, options);
    if (id.ok()) {
      FUZZ_CHECK(ports_.count(*id) == 0, "the datapath reused a live port id");
      ports_[*id] = PortDetails{std::string(kind),
                                std::string(name),
                                100 + int(ToIndex(*id)),
                                MacAddress({2, 0, 0, 0, 1, static_cast<uint8_t>(ToIndex(*id))}),
                                true,
                                link};
    }
    return id;
  }

  Status DelPort(PortId port) override {
    FUZZ_CHECK(ports_.count(port) == 1, "del-port for a port the backend never added");
    datapath_.RemovePort(port);
    ports_.erase(port);
    return Status::Ok();
  }

  PortDetails Describe(PortId port) const override {
    const auto it = ports_.find(port);
    FUZZ_CHECK(it != ports_.end(), "Describe for a port the backend does not have");
    return it->second;
  }

  const std::map<PortId, PortDetails>& ports() const { return ports_; }

 private:
  Datapath& datapath_;
  std::map<PortId, PortDetails> ports_;
};

std::vector<std::byte> ArpFrame(MacAddress src, Ipv4Address ip, Ipv4Address target) {
  std::vector<std::byte> frame(kMaxArpFrameSize);
  ArpPacket arp{ArpOp::kRequest, src, ip, MacAddress(), target};
  frame.resize(BuildArp(frame, MacAddress::Broadcast(), src, std::nullopt, arp));
  return frame;
}

void CheckResponseObject(const json& response) {
  FUZZ_CHECK(response.is_object(), "a response is not an object");
  FUZZ_CHECK(response.value("jsonrpc", "") == "2.0", "a response without \"jsonrpc\": \"2.0\"");
  FUZZ_CHECK(response.contains("id"), "a response without an id");
  FUZZ_CHECK(response.contains("result") != response.contains("error"),
             "a response needs exactly one of result and error");
  if (response.contains("error")) {
    const json& error = response["error"];
    FUZZ_CHECK(error.is_object() && error.contains("code") && error["code"].is_number_integer() &&
                   error.contains("message") && error["message"].is_string(),
               "a malformed error object");
  }
}

void CheckResponse(const std::string& line) {
  FUZZ_CHECK(line.find('\n') == std::string::npos, "a response spans lines");
  const json response = json::parse(line, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(!response.is_discarded(), "a response is not valid JSON");
  if (response.is_array()) {
    FUZZ_CHECK(!response.empty(), "an empty batch response (nothing must be sent instead)");
    for (const json& r : response) CheckResponseObject(r);
  } else {
    CheckResponseObject(response);
  }
}

void CheckState(const Datapath& datapath, const FakePortBackend& backend) {
  FUZZ_CHECK(datapath.mac_table().size() <= datapath.mac_table().capacity(),
             "the MAC table grew over its bound");
  FUZZ_CHECK(datapath.arp_table().size() <= datapath.arp_table().capacity(),
             "the ARP table grew over its bound");
  const std::vector<PortInfo> ports = datapath.Ports();
  FUZZ_CHECK(ports.size() == backend.ports().size(), "backend and datapath disagree on ports");
  for (const PortInfo& port : ports) {
    FUZZ_CHECK(backend.ports().count(port.id) == 1, "a datapath port the backend does not know");
  }
}

}  // namespace
}  // namespace switchd

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace switchd;
  NullSink sink;
  Datapath datapath(sink, DatapathConfig{64, 64, MacTable::kDefaultAgingTime});
  FakePortBackend backend(datapath);
  ControlMethods methods(datapath, backend);
  Time now = Time{} + std::chrono::seconds(1000);

  const PortId p0 = *backend.AddPort("p0", "tap", PortOptions{}, LinkOptions{});
  const PortId p1 = *backend.AddPort("p1", "tap", PortOptions{true}, LinkOptions{});
  const MacAddress a({2, 0, 0, 0, 0, 1});
  const MacAddress b({2, 0, 0, 0, 0, 2});
  datapath.Receive(p0, ArpFrame(a, Ipv4Address(0xc6120001), Ipv4Address(0xc6120002)), now);
  datapath.Receive(p1, ArpFrame(b, Ipv4Address(0xc6120002), Ipv4Address(0xc6120001)), now);

  std::string_view input(reinterpret_cast<const char*>(data), size);
  while (true) {
    const size_t end = input.find('\n');
    const std::string_view line = input.substr(0, end);
    const std::optional<std::string> response =
        HandleRequestLine(line, methods.MakeDispatcher(now));
    if (response) CheckResponse(*response);
    CheckState(datapath, backend);
    if (end == std::string_view::npos) break;
    input.remove_prefix(end + 1);
    now += std::chrono::seconds(1);
  }
  return 0;
}
