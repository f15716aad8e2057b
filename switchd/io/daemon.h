// Daemon: the switch process. Owns the event loop and everything on it: the datapath, the ports
// (TAPs and their read events), the netlink link monitor, the aging timer, signal events and the
// control socket.
//
// It is the edge around the pure core: it reads frames from TAPs into the Datapath (a bounded
// batch per port per wake-up, one clock read per batch), writes the frames the Datapath emits
// (FrameSink), turns table events into rate-limited log lines (DatapathEvents), and opens and
// closes ports for the control methods (PortBackend).
//
// Events for `monitor` subscribers: while a control client subscribes, each table event and each
// port added, removed, up or down is appended as a fixed-size record to a bounded ring (no
// allocation, no JSON; with no subscriber an event costs one branch). A zero-delay timer drains
// the ring later in the loop, at most kEventFlushBatch records per iteration, and publishes each
// as one notification line (switchd/control/events.h); a full ring drops and counts.
//
// Ports whose TAP is deleted (by the user, or with its namespace) are removed; ports whose TAP is
// moved into another namespace keep forwarding: the descriptor, not the name, is the port.
// Destruction is the clean shutdown: control socket closed and unlinked, then ports closed (the
// TAPs this process created disappear with their descriptors).
//
// SIGHUP rereads the configuration file and applies what changed in it (PlanReload in
// switchd/control/config.h): the whole file is validated first, and an invalid one changes
// nothing. Learned entries and ports the file never listed are left alone.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "switchd/control/config.h"
#include "switchd/control/events.h"
#include "switchd/control/methods.h"
#include "switchd/core/datapath.h"
#include "switchd/core/vxlan.h"
#include "switchd/io/control_server.h"
#include "switchd/io/event_loop.h"
#include "switchd/io/log.h"
#include "switchd/io/metrics_server.h"
#include "switchd/io/netlink.h"
#include "switchd/io/packet_socket.h"
#include "switchd/io/pcap.h"
#include "switchd/io/tap.h"

