#include "switchd/io/control_server.h"

#include <event2/buffer.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "switchd/control/json_rpc.h"
#include "switchd/control/protocol.h"
#include "switchd/io/log.h"
#include "switchd/io/unique_fd.h"

namespace switchd {

struct ControlServer::Client {
  ControlServer* server = nullptr;
  uint64_t id = 0;
  BuffereventPtr bev;
  bool closing = false;      // an error was sent; close once it is written
  bool paused = false;       // not reading: too many replies are waiting to be read
  bool input_ended = false;  // the client shut its sending side; close once all is answered
  bool waiting = false;      // has lines left and is in waiting_ for its turn
  size_t scanned = 0;        // leading input bytes already known to hold no newline
  Topics topics = 0;         // what it subscribes to (it is in subscribers_ when not 0)
  uint64_t lost = 0;         // published lines it had no room for, not yet told
};

namespace {

// The group's id, by name or, failing that, by number.
Result<gid_t> LookUpGroup(const std::string& group) {
  errno = 0;
  if (const ::group* entry = getgrnam(group.c_str())) return entry->gr_gid;
  int lookup_errno = errno;
  if (!group.empty() && group.size() <= 9 &&
      std::all_of(group.begin(), group.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return static_cast<gid_t>(std::stoul(group));
  }
  std::string message = "unknown group '" + group + "' for the control socket";
  // getgrnam leaves errno 0 (or ENOENT, ESRCH ...) when the group is simply not there.
  if (lookup_errno != 0 && lookup_errno != ENOENT && lookup_errno != ESRCH &&
      lookup_errno != EBADF && lookup_errno != EPERM) {
    message += ": " + std::string(strerror(lookup_errno));
  }
  return Status::InvalidArgument(
      message + " (expected a group name or number, e.g. --socket-group netadmin)");
}

bool FillAddress(const std::string& path, sockaddr_un* addr) {
  if (path.size() >= sizeof(addr->sun_path)) return false;
  *addr = {};
  addr->sun_family = AF_UNIX;
  std::memcpy(addr->sun_path, path.data(), path.size());
  return true;
}

// True if the socket file at `addr` is stale: nobody accepts connections on it. A process that is
// alive but slow (a full backlog: EAGAIN) counts as alive; the check never blocks.
bool IsStale(const sockaddr_un& addr) {
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return false;
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) return false;
  return errno == ECONNREFUSED || errno == ENOENT;
}

}  // namespace

ControlServer::ControlServer(event_base* base, Handler handler)
    : base_(base), handler_(std::move(handler)) {}

ControlServer::~ControlServer() {
  subscribers_.clear();
  clients_.clear();
  if (listener_) {
    listener_.reset();
    ::unlink(path_.c_str());
  }
}

Status ControlServer::Listen(const std::string& path, const std::optional<std::string>& group) {
  sockaddr_un addr;
  if (!FillAddress(path, &addr)) {
    return Status::InvalidArgument("socket path '" + path + "' is too long (at most " +
                                   std::to_string(sizeof(addr.sun_path) - 1) + " bytes)");
  }
  // The group is checked before anything is created.
  std::optional<gid_t> gid;
  if (group) {
    Result<gid_t> found = LookUpGroup(*group);
    if (!found.ok()) return found.status();
    gid = *found;
  }
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) {
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec)) {
      std::filesystem::create_directories(dir, ec);
      // Whatever the umask: the socket's own mode decides who may connect, so the group must be
      // able to reach it.
      if (!ec) {
        std::filesystem::permissions(dir, std::filesystem::perms(0755),
                                     std::filesystem::perm_options::replace, ec);
      }
    }
    if (ec) {
      return Status::System("cannot create directory '" + dir.string() + "': " + ec.message());
    }
  }
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Status::AlreadyExists("'" + path +
                                   "' exists and is not a socket; remove it or use --socket");
    }
    if (!IsStale(addr)) {
      return Status::AlreadyExists("another switchd is running on " + path +
                                   " (stop it, or use --socket for a second switch)");
    }
    Logf(LogLevel::kInfo, "replacing stale socket %s", path.c_str());
    ::unlink(path.c_str());
  }
  // Bind with mode 0660: the umask applies to the socket file bind creates.
  mode_t old_umask = umask(0117);
  // The backlog holds a burst of kMaxClients connections: beyond it, a client connecting with a
  // non-blocking socket would get EAGAIN before switchd had a chance to accept it.
  listener_.reset(evconnlistener_new_bind(
      base_, OnAccept, this, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
      static_cast<int>(kMaxClients), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)));
  int bind_errno = errno;
  umask(old_umask);
  if (!listener_) {
    return Status::System("cannot listen on " + path + ": " + strerror(bind_errno));
  }
  path_ = path;
  if (gid && ::chown(path.c_str(), static_cast<uid_t>(-1), *gid) < 0) {
    int chown_errno = errno;
    listener_.reset();
    ::unlink(path.c_str());
    return Status::System("cannot give " + path + " to group '" + *group +
                          "': " + strerror(chown_errno));
  }
  evconnlistener_set_error_cb(listener_.get(), OnAcceptError);
  resume_accept_.reset(evtimer_new(base_, OnResumeAccept, this));
  serve_waiting_.reset(evtimer_new(base_, OnServeWaiting, this));
  return Status::Ok();
}

