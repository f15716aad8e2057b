#include "switchd/io/daemon.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/fsuid.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "switchd/control/json_rpc.h"
#include "switchd/control/metrics.h"
#include "switchd/io/netns.h"

namespace switchd {
namespace {

constexpr unsigned kIffLowerUp = 0x10000;  // IFF_LOWER_UP (linux/if.h): the carrier is on

// Whether a port's link counts as up. A TAP port is up when its interface is; a port reached
// through an interface's kernel side needs the carrier too (a vm port's guest attached).
bool LinkUp(bool packet_port, unsigned flags) {
  return (flags & IFF_UP) != 0 && (!packet_port || (flags & kIffLowerUp) != 0);
}

DatapathConfig MakeDatapathConfig(const Config& config) {
  DatapathConfig datapath;
  if (config.max_macs) {
    datapath.max_macs = *config.max_macs;
    datapath.max_arp = *config.max_macs;
  }
  if (config.aging_seconds) datapath.aging_time = std::chrono::seconds(*config.aging_seconds);
  return datapath;
}

std::string DescribeMac(const MacEntry& entry) {
  return entry.mac.ToString() + " vlan " + std::to_string(entry.vlan);
}

}  // namespace

Daemon::Daemon(EventBasePtr base, const DatapathConfig& datapath_config)
    : base_(std::move(base)),
      datapath_(*this, datapath_config, this),
      methods_(datapath_, *this),
      frame_buffer_(kFrameBufferSize) {}

Daemon::~Daemon() {
  // The control socket goes first (destroyed last-declared), then the events, then the ports:
  // closing a TAP this process created deletes it. Captures keep what they wrote.
  datapath_.set_observer(nullptr);
  for (auto& capture : captures_) (void)capture->writer.Flush();
  captures_.clear();
  control_.reset();
  for (auto& port : ports_) {
    if (!port) continue;
    datapath_.RemovePort(port->id);
    ReleasePort(*port);
    port.reset();
  }
  ports_.clear();
}

Result<std::unique_ptr<Daemon>> Daemon::Start(const Options& options) {
  EventBasePtr base(event_base_new());
  if (!base) return Status::System("cannot create the event loop");
  auto daemon = std::make_unique<Daemon>(
      std::move(base), MakeDatapathConfig(Merge(options.file, options.command_line)));
  if (Status status = daemon->Init(options); !status.ok()) return status;
  return daemon;
}

Status Daemon::Init(const Options& options) {
  config_file_ = options.config_file;
  file_config_ = options.file;
  command_line_ = options.command_line;
  const Config config = Merge(options.file, options.command_line);
  if (config_file_) {
    // The whole file is checked before anything is opened; its static entries may name the
    // command line's ports.
    std::vector<std::string> command_line_ports;
    for (const PortRequest& port : command_line_.ports) command_line_ports.push_back(port.name);
    Status valid =
        ValidateConfig(file_config_, command_line_ports, datapath_.mac_table().capacity());
    if (!valid.ok()) return Status(valid.code(), *config_file_ + ": " + valid.message());
  }

  Result<NetlinkClient> netlink = NetlinkClient::Connect();
  if (!netlink.ok()) return netlink.status();
  netlink_.emplace(std::move(*netlink));
  Result<LinkMonitor> monitor = LinkMonitor::Open();
  if (!monitor.ok()) return monitor.status();
  link_monitor_.emplace(std::move(*monitor));
  link_event_.reset(
      event_new(base_.get(), link_monitor_->fd(), EV_READ | EV_PERSIST, OnLinkReadable, this));
  event_add(link_event_.get(), nullptr);

  timer_.reset(event_new(base_.get(), -1, EV_PERSIST, OnTimer, this));
  timeval one_second{1, 0};
  event_add(timer_.get(), &one_second);
  sigterm_.reset(evsignal_new(base_.get(), SIGTERM, OnSignal, this));
  sigint_.reset(evsignal_new(base_.get(), SIGINT, OnSignal, this));
  event_add(sigterm_.get(), nullptr);
  event_add(sigint_.get(), nullptr);
  sighup_.reset(evsignal_new(base_.get(), SIGHUP, OnReloadSignal, this));
  event_add(sighup_.get(), nullptr);
  removal_event_.reset(event_new(base_.get(), -1, 0, OnDeferredRemoval, this));
  finish_captures_.reset(event_new(base_.get(), -1, 0, OnFinishCaptures, this));
  datapath_.set_observer(this);
  flush_events_.reset(evtimer_new(base_.get(), OnFlushEvents, this));

  // The socket first: a second switchd must fail before it touches any TAP.
  control_ = std::make_unique<ControlServer>(
      base_.get(), [this](std::string_view line, ControlServer::ClientId client) {
        return HandleControlLine(line, client);
      });
  control_->set_on_close([this](ControlServer::ClientId client) {
    for (auto& capture : captures_) {
      if (capture->client == client) EndCapture(*capture, "the client went away");
    }
  });
  control_->set_lost_notice([](uint64_t count) {
    std::string line;
    AppendLostNotification(count, std::chrono::system_clock::now(), line);
    return line;
  });
  if (Status status = control_->Listen(options.socket, config.socket_group); !status.ok()) {
    return status;
  }
  Logf(LogLevel::kInfo, "listening on %s%s", options.socket.c_str(),
       config.socket_group ? (" (group " + *config.socket_group + ")").c_str() : "");
  // Before the ports: a metrics address that cannot be bound leaves no TAP behind.
  if (config.metrics) {
    Result<std::unique_ptr<MetricsServer>> metrics = MetricsServer::Start(
        base_.get(), *config.metrics,
        [this] { return RenderMetrics(TakeMetricsSnapshot(datapath_, *this, SWITCHD_VERSION)); });
    if (!metrics.ok()) return metrics.status();
    metrics_ = std::move(*metrics);
    Logf(LogLevel::kInfo, "serving metrics on http://%s/metrics",
         metrics_->address().ToString().c_str());
  }

  // Ports and static entries go through the control methods, so that the configuration and the
  // control socket share one validation path and one set of error messages.
  for (const PortRequest& port : config.ports) {
    Result<nlohmann::json> result = Apply("add-port", AddPortParams(port));
    if (result.ok()) {
      if (std::optional<nlohmann::json> settings = SetPortParams(port)) {
        result = Apply("set-port", *settings);
      }
    }
    if (!result.ok()) return result.status();
  }
  for (const nlohmann::json& mac : config.macs) {
    Result<nlohmann::json> result = Apply("add-mac", mac);
    if (!result.ok()) return Status::InvalidArgument("config: macs: " + result.status().message());
  }
  for (const nlohmann::json& arp : config.arp) {
    Result<nlohmann::json> result = Apply("add-arp", arp);
    if (!result.ok()) return Status::InvalidArgument("config: arp: " + result.status().message());
  }
  for (const nlohmann::json& mirror : config.mirrors) {
    Result<nlohmann::json> result = Apply("add-mirror", mirror);
    if (!result.ok()) {
      return Status::InvalidArgument("config: mirrors: " + result.status().message());
    }
  }
  return Status::Ok();
}

Result<nlohmann::json> Daemon::Apply(std::string_view method, const nlohmann::json& params) {
  return methods_.Call(method, params, Clock::now());
}

// --- Reload ----------------------------------------------------------------------------------

void Daemon::Reload() {
  if (!config_file_) {
    Logf(LogLevel::kWarn, "reload: switchd was started without --config; nothing to reread");
    return;
  }
  const char* path = config_file_->c_str();
  auto refuse = [path](const std::string& why) {
    Logf(LogLevel::kError, "reload: %s: %s; keeping the running configuration", path, why.c_str());
  };
  Result<Config> next = ReadConfigFile(*config_file_);
  if (!next.ok()) return refuse(next.status().message());
  ReloadPlan plan = PlanReload(file_config_, *next, command_line_, [this](std::string_view name) {
    return datapath_.FindPort(name).has_value();
  });
  // Validate the whole file against the ports that stay: nothing is changed unless all of it
  // would be accepted.
  std::vector<std::string> staying;
  for (const PortInfo& port : datapath_.Ports()) {
    if (std::find(plan.ports_to_delete.begin(), plan.ports_to_delete.end(), port.name) ==
        plan.ports_to_delete.end()) {
      staying.push_back(port.name);
    }
  }
  if (Status valid = ValidateConfig(*next, staying, datapath_.mac_table().capacity());
      !valid.ok()) {
    return refuse(valid.message());
  }
  file_config_ = std::move(*next);

  // What the file no longer asks for goes first, so that a re-added port or entry is the new one.
  size_t failures = 0;
  auto step = [&](std::string_view method, const nlohmann::json& params) {
    Result<nlohmann::json> result = Apply(method, params);
    if (result.ok()) return true;
    Logf(LogLevel::kWarn, "reload: %s: %.*s %s: %s", path, static_cast<int>(method.size()),
         method.data(), params.dump().c_str(), result.status().message().c_str());
    ++failures;
    return false;
  };
  size_t macs_deleted = 0;
  for (const nlohmann::json& params : plan.macs_to_delete) {
    // Only the static entry the file had added: a learned one with that key stays.
    std::optional<MacAddress> mac = MacAddress::Parse(params["mac"].get<std::string>());
    std::optional<MacEntry> entry =
        mac ? datapath_.mac_table().Find(*mac, params["vlan"].get<VlanId>()) : std::nullopt;
    if (entry && entry->is_static && step("del-mac", params)) ++macs_deleted;
  }
  size_t arp_deleted = 0;
  for (const nlohmann::json& params : plan.arp_to_delete) {
    std::optional<Ipv4Address> ip = Ipv4Address::Parse(params["ip"].get<std::string>());
    std::optional<ArpBinding> binding =
        ip ? datapath_.arp_table().Lookup(*ip, params["vlan"].get<VlanId>()) : std::nullopt;
    if (binding && binding->is_static && step("del-arp", params)) ++arp_deleted;
  }
  for (const std::string& name : plan.mirrors_to_delete) {
    // A mirror may already be gone with one of its ports.
    if (std::any_of(datapath_.mirrors().begin(), datapath_.mirrors().end(),
                    [&](const Mirror& m) { return m.name == name; })) {
      step("del-mirror", {{"name", name}});
    }
  }
  size_t ports_deleted = 0;
  for (const std::string& name : plan.ports_to_delete) {
    if (step("del-port", {{"name", name}})) ++ports_deleted;
  }
  size_t ports_added = 0;
  for (const PortRequest& port : plan.ports_to_add) {
    if (!step("add-port", AddPortParams(port))) continue;
    ++ports_added;
    if (std::optional<nlohmann::json> settings = SetPortParams(port)) step("set-port", *settings);
  }
  for (const nlohmann::json& params : plan.ports_to_configure) step("set-port", params);
  size_t macs_added = 0;
  for (const nlohmann::json& params : plan.macs_to_add) {
    if (step("add-mac", params)) ++macs_added;
  }
  size_t arp_added = 0;
  for (const nlohmann::json& params : plan.arp_to_add) {
    if (step("add-arp", params)) ++arp_added;
  }
  for (const nlohmann::json& params : plan.mirrors_to_add) step("add-mirror", params);
  std::string scalars;
  if (plan.aging_seconds && step("set-aging", {{"seconds", *plan.aging_seconds}})) {
    scalars += ", aging " + std::to_string(*plan.aging_seconds) + " s";
  }
  if (plan.log_level) {
    if (std::optional<LogLevel> level = ParseLogLevel(*plan.log_level)) SetLogLevel(*level);
    scalars += ", log level " + *plan.log_level;
  }
  for (const std::string& warning : plan.warnings) {
    Logf(LogLevel::kWarn, "reload: %s: %s", path, warning.c_str());
  }
  Logf(
      failures ? LogLevel::kWarn : LogLevel::kInfo,
      "reload: %s: ports +%zu -%zu, static MAC entries +%zu -%zu, static ARP bindings +%zu "
      "-%zu%s%s",
      path, ports_added, ports_deleted, macs_added, macs_deleted, arp_added, arp_deleted,
      scalars.c_str(),
      failures ? ("; " + std::to_string(failures) + " changes failed (logged above)").c_str() : "");
}

int Daemon::Run() {
  if (event_base_dispatch(base_.get()) < 0) {
    Logf(LogLevel::kError, "event loop failed");
    return 1;
  }
  Logf(LogLevel::kInfo, "shutting down");
  return 0;
}

// The control connection a request came on, for monitor.
class Daemon::Session final : public ControlSession {
 public:
  Session(Daemon& daemon, ControlServer::ClientId client) : daemon_(daemon), client_(client) {}
  Status Subscribe(EventKinds kinds) override { return daemon_.Subscribe(client_, kinds); }
  Result<nlohmann::json> StartCapture(PortId port, const std::string& file, uint64_t count,
                                      uint64_t seconds) override {
    return daemon_.StartCapture(client_, port, file, count, seconds);
  }