namespace switchd {

class Daemon final : public PortBackend,
                     public FrameSink,
                     public DatapathEvents,
                     public FrameObserver {
 public:
  static constexpr int kReadBatch = 64;  // frames per port per wake-up, at most
  // A port woken within this interval of its last wake-up is read in batches (OnPortReadable).
  static constexpr Duration kBusyInterval = std::chrono::microseconds(200);
  // A virtio-net header and the largest (GSO) frame a TAP hands over.
  static constexpr size_t kFrameBufferSize = kVnetHeaderSize + kMaxFrameSize;
  // Event records published per loop iteration, at most: the rest waits for the next one.
  static constexpr size_t kEventFlushBatch = 512;

  struct Options {
    std::string socket;                      // the control socket's path
    std::optional<std::string> config_file;  // reread on SIGHUP
    Config file;                             // what the file asked for (empty without a file)
    Config command_line;  // what the command line added (ports) and overrode (scalars)
  };

  // Opens the control socket and the configured ports and applies the static entries. Fails with
  // a one-line message if any of it cannot be done (nothing is left behind).
  static Result<std::unique_ptr<Daemon>> Start(const Options& options);
  // Use Start(); public only so that std::make_unique can reach it.
  Daemon(EventBasePtr base, const DatapathConfig& datapath_config);
  ~Daemon() override;

  // Runs the event loop until SIGTERM or SIGINT. Returns the process exit status.
  int Run();

  // Rereads the configuration file and applies its changes (what SIGHUP does). Logs one line
  // with what changed, or one line saying why the file was refused and nothing was changed.
  void Reload();

  // PortBackend
  Result<PortId> AddPort(std::string_view name, std::string_view kind, const PortOptions& options,
                         const LinkOptions& link) override;
  Status DelPort(PortId port) override;
  PortDetails Describe(PortId port) const override;
  Status AddRemote(PortId port, Ipv4Address remote) override;
  Status DelRemote(PortId port, Ipv4Address remote) override;
  std::optional<Ipv4Address> RemoteOf(PortId port, MacAddress mac) const override;

  // FrameSink
  bool Send(PortId port, std::span<const std::byte> frame, const VnetHeader& vnet) override;

  // FrameObserver: the frames of the ports being captured.
  void OnFrame(PortId port, Direction direction, std::span<const std::byte> frame,
               const VnetHeader& vnet) override;

  // DatapathEvents
  void OnMacLearned(const MacEntry& entry) override;
  void OnMacMoved(const MacEntry& entry, PortId from) override;
  void OnMacMoveDamped(const MacEntry& entry, PortId attempted) override;
  void OnMacExpired(const MacEntry& entry) override;
  void OnMacEvicted(const MacEntry& entry) override;
  void OnArpLearned(const ArpBinding& binding) override;
  void OnArpChanged(const ArpBinding& binding, MacAddress old_mac) override;
  void OnArpExpired(const ArpBinding& binding) override;

 private:
  // A VXLAN port's tunnel: a UDP socket bound to the local address and port, its remotes, which
  // remote each MAC was last seen behind, and what went wrong with packets.
  struct Tunnel {
    VxlanOptions options;
    UniqueFd socket;
    VtepCache cache;
    uint64_t encapsulated = 0;    // packets sent (one per remote a frame went to)
    uint64_t decapsulated = 0;    // packets taken in
    uint64_t malformed = 0;       // short, wrong flags, wrong VNI
    uint64_t unknown_source = 0;  // from an address that is not a remote
    uint64_t too_big = 0;         // frames that would not fit the underlay's MTU
  };

  // A port is reached one of two ways: through a TAP descriptor the switch holds (kind tap), or
  // through an interface's kernel side with a packet socket (kinds vm and attach).
  struct Port {
    Daemon* daemon = nullptr;
    PortId id = kNoPort;
    uint64_t serial = 0;  // tells a port from a later one that reused its id
    std::string name;
    std::string kind;
    LinkOptions link;                    // as add-port was given it
    std::optional<Tap> tap;              // kind tap
    std::optional<PacketSocket> packet;  // kinds vm and attach
    std::unique_ptr<Tunnel> tunnel;      // kind vxlan
    bool owns_interface = false;         // vm: switchd created the persistent TAP; deleted with it
    EventPtr read_event;
    std::optional<int> ifindex;  // in our namespace; nullopt once moved away
    std::optional<MacAddress> mac;
    bool up = false;
    bool removal_pending = false;
    Time last_wakeup{};
  };

  Status Init(const Options& options);
  // Runs one control method for the configuration (start-up or reload).
  Result<nlohmann::json> Apply(std::string_view method, const nlohmann::json& params);
  std::optional<std::string> HandleControlLine(std::string_view line,
                                               ControlServer::ClientId client);
  Port* FindPort(PortId id) const;
  // Open the port's interface for each kind; on failure, ReleasePort undoes what was done.
  Status OpenTapPort(Port& port, bool offloads);
  Status OpenVmPort(Port& port);
  Status OpenAttachPort(Port& port);
  // A vm or attach port's common part: the interface's MTU and MAC, link up, the packet socket.
  Status OpenKernelSide(Port& port, const LinkState& link);
  Status OpenVxlanPort(Port& port);
  bool SendOverTunnel(Port& port, std::span<const std::byte> frame);
  // Moves a tap port's TAP into its namespace (created if asked and missing), brings it up there
  // and gives it its address.
  Status MoveIntoNamespace(Port& port);
  // Whether the port's interface still exists (a TAP's descriptor is attached; an interface
  // reached by packet socket still has its ifindex).
  static bool IsAttached(const Port& port);
  // Closes the port's descriptors and deletes what switchd created for it: a vm port's TAP, a
  // namespace no other port uses. The datapath must no longer know the port.
  void ReleasePort(Port& port);
  void RemovePort(PortId id, const char* reason);
  void ScheduleRemoval(Port& port);
  void CheckPorts();
  void OnLinkEvent(const LinkEvent& event);
  std::string PortName(PortId id) const;

  // Captures (switchctl capture): a port's frames into a pcap file, until a count, a time, the
  // client going away or the port going away.
  struct Capture {
    Daemon* daemon = nullptr;
    uint64_t id = 0;
    ControlServer::ClientId client = 0;
    PortId port = kNoPort;
    std::string port_name;
    std::string file;
    PcapWriter writer;
    uint64_t limit = 0;  // frames; 0: none
    EventPtr timer;      // the time limit, if any
    std::string end;     // why it ended, once it has: "count", "time", ...
  };
  Result<nlohmann::json> StartCapture(ControlServer::ClientId client, PortId port,
                                      const std::string& file, uint64_t count, uint64_t seconds);
  // Marks a capture ended for `reason`; FinishCaptures (deferred) closes it and tells the client.
  void EndCapture(Capture& capture, const char* reason);
  void FinishCaptures();
  static void OnCaptureTimer(int fd, short events, void* arg);
  static void OnFinishCaptures(int fd, short events, void* arg);

  // Events for monitor subscribers.
  class Session;
  bool Monitoring() const { return control_ != nullptr && control_->has_subscribers(); }
  // The port's name for an event record, empty if the datapath has no such port. No allocation.
  std::string_view EventPortName(PortId id) const;
  void RecordEvent(const Event& event);
  void RecordPortEvent(EventKind kind, const Port& port);
  void SetPortUp(Port& port, bool up);
  // Subscribes a control client: first publishes what the ring holds (events from before the
  // subscription), so the new subscriber gets only later ones.
  Status Subscribe(ControlServer::ClientId client, EventKinds kinds);
  // Publishes up to `max` records, then the lost count once the ring is empty.
  void FlushEvents(size_t max);

  static void OnPortReadable(int fd, short events, void* arg);
  static void OnPacketReadable(int fd, short events, void* arg);
  static void OnTunnelReadable(int fd, short events, void* arg);
  static void OnTimer(int fd, short events, void* arg);
  static void OnSignal(int signal, short events, void* arg);
  static void OnReloadSignal(int signal, short events, void* arg);
  static void OnLinkReadable(int fd, short events, void* arg);
  static void OnDeferredRemoval(int fd, short events, void* arg);
  static void OnFlushEvents(int fd, short events, void* arg);

  // Declared first, destroyed last: every event below belongs to it.
  EventBasePtr base_;
  Datapath datapath_;
  ControlMethods methods_;
  std::vector<std::unique_ptr<Port>> ports_;  // indexed by PortId
  uint64_t next_serial_ = 1;
  std::vector<std::pair<PortId, uint64_t>> pending_removals_;
  std::optional<NetlinkClient> netlink_;
  std::optional<LinkMonitor> link_monitor_;
  EventPtr link_event_;
  EventPtr timer_;
  EventPtr sigterm_;
  EventPtr sigint_;
  EventPtr sighup_;
  EventPtr removal_event_;
  EventPtr flush_events_;  // zero-delay timer: publishes the event ring
  EventRing event_ring_;
  std::string event_line_;  // reused for each notification line
  RateLimiter move_log_limit_{10};
  RateLimiter debug_log_limit_{20};
  std::vector<std::byte> frame_buffer_;
  std::unique_ptr<PacketBatch> packet_batch_;  // allocated with the first packet-socket port
  std::vector<std::byte> tunnel_buffer_;       // one UDP datagram, for VXLAN ports
  std::set<std::string> created_netns_;        // namespaces switchd created, deleted when unused
  std::vector<std::unique_ptr<Capture>> captures_;
  uint64_t next_capture_id_ = 1;
  EventPtr finish_captures_;  // zero-delay: closes ended captures outside the datapath
  Time slow_control_end_{};   // when the last control request that took kBusyInterval or more ended
  std::optional<std::string> config_file_;
  Config file_config_;  // what the file asked for when it was last read successfully
  Config command_line_;
  // The --metrics endpoint, if any. Like control_, gone before the rest is torn down.
  std::unique_ptr<MetricsServer> metrics_;
  // Declared last, destroyed first: no control call arrives while the rest is torn down.
  std::unique_ptr<ControlServer> control_;
};

}  // namespace switchd