void ControlServer::OnAccept(evconnlistener*, int fd, sockaddr*, int, void* arg) {
  auto* self = static_cast<ControlServer*>(arg);
  if (self->clients_.size() >= kMaxClients) {
    uint64_t suppressed = 0;
    if (self->refusal_log_limit_.Allow(Clock::now(), &suppressed)) {
      Logf(LogLevel::kWarn, "control socket: refusing a client (already %zu clients)",
           self->clients_.size());
    }
    ::close(fd);
    return;
  }
  auto client = std::make_unique<Client>();
  client->server = self;
  client->id = self->next_client_id_++;
  client->bev.reset(bufferevent_socket_new(self->base_, fd, BEV_OPT_CLOSE_ON_FREE));
  if (!client->bev) {
    ::close(fd);
    return;
  }
  bufferevent* bev = client->bev.get();
  // Stop reading once a whole maximum-size line (and its newline) could be buffered: anything
  // longer is an error, so memory per client stays bounded.
  bufferevent_setwatermark(bev, EV_READ, 0, protocol::kMaxMessageSize + 1);
  timeval idle{kIdleTimeout.count(), 0};
  bufferevent_set_timeouts(bev, &idle, &idle);
  bufferevent_setcb(bev, OnRead, OnWrite, OnEvent, client.get());
  bufferevent_enable(bev, EV_READ | EV_WRITE);
  self->clients_.emplace(client->id, std::move(client));
}

void ControlServer::OnAcceptError(evconnlistener* listener, void* arg) {
  auto* self = static_cast<ControlServer*>(arg);
  int err = EVUTIL_SOCKET_ERROR();
  // Out of descriptors: back off for a second instead of spinning on a readable listener.
  Logf(LogLevel::kWarn, "control socket: accept failed: %s; pausing for 1 s", strerror(err));
  evconnlistener_disable(listener);
  timeval one_second{1, 0};
  evtimer_add(self->resume_accept_.get(), &one_second);
}

void ControlServer::OnResumeAccept(int, short, void* arg) {
  auto* self = static_cast<ControlServer*>(arg);
  if (self->listener_) evconnlistener_enable(self->listener_.get());
}

void ControlServer::OnRead(bufferevent*, void* arg) {
  auto* client = static_cast<Client*>(arg);
  client->server->Serve(*client);
}

void ControlServer::OnWrite(bufferevent* bev, void* arg) {
  // Called once the output is empty (the default low watermark).
  auto* client = static_cast<Client*>(arg);
  ControlServer* self = client->server;
  if (client->paused) {
    client->paused = false;
    if (!client->input_ended) bufferevent_enable(bev, EV_READ);
    self->Serve(*client);  // lines that arrived (or were left) while paused; may free it
    return;
  }
  // Everything is written: a subscriber that lost lines has caught up and is told now.
  self->SendLostNotice(*client);
  self->CloseIfDone(*client);
}

void ControlServer::OnEvent(bufferevent*, short events, void* arg) {
  auto* client = static_cast<Client*>(arg);
  ControlServer* self = client->server;
  if ((events & BEV_EVENT_EOF) && !(events & BEV_EVENT_ERROR) && !client->closing) {
    // The client closed its sending side: answer what it sent, a last line without a newline
    // too, under the same limits as ever, then close once every response is written.
    client->input_ended = true;
    self->Serve(*client);
    return;
  }
  if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
    if (events & BEV_EVENT_TIMEOUT) {
      Logf(LogLevel::kDebug, "control socket: client %llu timed out",
           static_cast<unsigned long long>(client->id));
    }
    self->Close(*client);
  }
}

void ControlServer::Serve(Client& client) {
  // A client waiting for its turn keeps its place; one that arrives when this iteration's budget
  // is spent queues behind the others.
  if (client.waiting) return;
  if (BudgetSpent()) {
    Wait(client);
    return;
  }
  HandleInput(client);
  CloseIfDone(client);
}