 private:
  Daemon& daemon_;
  ControlServer::ClientId client_;
};

std::optional<std::string> Daemon::HandleControlLine(std::string_view line,
                                                     ControlServer::ClientId client) {
  const Time start = Clock::now();
  Session session(*this, client);
  Dispatcher dispatcher{
      [this](std::string_view method) { return methods_.HasMethod(method); },
      [start, this, &session](std::string_view method, const nlohmann::json& params) {
        return methods_.Call(method, params, start, &session);
      }};
  std::optional<std::string> response = HandleRequestLine(line, dispatcher);
  const Time end = Clock::now();
  if (end - start >= kBusyInterval) slow_control_end_ = end;
  return response;
}

// --- Ports -----------------------------------------------------------------------------------

Result<PortId> Daemon::AddPort(std::string_view name, std::string_view kind,
                               const PortOptions& options, const LinkOptions& link) {
  if (datapath_.FindPort(name)) {
    return Status::AlreadyExists("port '" + std::string(name) + "' already exists");
  }
  auto port = std::make_unique<Port>();
  port->daemon = this;
  port->serial = next_serial_++;
  port->name = std::string(name);
  port->kind = std::string(kind);
  port->link = link;
  PortOptions datapath_options = options;
  Status opened;
  if (kind == "tap") {
    opened = OpenTapPort(*port, options.offloads);
  } else if (kind == "vxlan") {
    datapath_options.offloads = false;  // the datapath segments GSO frames before encapsulation
    opened = OpenVxlanPort(*port);
  } else if (kind == "vm" || kind == "attach") {
    // The kernel finishes offloaded frames for a device that cannot take them.
    datapath_options.offloads = true;
    opened = kind == "vm" ? OpenVmPort(*port) : OpenAttachPort(*port);
  } else {
    opened = Status::InvalidArgument("invalid port kind '" + std::string(kind) +
                                     "' (expected tap, vm or attach)");
  }
  Result<PortId> id = opened.ok() ? datapath_.AddPort(name, datapath_options) : opened;
  if (!id.ok()) {
    ReleasePort(*port);
    return id.status();
  }
  port->id = *id;
  const int fd = port->tap      ? port->tap->fd()
                 : port->tunnel ? port->tunnel->socket.get()
                                : port->packet->fd();
  event_callback_fn on_readable = port->tap      ? OnPortReadable
                                  : port->tunnel ? OnTunnelReadable
                                                 : OnPacketReadable;
  port->read_event.reset(event_new(base_.get(), fd, EV_READ | EV_PERSIST, on_readable, port.get()));
  event_add(port->read_event.get(), nullptr);
  size_t slot = ToIndex(*id);
  if (ports_.size() <= slot) ports_.resize(slot + 1);
  std::string where = port->tunnel ? "VNI " + std::to_string(port->tunnel->options.vni) + " from " +
                                         port->tunnel->options.local.ToString() + ":" +
                                         std::to_string(port->tunnel->options.dstport)
                      : port->ifindex ? "ifindex " + std::to_string(*port->ifindex)
                                      : "namespace " + port->link.netns.value_or("?");
  const char* origin = port->tunnel ? "UDP socket"
                       : port->tap  ? (port->tap->created() ? "new TAP" : "existing TAP")
                       : port->kind == "vm"
                           ? (port->owns_interface ? "new persistent TAP" : "existing TAP")
                           : "existing interface";
  Logf(LogLevel::kInfo, "port '%s' added (%s, %s, %s)", port->name.c_str(), port->kind.c_str(),
       origin, where.c_str());
  // The link notifications of the TAP's creation (down) and of bringing it up are queued by now:
  // read them before the port is registered, so that the stale "down" does not flap its state.
  OnLinkReadable(-1, 0, this);
  ports_[slot] = std::move(port);
  RecordPortEvent(EventKind::kPortAdded, *ports_[slot]);
  return *id;
}

Status Daemon::OpenTapPort(Port& port, bool offloads) {
  Result<Tap> tap = Tap::Open(port.name, offloads);
  if (!tap.ok()) return tap.status();
  port.tap.emplace(std::move(*tap));
  const unsigned index = if_nametoindex(port.name.c_str());
  if (index == 0) return Status::Ok();  // cannot happen: the TAP was just opened here
  port.ifindex = static_cast<int>(index);
  if (Status set = netlink_->SetLinkAttributes(*port.ifindex, port.link.mtu, port.link.mac);
      !set.ok()) {
    return Status(set.code(), "port '" + port.name + "': " + set.message());
  }
  port.mac = port.tap->HardwareAddress();
  if (port.link.netns) return MoveIntoNamespace(port);
  if (Status up = netlink_->SetLinkUp(*port.ifindex); up.ok()) {
    port.up = true;
  } else {
    Logf(LogLevel::kWarn, "port '%s': %s", port.name.c_str(), up.message().c_str());
  }
  if (port.link.address) {
    if (Status added = netlink_->AddAddress(*port.ifindex, *port.link.address); !added.ok()) {
      return Status(added.code(), "port '" + port.name + "': " + added.message());
    }
  }
  return Status::Ok();
}

Status Daemon::MoveIntoNamespace(Port& port) {
  const std::string& netns = *port.link.netns;
  auto fail = [&](const Status& status) {
    return Status(status.code(), "port '" + port.name + "': " + status.message());
  };
  Result<UniqueFd> fd = OpenNetns(netns);
  bool created = false;
  if (!fd.ok() && fd.status().code() == ErrorCode::kNotFound && port.link.create_netns) {
    fd = CreateNetns(netns);
    created = fd.ok();
    if (created) {
      created_netns_.insert(netns);
      Logf(LogLevel::kInfo, "network namespace '%s' created", netns.c_str());
    }
  }
  if (!fd.ok()) return fail(fd.status());
  if (Status moved = netlink_->MoveToNamespace(*port.ifindex, fd->get()); !moved.ok()) {
    return fail(moved);
  }
  port.ifindex.reset();  // no longer in our namespace
  Result<NetlinkClient> inside = NetlinkClient::ConnectIn(fd->get());
  if (!inside.ok()) return fail(inside.status());
  if (created) {
    // A new namespace's loopback starts down; a lab host expects it up, as after boot.
    if (Result<LinkState> lo = inside->GetLink("lo"); lo.ok()) (void)inside->SetLinkUp(lo->ifindex);
  }
  // A namespace may name the interface differently only if it was renamed there; we just moved it.
  Result<LinkState> link = inside->GetLink(port.name);
  if (!link.ok()) return fail(link.status());
  if (Status up = inside->SetLinkUp(link->ifindex); !up.ok()) return fail(up);
  port.up = true;
  if (port.link.address) {
    if (Status added = inside->AddAddress(link->ifindex, *port.link.address); !added.ok()) {
      return fail(added);
    }
  }
  return Status::Ok();
}

Status Daemon::OpenVmPort(Port& port) {
  Result<bool> created = Tap::CreatePersistent(port.name);
  if (!created.ok()) return created.status();
  port.owns_interface = *created;
  Result<LinkState> link = netlink_->GetLink(port.name);
  if (!link.ok()) return link.status();
  // The host's own IPv6 stack would otherwise give the TAP a link-local address and talk to the
  // guest past the switch (router solicitations, MLD reports). Best effort.
  if (port.owns_interface) {
    if (FILE* f =
            std::fopen(("/proc/sys/net/ipv6/conf/" + port.name + "/disable_ipv6").c_str(), "w")) {
      std::fputs("1", f);
      std::fclose(f);
    }
  }
  return OpenKernelSide(port, *link);
}

Status Daemon::OpenAttachPort(Port& port) {
  Result<LinkState> link = netlink_->GetLink(port.name);
  if (!link.ok()) {
    if (link.status().code() != ErrorCode::kNotFound) return link.status();
    return Status::NotFound("no interface '" + port.name +
                            "' to attach (attach takes an existing interface, e.g. a veth end: "
                            "ip link add " +
                            port.name + " type veth peer name PEER)");
  }
  for (const auto& other : ports_) {
    if (other && other->ifindex == link->ifindex) {
      return Status::AlreadyExists("interface '" + port.name + "' is port '" + other->name +
                                   "' already");
    }
  }
  return OpenKernelSide(port, *link);
}

Status Daemon::OpenKernelSide(Port& port, const LinkState& link) {
  port.ifindex = link.ifindex;
  if (Status set = netlink_->SetLinkAttributes(link.ifindex, port.link.mtu, port.link.mac);
      !set.ok()) {
    return Status(set.code(), "port '" + port.name + "': " + set.message());
  }
  if (Status up = netlink_->SetLinkUp(link.ifindex); !up.ok()) return up;
  Result<LinkState> now = netlink_->GetLink(port.name);
  port.up = now.ok() && LinkUp(/*packet_port=*/true, now->flags);
  port.mac = port.link.mac ? port.link.mac : link.mac;
  Result<PacketSocket> packet = PacketSocket::Open(link.ifindex, port.name);
  if (!packet.ok()) return packet.status();
  port.packet.emplace(std::move(*packet));
  if (!packet_batch_) packet_batch_ = std::make_unique<PacketBatch>(kReadBatch);
  return Status::Ok();
}

Status Daemon::DelPort(PortId id) {
  if (!FindPort(id)) return Status::NotFound("unknown port");
  RemovePort(id, "removed");
  return Status::Ok();
}

PortDetails Daemon::Describe(PortId id) const {
  PortDetails details;
  Port* port = FindPort(id);
  if (!port) return details;
  details.kind = port->kind;
  details.link = port->link;
  std::optional<std::string> ifname;
  if (port->tap) {
    ifname = port->tap->CurrentName();
  } else if (port->ifindex) {
    char buffer[IF_NAMESIZE];
    if (if_indextoname(*port->ifindex, buffer)) ifname = buffer;
  }
  details.ifname = ifname.value_or(port->name);
  details.ifindex = port->ifindex;
  details.mac = port->mac;
  details.up = port->up;
  if (port->tunnel) {
    const Tunnel& t = *port->tunnel;
    details.link.vxlan = t.options;
    details.counters = {{"encapsulated", t.encapsulated},
                        {"decapsulated", t.decapsulated},
                        {"malformed", t.malformed},
                        {"unknown_source", t.unknown_source},
                        {"too_big", t.too_big}};
  }
  return details;
}

Status Daemon::AddRemote(PortId id, Ipv4Address remote) {
  Port* port = FindPort(id);
  if (!port || !port->tunnel) return Status::NotFound("port is not a VXLAN port");
  if (remote == port->tunnel->options.local) {
    return Status::InvalidArgument("remote " + remote.ToString() +
                                   " is the port's own local address");
  }
  std::vector<Ipv4Address>& remotes = port->tunnel->options.remotes;
  if (std::find(remotes.begin(), remotes.end(), remote) != remotes.end()) {
    return Status::AlreadyExists("port '" + port->name + "' has remote " + remote.ToString() +
                                 " already");
  }
  remotes.push_back(remote);
  Logf(LogLevel::kInfo, "port '%s': remote %s added", port->name.c_str(),
       remote.ToString().c_str());
  return Status::Ok();
}

Status Daemon::DelRemote(PortId id, Ipv4Address remote) {
  Port* port = FindPort(id);
  if (!port || !port->tunnel) return Status::NotFound("port is not a VXLAN port");
  std::vector<Ipv4Address>& remotes = port->tunnel->options.remotes;
  auto it = std::find(remotes.begin(), remotes.end(), remote);
  if (it == remotes.end()) {
    return Status::NotFound("port '" + port->name + "' has no remote " + remote.ToString());
  }
  remotes.erase(it);
  port->tunnel->cache.Forget(remote);
  Logf(LogLevel::kInfo, "port '%s': remote %s removed", port->name.c_str(),
       remote.ToString().c_str());
  return Status::Ok();
}

std::optional<Ipv4Address> Daemon::RemoteOf(PortId id, MacAddress mac) const {
  Port* port = FindPort(id);
  if (!port || !port->tunnel) return std::nullopt;
  return port->tunnel->cache.Lookup(mac);
}

Status Daemon::OpenVxlanPort(Port& port) {
  const VxlanOptions& options = port.link.vxlan.value();
  for (const auto& other : ports_) {
    if (other && other->tunnel && other->tunnel->options.local == options.local &&
        other->tunnel->options.dstport == options.dstport) {
      return Status::AlreadyExists(
          "VXLAN port '" + other->name + "' uses " + options.local.ToString() + ":" +
          std::to_string(options.dstport) + " already (one VNI per local address and port)");
    }
  }
  auto tunnel = std::make_unique<Tunnel>();
  tunnel->options = options;
  tunnel->socket.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!tunnel->socket)
    return Status::System(std::string("cannot open a UDP socket: ") + strerror(errno));
  // Never fragment: a frame too big for the underlay is dropped and counted (EMSGSIZE).
  const int pmtu = IP_PMTUDISC_DO;
  (void)setsockopt(tunnel->socket.get(), IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);
  const int buffer = 4 << 20;
  (void)setsockopt(tunnel->socket.get(), SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  (void)setsockopt(tunnel->socket.get(), SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(options.dstport);
  address.sin_addr.s_addr = htonl(options.local.value());
  if (bind(tunnel->socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) {
    return Status::System("cannot bind " + options.local.ToString() + ":" +
                          std::to_string(options.dstport) + ": " + strerror(errno));
  }
  if (tunnel_buffer_.empty()) tunnel_buffer_.resize(65536);
  port.tunnel = std::move(tunnel);
  port.up = true;
  return Status::Ok();
}

bool Daemon::SendOverTunnel(Port& port, std::span<const std::byte> frame) {
  Tunnel& t = *port.tunnel;
  const std::array<std::byte, kVxlanHeaderSize> header = VxlanHeader(t.options.vni);
  iovec parts[2] = {{const_cast<std::byte*>(header.data()), header.size()},
                    {const_cast<std::byte*>(frame.data()), frame.size()}};
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(t.options.dstport);
  msghdr message{};
  message.msg_name = &to;
  message.msg_namelen = sizeof to;
  message.msg_iov = parts;
  message.msg_iovlen = 2;
  auto send_to = [&](Ipv4Address remote) {
    to.sin_addr.s_addr = htonl(remote.value());
    if (::sendmsg(t.socket.get(), &message, MSG_DONTWAIT) >= 0) {
      ++t.encapsulated;
      return true;
    }
    if (errno == EMSGSIZE) ++t.too_big;
    return false;
  };
  // Known unicast goes to the one remote its MAC is behind; the rest to every remote.
  if (frame.size() >= 6) {
    const MacAddress dst = MacAddress::FromBytes(frame.first(6));
    if (!dst.IsMulticast()) {
      if (std::optional<Ipv4Address> remote = t.cache.Lookup(dst)) return send_to(*remote);
    }
  }
  bool sent = false;
  for (Ipv4Address remote : t.options.remotes) sent = send_to(remote) || sent;
  return sent;
}

void Daemon::OnTunnelReadable(int fd, short, void* arg) {
  auto* port = static_cast<Port*>(arg);
  Daemon* self = port->daemon;
  Tunnel& t = *port->tunnel;
  std::span<std::byte> buffer(self->tunnel_buffer_);
  const Time now = Clock::now();
  for (int i = 0; i < kReadBatch; ++i) {
    sockaddr_in from{};
    socklen_t from_size = sizeof from;
    const ssize_t n = ::recvfrom(fd, buffer.data(), buffer.size(), MSG_DONTWAIT | MSG_TRUNC,
                                 reinterpret_cast<sockaddr*>(&from), &from_size);
    if (n < 0) return;  // EAGAIN, or an ICMP error reported on the socket: nothing to take
    const Ipv4Address source(ntohl(from.sin_addr.s_addr));
    const std::vector<Ipv4Address>& remotes = t.options.remotes;
    // With learn_remotes, any sender's well-formed packets get in and its MACs are remembered
    // behind it (so unicast goes back to it), as a kernel vxlan device learns; floods still go to
    // the configured remotes only, so spoofed senders cannot grow what a broadcast costs.
    if (!t.options.learn_remotes &&
        std::find(remotes.begin(), remotes.end(), source) == remotes.end()) {
      ++t.unknown_source;
      ++self->datapath_.counters(port->id).rx_dropped;
      continue;
    }
    VxlanError error = VxlanError::kNone;
    const std::span<const std::byte> inner =
        static_cast<size_t>(n) > buffer.size()
            ? std::span<const std::byte>()
            : ParseVxlan(buffer.first(static_cast<size_t>(n)), t.options.vni, error);
    if (inner.empty()) {
      ++t.malformed;
      ++self->datapath_.counters(port->id).rx_dropped;
      continue;
    }
    ++t.decapsulated;
    const MacAddress src = MacAddress::FromBytes(inner.subspan(6, 6));
    if (!src.IsMulticast() && !src.IsZero()) t.cache.Learn(src, source);
    self->datapath_.Receive(port->id, inner, now);
  }
}

bool Daemon::IsAttached(const Port& port) {
  if (port.tunnel) return true;  // no interface to lose
  if (port.tap) return port.tap->IsAttached();
  char buffer[IF_NAMESIZE];
  return port.ifindex && if_indextoname(*port.ifindex, buffer) != nullptr;
}

void Daemon::ReleasePort(Port& port) {
  port.read_event.reset();
  port.tap.reset();  // a TAP this process created goes with its descriptor
  port.packet.reset();
  port.tunnel.reset();
  if (port.owns_interface && port.ifindex) {
    if (Status deleted = netlink_->DeleteLink(*port.ifindex); !deleted.ok()) {
      Logf(LogLevel::kWarn, "port '%s': %s", port.name.c_str(), deleted.message().c_str());
    }
    port.owns_interface = false;
  }
  if (port.link.netns && created_netns_.count(*port.link.netns)) {
    const std::string& netns = *port.link.netns;
    const bool used = std::any_of(ports_.begin(), ports_.end(), [&](const auto& other) {
      return other && other.get() != &port && other->link.netns == netns;
    });
    if (!used) {
      if (Status deleted = DeleteNetns(netns); deleted.ok()) {
        Logf(LogLevel::kInfo, "network namespace '%s' deleted", netns.c_str());
      } else {
        Logf(LogLevel::kWarn, "%s", deleted.message().c_str());
      }
      created_netns_.erase(netns);
    }
  }
}

Daemon::Port* Daemon::FindPort(PortId id) const {
  size_t slot = ToIndex(id);
  return slot < ports_.size() ? ports_[slot].get() : nullptr;
}

std::string Daemon::PortName(PortId id) const {
  Port* port = FindPort(id);
  return port ? port->name : "?";
}

void Daemon::RemovePort(PortId id, const char* reason) {
  Port* port = FindPort(id);
  if (!port) return;
  Logf(LogLevel::kInfo, "port '%s' %s", port->name.c_str(), reason);
  RecordPortEvent(EventKind::kPortRemoved, *port);
  for (auto& capture : captures_) {
    if (capture->port == id) EndCapture(*capture, "the port was removed");
  }
  datapath_.RemovePort(id);
  ReleasePort(*port);
  ports_[ToIndex(id)].reset();
}

void Daemon::ScheduleRemoval(Port& port) {
  // Never free a port from inside its own callback or in the middle of a flood: defer to the loop.
  if (port.removal_pending) return;
  port.removal_pending = true;
  pending_removals_.emplace_back(port.id, port.serial);
  event_active(removal_event_.get(), EV_TIMEOUT, 0);
}

void Daemon::OnDeferredRemoval(int, short, void* arg) {
  auto* self = static_cast<Daemon*>(arg);
  for (auto [id, serial] : self->pending_removals_) {
    Port* port = self->FindPort(id);
    if (!port || port->serial != serial) continue;
    port->removal_pending = false;
    if (!IsAttached(*port)) {
      self->RemovePort(id, port->tap ? "removed: its TAP was deleted"
                                     : "removed: its interface was deleted or moved away");
    }
  }
  self->pending_removals_.clear();
}

void Daemon::CheckPorts() {
  for (auto& port : ports_) {
    if (port && !IsAttached(*port)) ScheduleRemoval(*port);
  }
}

// --- Frames ----------------------------------------------------------------------------------

void Daemon::OnPortReadable(int fd, short, void* arg) {
  auto* port = static_cast<Port*>(arg);
  Daemon* self = port->daemon;
  Time now = Clock::now();
  std::span<std::byte> buffer(self->frame_buffer_);
  const size_t header = port->tap->offloads() ? kVnetHeaderSize : 0;
  // A port woken again soon after its last wake-up is busy: drain it (up to a batch) to save
  // wake-ups. A quiet port gets one read, sparing the read that would only return EAGAIN, which
  // is a syscall of latency on every ping. Level-triggered events bring back anything left over.
  // A port that waited behind a slow control request (a show-macs of a full table takes
  // milliseconds) has a backlog too, whatever its rate: one frame per wake-up would let the TAP's
  // queue, and the latency through the switch, grow for as long as the control work goes on.
  const bool busy = now - port->last_wakeup < kBusyInterval;
  const bool waited = self->slow_control_end_ > port->last_wakeup;
  const int batch = busy || waited ? kReadBatch : 1;
  port->last_wakeup = now;
  for (int i = 0; i < batch; ++i) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n > 0) {
      self->SetPortUp(*port, true);
      if (static_cast<size_t>(n) < header) continue;  // cannot happen: the kernel writes it whole
      const VnetHeader vnet = header ? ReadVnetHeader(buffer) : VnetHeader{};
      // May emit frames to any port, never removes one (removals are deferred).
      self->datapath_.Receive(port->id, buffer.subspan(header, static_cast<size_t>(n) - header),
                              now, vnet);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    // EBADFD: the TAP was deleted. Anything else: check the TAP; a detached one is removed, and
    // its read event is freed with it, so this callback does not spin.
    if (!IsAttached(*port)) {
      event_del(port->read_event.get());
      self->ScheduleRemoval(*port);
    }
    return;
  }
}

void Daemon::OnPacketReadable(int fd, short, void* arg) {
  auto* port = static_cast<Port*>(arg);
  Daemon* self = port->daemon;
  PacketBatch& batch = *self->packet_batch_;
  // One recvmmsg takes what is waiting, up to a batch: no extra call for a quiet port.
  const int n = batch.Receive(fd, kReadBatch);
  if (n < 0) {
    // ENETDOWN: the interface went down (or away; the link monitor and CheckPorts tell which).
    if (errno == ENETDOWN) self->SetPortUp(*port, false);
    if (!IsAttached(*port)) {
      event_del(port->read_event.get());
      self->ScheduleRemoval(*port);
    }
    return;
  }
  const Time now = Clock::now();
  port->last_wakeup = now;
  for (int i = 0; i < n; ++i) {
    std::span<std::byte> frame = batch.frame(static_cast<size_t>(i));
    if (frame.size() < kVnetHeaderSize) {
      // Truncated (larger than any frame we take): counted with the malformed ones.
      self->datapath_.Receive(port->id, {}, now);
      continue;
    }
    self->datapath_.Receive(port->id, frame.subspan(kVnetHeaderSize), now, ReadVnetHeader(frame));
  }
}

bool Daemon::Send(PortId id, std::span<const std::byte> frame, const VnetHeader& vnet) {
  Port* port = FindPort(id);
  if (!port) return false;
  if (port->tunnel) return SendOverTunnel(*port, frame);
  if (port->packet) {
    if (port->packet->Send(frame, vnet)) return true;
    if (errno == ENETDOWN) SetPortUp(*port, false);
    if (errno == ENXIO || errno == ENODEV) ScheduleRemoval(*port);
    return false;
  }
  ssize_t n;
  size_t expected = frame.size();
  if (port->tap->offloads()) {
    std::array<std::byte, kVnetHeaderSize> header;
    WriteVnetHeader(vnet, header);
    iovec parts[2] = {{header.data(), header.size()},
                      {const_cast<std::byte*>(frame.data()), frame.size()}};
    expected += header.size();
    n = ::writev(port->tap->fd(), parts, 2);
  } else {
    n = ::write(port->tap->fd(), frame.data(), frame.size());
  }
  if (n == static_cast<ssize_t>(expected)) return true;
  if (n < 0) {
    if (errno == EIO) {
      SetPortUp(*port, false);  // the TAP's link is down: counted as a drop, not an error
    } else if (errno == EBADFD) {
      ScheduleRemoval(*port);
    }
  }
  return false;
}

// --- Timers, signals, link events ------------------------------------------------------------

void Daemon::OnTimer(int, short, void* arg) {
  auto* self = static_cast<Daemon*>(arg);
  self->datapath_.Run(Clock::now());
  // A TAP deleted together with a namespace it was moved to sends no event we can see here.
  self->CheckPorts();
}

void Daemon::OnSignal(int signal, short, void* arg) {
  auto* self = static_cast<Daemon*>(arg);
  Logf(LogLevel::kInfo, "received SIG%s, exiting", sigabbrev_np(signal));
  event_base_loopexit(self->base_.get(), nullptr);
}

void Daemon::OnReloadSignal(int, short, void* arg) {
  auto* self = static_cast<Daemon*>(arg);
  Logf(LogLevel::kInfo, "received SIGHUP, rereading the configuration");
  self->Reload();
}

void Daemon::OnLinkReadable(int, short, void* arg) {
  auto* self = static_cast<Daemon*>(arg);
  bool complete =
      self->link_monitor_->Drain([self](const LinkEvent& event) { self->OnLinkEvent(event); });
  if (!complete) {
    Logf(LogLevel::kWarn, "link notifications were lost; re-checking every port");
    self->CheckPorts();
  }
}

void Daemon::OnLinkEvent(const LinkEvent& event) {
  for (auto& slot : ports_) {
    Port* port = slot.get();
    if (!port) continue;
    if (port->ifindex == event.ifindex) {
      if (event.kind == LinkEvent::Kind::kNew) {
        SetPortUp(*port, LinkUp(port->packet.has_value(), event.flags));
        if (event.mac) port->mac = event.mac;
        return;
      }
      // RTM_DELLINK: deleted, or moved into another namespace. Only a TAP's descriptor can tell;
      // a packet socket cannot follow its interface elsewhere, so such a port goes either way.
      if (port->tap && port->tap->IsAttached()) {
        port->ifindex.reset();
        Logf(LogLevel::kInfo, "port '%s': TAP moved to another network namespace; still switching",
             port->name.c_str());
      } else {
        ScheduleRemoval(*port);
      }
      return;
    }
    // A TAP that comes back into our namespace gets its ifindex back. The name alone could be
    // another interface's; the descriptor says where the TAP really is.
    if (port->tap && !port->ifindex && event.kind == LinkEvent::Kind::kNew &&
        port->tap->CurrentName() == event.name && port->tap->InOurNamespace()) {
      port->ifindex = event.ifindex;
      SetPortUp(*port, (event.flags & IFF_UP) != 0);
      if (event.mac) port->mac = event.mac;
      Logf(LogLevel::kInfo, "port '%s': TAP is back in switchd's namespace as '%s'",
           port->name.c_str(), event.name.c_str());
      return;
    }
  }
}

// --- Table events ----------------------------------------------------------------------------

void Daemon::OnMacLearned(const MacEntry& entry) {
  if (Monitoring()) {
    RecordEvent(MakeMacEvent(EventKind::kMacLearned, std::chrono::system_clock::now(), entry,
                             EventPortName(entry.port)));
  }
  uint64_t suppressed = 0;
  if (LogEnabled(LogLevel::kDebug) && debug_log_limit_.Allow(entry.last_seen, &suppressed)) {
    Logf(LogLevel::kDebug, "MAC %s learned on port '%s'", DescribeMac(entry).c_str(),
         PortName(entry.port).c_str());
  }
}

void Daemon::OnMacMoved(const MacEntry& entry, PortId from) {
  if (Monitoring()) {
    RecordEvent(MakeMacEvent(EventKind::kMacMoved, std::chrono::system_clock::now(), entry,
                             EventPortName(entry.port), EventPortName(from)));
  }
  uint64_t suppressed = 0;
  if (move_log_limit_.Allow(entry.last_seen, &suppressed)) {
    Logf(LogLevel::kInfo, "MAC %s moved from port '%s' to port '%s'%s", DescribeMac(entry).c_str(),
         PortName(from).c_str(), PortName(entry.port).c_str(),
         suppressed ? (" (" + std::to_string(suppressed) + " more moves not logged)").c_str() : "");
  }
}

void Daemon::OnMacMoveDamped(const MacEntry& entry, PortId attempted) {
  uint64_t suppressed = 0;
  if (move_log_limit_.Allow(entry.last_seen, &suppressed)) {
    Logf(LogLevel::kInfo, "MAC %s seen on port '%s' while active on port '%s': not moved%s",
         DescribeMac(entry).c_str(), PortName(attempted).c_str(), PortName(entry.port).c_str(),
         suppressed ? (" (" + std::to_string(suppressed) + " more moves not logged)").c_str() : "");
  }
}

void Daemon::OnMacExpired(const MacEntry& entry) {
  if (Monitoring()) {
    RecordEvent(MakeMacEvent(EventKind::kMacAged, std::chrono::system_clock::now(), entry,
                             EventPortName(entry.port)));
  }
  uint64_t suppressed = 0;
  if (LogEnabled(LogLevel::kDebug) && debug_log_limit_.Allow(entry.last_seen, &suppressed)) {
    Logf(LogLevel::kDebug, "MAC %s on port '%s' aged out", DescribeMac(entry).c_str(),
         PortName(entry.port).c_str());
  }
}

void Daemon::OnMacEvicted(const MacEntry& entry) {
  if (Monitoring()) {
    RecordEvent(MakeMacEvent(EventKind::kMacEvicted, std::chrono::system_clock::now(), entry,
                             EventPortName(entry.port)));
  }
  uint64_t suppressed = 0;
  if (LogEnabled(LogLevel::kDebug) && debug_log_limit_.Allow(entry.last_seen, &suppressed)) {
    Logf(LogLevel::kDebug, "MAC %s on port '%s' evicted: table full", DescribeMac(entry).c_str(),
         PortName(entry.port).c_str());
  }
}

void Daemon::OnArpLearned(const ArpBinding& binding) {
  if (Monitoring()) {
    RecordEvent(MakeArpEvent(EventKind::kArpLearned, std::chrono::system_clock::now(), binding,
                             EventPortName(binding.port)));
  }
  uint64_t suppressed = 0;
  if (LogEnabled(LogLevel::kDebug) && debug_log_limit_.Allow(binding.last_seen, &suppressed)) {
    Logf(LogLevel::kDebug, "ARP %s is at %s (vlan %u, port '%s')", binding.ip.ToString().c_str(),
         binding.mac.ToString().c_str(), binding.vlan, PortName(binding.port).c_str());
  }
}

void Daemon::OnArpChanged(const ArpBinding& binding, MacAddress old_mac) {
  if (Monitoring()) {
    RecordEvent(MakeArpEvent(EventKind::kArpChanged, std::chrono::system_clock::now(), binding,
                             EventPortName(binding.port), old_mac));
  }
  uint64_t suppressed = 0;
  if (move_log_limit_.Allow(binding.last_seen, &suppressed)) {
    Logf(LogLevel::kInfo, "ARP %s moved from %s to %s (vlan %u, port '%s')",
         binding.ip.ToString().c_str(), old_mac.ToString().c_str(), binding.mac.ToString().c_str(),
         binding.vlan, PortName(binding.port).c_str());
  }
}

void Daemon::OnArpExpired(const ArpBinding& binding) {
  if (Monitoring()) {
    RecordEvent(MakeArpEvent(EventKind::kArpAged, std::chrono::system_clock::now(), binding,
                             EventPortName(binding.port)));
  }
}

// --- Events for monitor subscribers -----------------------------------------------------------

std::string_view Daemon::EventPortName(PortId id) const {
  return datapath_.HasPort(id) ? std::string_view(datapath_.port_name(id)) : std::string_view();
}

void Daemon::RecordEvent(const Event& event) {
  event_ring_.Push(event);  // a full ring counts the event as lost
  if (!evtimer_pending(flush_events_.get(), nullptr)) {
    // Zero delay: published on the loop's next iteration, after the ports it is serving now.
    timeval now{0, 0};
    evtimer_add(flush_events_.get(), &now);
  }
}

void Daemon::RecordPortEvent(EventKind kind, const Port& port) {
  if (Monitoring()) {
    RecordEvent(MakePortEvent(kind, std::chrono::system_clock::now(), port.name, port.kind));
  }
}

void Daemon::SetPortUp(Port& port, bool up) {
  if (port.up == up) return;
  port.up = up;
  RecordPortEvent(up ? EventKind::kPortUp : EventKind::kPortDown, port);
}

Status Daemon::Subscribe(ControlServer::ClientId client, EventKinds kinds) {
  FlushEvents(event_ring_.capacity());
  control_->Subscribe(client, kinds.bits());
  return Status::Ok();
}

void Daemon::OnFlushEvents(int, short, void* arg) {
  static_cast<Daemon*>(arg)->FlushEvents(kEventFlushBatch);
}

void Daemon::FlushEvents(size_t max) {
  Event event;
  for (size_t n = 0; n < max && event_ring_.Pop(event); ++n) {
    control_->Publish(EventKinds::Of(event.kind).bits(), [&]() -> std::string_view {
      event_line_.clear();
      AppendEventNotification(event, event_line_);
      return event_line_;
    });
  }
  if (!event_ring_.empty()) {
    timeval now{0, 0};
    evtimer_add(flush_events_.get(), &now);
    return;
  }
  // The ring is empty: the events it dropped when full came after everything published so far.
  if (event_ring_.has_lost()) {
    const LostCounts lost = event_ring_.TakeLost();
    for (size_t kind = 0; kind < kEventKindCount; ++kind) {
      if (lost[kind] != 0) {
        control_->CountLost(EventKinds::Of(static_cast<EventKind>(kind)).bits(), lost[kind]);
      }
    }
  }
}

// --- Captures ---------------------------------------------------------------------------------

namespace {

// Opens `path` for writing with the file permissions of `peer` (the user at the other end of the
// control connection), not root's: a member of the socket's group cannot make switchd write where
// they could not. Supplementary groups are not taken into account.
Result<UniqueFd> OpenAsPeer(const std::string& path, const ucred& peer) {
  const bool as_root = peer.uid == 0;
  const int old_uid = as_root ? 0 : setfsuid(peer.uid);
  const int old_gid = as_root ? 0 : setfsgid(peer.gid);
  const bool switched =
      as_root || (static_cast<uid_t>(setfsuid(static_cast<uid_t>(-1))) == peer.uid &&
                  static_cast<gid_t>(setfsgid(static_cast<gid_t>(-1))) == peer.gid);
  UniqueFd fd(switched ? ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1);
  const int open_errno = errno;
  if (!as_root) {
    setfsuid(static_cast<uid_t>(old_uid));
    setfsgid(static_cast<gid_t>(old_gid));
  }
  if (!switched) {
    return Status::System("cannot write '" + path + "' as uid " + std::to_string(peer.uid) +
                          ": switchd cannot take that user's file permissions");
  }
  if (!fd) return Status::System("cannot write '" + path + "': " + strerror(open_errno));
  return fd;
}

}  // namespace

Result<nlohmann::json> Daemon::StartCapture(ControlServer::ClientId client, PortId port,
                                            const std::string& file, uint64_t count,
                                            uint64_t seconds) {
  if (!FindPort(port)) return Status::NotFound("unknown port");
  std::optional<ucred> peer = control_->PeerCredentials(client);
  if (!peer) return Status::System("cannot tell who is asking for the capture");
  Result<UniqueFd> fd = OpenAsPeer(file, *peer);
  if (!fd.ok()) return fd.status();
  Result<PcapWriter> writer = PcapWriter::Create(std::move(*fd));
  if (!writer.ok())
    return Status::System("cannot write '" + file + "': " + writer.status().message());
  auto capture =
      std::make_unique<Capture>(Capture{this, next_capture_id_++, client, port, PortName(port),
                                        file, std::move(*writer), count, nullptr, ""});
  if (seconds != 0) {
    capture->timer.reset(evtimer_new(base_.get(), OnCaptureTimer, capture.get()));
    timeval limit{static_cast<time_t>(seconds), 0};
    evtimer_add(capture->timer.get(), &limit);
  }
  datapath_.SetCaptured(port, true);
  control_->KeepWaiting(client);  // the client says nothing until the capture ends
  Logf(LogLevel::kInfo, "capture %llu: port '%s' to %s started",
       static_cast<unsigned long long>(capture->id), capture->port_name.c_str(), file.c_str());
  nlohmann::json result = {{"port", capture->port_name}, {"file", file}};
  if (count != 0) result["count"] = count;
  if (seconds != 0) result["seconds"] = seconds;
  captures_.push_back(std::move(capture));
  return result;
}

void Daemon::OnFrame(PortId port, Direction, std::span<const std::byte> frame, const VnetHeader&) {
  timespec now{};
  bool have_time = false;
  for (auto& capture : captures_) {
    if (capture->port != port || !capture->end.empty()) continue;
    if (!have_time) {
      clock_gettime(CLOCK_REALTIME, &now);
      have_time = true;
    }
    if (!capture->writer.Write(now, frame)) {
      EndCapture(*capture, "a write failed");
    } else if (capture->limit != 0 && capture->writer.records() >= capture->limit) {
      EndCapture(*capture, "count");
    }
  }
}

void Daemon::EndCapture(Capture& capture, const char* reason) {
  if (!capture.end.empty()) return;
  capture.end = reason;
  event_active(finish_captures_.get(), EV_TIMEOUT, 0);
}

void Daemon::OnCaptureTimer(int, short, void* arg) {
  auto* capture = static_cast<Capture*>(arg);
  capture->daemon->EndCapture(*capture, "time");
}

void Daemon::OnFinishCaptures(int, short, void* arg) {
  static_cast<Daemon*>(arg)->FinishCaptures();
}

void Daemon::FinishCaptures() {
  std::vector<std::unique_ptr<Capture>> ended;
  for (auto& capture : captures_) {
    if (!capture->end.empty()) ended.push_back(std::move(capture));
  }
  std::erase(captures_, nullptr);
  for (auto& capture : ended) {
    const Status flushed = capture->writer.Flush();
    const bool still_captured = std::any_of(captures_.begin(), captures_.end(), [&](const auto& c) {
      return c->port == capture->port;
    });
    if (!still_captured) datapath_.SetCaptured(capture->port, false);
    const std::string error = flushed.ok() ? "" : flushed.message();
    Logf(flushed.ok() ? LogLevel::kInfo : LogLevel::kWarn,
         "capture %llu: port '%s' to %s ended (%s): %llu frames%s%s",
         static_cast<unsigned long long>(capture->id), capture->port_name.c_str(),
         capture->file.c_str(), capture->end.c_str(),
         static_cast<unsigned long long>(capture->writer.records()), error.empty() ? "" : "; ",
         error.c_str());
    nlohmann::json params = {{"event", "capture-done"},
                             {"port", capture->port_name},
                             {"file", capture->file},
                             {"frames", capture->writer.records()},
                             {"bytes", capture->writer.bytes()},
                             {"reason", capture->end}};
    if (!error.empty()) params["error"] = error;
    const nlohmann::json notification = {
        {"jsonrpc", "2.0"}, {"method", "event"}, {"params", std::move(params)}};
    control_->SendTo(capture->client,
                     notification.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
}

}  // namespace switchd