void ControlServer::OnServeWaiting(int, short, void* arg) {
  auto* self = static_cast<ControlServer*>(arg);
  // In turn, until the iteration's budget is spent (serving one at least, so that every client
  // progresses); a client with lines left after its turn goes to the back.
  for (size_t turns = self->waiting_.size(), served = 0; turns > 0; --turns) {
    if (served > 0 && self->BudgetSpent()) break;
    const uint64_t id = self->waiting_.front();
    self->waiting_.pop_front();
    auto it = self->clients_.find(id);
    if (it == self->clients_.end()) continue;  // closed meanwhile
    Client& client = *it->second;
    client.waiting = false;
    ++served;
    self->HandleInput(client);
    self->CloseIfDone(client);
  }
  if (!self->waiting_.empty()) self->ArmServeWaiting();
}

void ControlServer::Wait(Client& client) {
  client.waiting = true;
  waiting_.push_back(client.id);
  ArmServeWaiting();
}

void ControlServer::ArmServeWaiting() {
  // A zero timeout fires on the loop's next iteration, after it has polled the ports again.
  // (bufferevent_trigger's deferred callbacks would not do: libevent runs up to 32 of them in the
  // same iteration.)
  if (!evtimer_pending(serve_waiting_.get(), nullptr)) {
    timeval now{0, 0};
    evtimer_add(serve_waiting_.get(), &now);
  }
}

bool ControlServer::BudgetSpent() {
  // libevent caches the time once per loop iteration: a new value is a new iteration.
  timeval iteration{};
  event_base_gettimeofday_cached(base_, &iteration);
  if (iteration.tv_sec != iteration_.tv_sec || iteration.tv_usec != iteration_.tv_usec) {
    iteration_ = iteration;
    spent_ = Duration::zero();
  }
  return spent_ >= kMaxBusyTime;
}

void ControlServer::HandleInput(Client& client) {
  bufferevent* bev = client.bev.get();
  evbuffer* input = bufferevent_get_input(bev);
  evbuffer* output = bufferevent_get_output(bev);
  BudgetSpent();  // starts a new iteration's account if need be
  // However this returns, the time it took counts against the iteration's budget.
  struct Accounting {
    Duration& spent;
    const Duration before = spent;
    const Time start = Clock::now();
    void Update() { spent = before + (Clock::now() - start); }
    ~Accounting() { Update(); }
  } accounting{spent_};
  for (int handled = 0; !client.closing; ++handled) {
    accounting.Update();
    if (evbuffer_get_length(output) > kMaxPendingOutput) {
      // The client does not read its replies: stop reading its requests until it catches up
      // (OnWrite resumes). Its idle timeout drops it if it never does.
      client.paused = true;
      bufferevent_disable(bev, EV_READ);
      return;
    }
    // Bounded in lines and in time: a few expensive requests (show-macs of a full table) must not
    // hold up the datapath. Leave the loop to it and to other clients, and continue in turn.
    if (handled == kMaxLinesPerWakeup || (handled > 0 && spent_ >= kMaxBusyTime)) {
      Wait(client);
      return;
    }
    // Search only the bytes not searched before: a client trickling a long line costs O(n).
    evbuffer_ptr start_at;
    evbuffer_ptr_set(input, &start_at, client.scanned, EVBUFFER_PTR_SET);
    evbuffer_ptr eol = evbuffer_search_eol(input, &start_at, nullptr, EVBUFFER_EOL_LF);
    if (eol.pos < 0) {
      client.scanned = evbuffer_get_length(input);
      if (client.scanned > protocol::kMaxMessageSize) {
        Send(client, OversizeErrorResponse());
        CloseAfterWrite(client);
      } else if (client.input_ended) {
        HandleFinalLine(client);
        CloseAfterWrite(client);
      }
      return;
    }
    client.scanned = 0;
    if (static_cast<size_t>(eol.pos) > protocol::kMaxMessageSize) {
      Send(client, OversizeErrorResponse());
      CloseAfterWrite(client);
      return;
    }
    size_t length = 0;
    std::unique_ptr<char, decltype(&std::free)> line(
        evbuffer_readln(input, &length, EVBUFFER_EOL_LF), &std::free);
    if (!line) return;
    std::string_view text(line.get(), length);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (text.find_first_not_of(" \t") == std::string_view::npos) continue;  // blank line
    if (std::optional<std::string> response = handler_(text, client.id)) {
      Send(client, *response);
    }
  }
}

void ControlServer::HandleFinalLine(Client& client) {
  evbuffer* input = bufferevent_get_input(client.bev.get());
  size_t length = evbuffer_get_length(input);
  if (length == 0) return;
  std::string text(length, '\0');
  evbuffer_remove(input, text.data(), length);
  if (text.find_first_not_of(" \t\r") == std::string::npos) return;
  if (std::optional<std::string> response = handler_(text, client.id)) Send(client, *response);
}

void ControlServer::CloseIfDone(Client& client) {
  if (client.closing && evbuffer_get_length(bufferevent_get_output(client.bev.get())) == 0) {
    Close(client);
  }
}

void ControlServer::Send(Client& client, std::string_view line) {
  evbuffer* output = bufferevent_get_output(client.bev.get());
  evbuffer_add(output, line.data(), line.size());
  evbuffer_add(output, "\n", 1);
}

void ControlServer::CloseAfterWrite(Client& client) {
  client.closing = true;
  bufferevent_disable(client.bev.get(), EV_READ);
  evbuffer_drain(bufferevent_get_input(client.bev.get()),
                 evbuffer_get_length(bufferevent_get_input(client.bev.get())));
}

void ControlServer::Subscribe(ClientId id, Topics topics) {
  const auto it = clients_.find(id);
  if (it == clients_.end() || it->second->closing) return;
  Client& client = *it->second;
  const bool was_subscribed = client.topics != 0;
  client.topics = topics;
  timeval idle{kIdleTimeout.count(), 0};
  if (topics != 0 && !was_subscribed) {
    subscribers_.push_back(&client);
    // A subscriber may say nothing for as long as it likes; the write timeout still drops one
    // that stops reading while lines wait for it.
    bufferevent_set_timeouts(client.bev.get(), nullptr, &idle);
  } else if (topics == 0 && was_subscribed) {
    std::erase(subscribers_, &client);
    client.lost = 0;
    bufferevent_set_timeouts(client.bev.get(), &idle, &idle);
  }
}

void ControlServer::Publish(Topics topics, FunctionRef<std::string_view()> make_line) {
  std::optional<std::string_view> line;
  for (Client* client : subscribers_) {
    if ((client->topics & topics) == 0 || client->closing) continue;
    if (evbuffer_get_length(bufferevent_get_output(client->bev.get())) >= kMaxNotificationBacklog) {
      ++client->lost;
      continue;
    }
    SendLostNotice(*client);
    if (!line) line = make_line();
    Send(*client, *line);
  }
}

void ControlServer::CountLost(Topics topics, uint64_t count) {
  for (Client* client : subscribers_) {
    if ((client->topics & topics) == 0 || client->closing) continue;
    client->lost += count;
    // One that has room hears of it now, not only with the next line it gets.
    if (evbuffer_get_length(bufferevent_get_output(client->bev.get())) < kMaxNotificationBacklog) {
      SendLostNotice(*client);
    }
  }
}

void ControlServer::SendLostNotice(Client& client) {
  if (client.lost == 0 || client.closing || !lost_notice_) return;
  Send(client, lost_notice_(client.lost));
  client.lost = 0;
}

void ControlServer::Close(Client& client) {
  if (client.topics != 0) std::erase(subscribers_, &client);
  const ClientId id = client.id;
  clients_.erase(id);
  if (on_close_) on_close_(id);
}

void ControlServer::KeepWaiting(ClientId id) {
  const auto it = clients_.find(id);
  if (it == clients_.end() || it->second->closing) return;
  timeval idle{kIdleTimeout.count(), 0};
  bufferevent_set_timeouts(it->second->bev.get(), nullptr, &idle);
}

bool ControlServer::SendTo(ClientId id, std::string_view line) {
  const auto it = clients_.find(id);
  if (it == clients_.end() || it->second->closing) return false;
  Client& client = *it->second;
  if (evbuffer_get_length(bufferevent_get_output(client.bev.get())) >= kMaxNotificationBacklog) {
    return false;
  }
  Send(client, line);
  return true;
}

std::optional<ucred> ControlServer::PeerCredentials(ClientId id) const {
  const auto it = clients_.find(id);
  if (it == clients_.end()) return std::nullopt;
  ucred credentials{};
  socklen_t size = sizeof credentials;
  if (getsockopt(bufferevent_getfd(it->second->bev.get()), SOL_SOCKET, SO_PEERCRED, &credentials,
                 &size) < 0) {
    return std::nullopt;
  }
  return credentials;
}

}  // namespace switchd
