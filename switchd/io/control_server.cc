#include "switchd/io/control_server.h"

#include <event2/buffer.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

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
  bool closing = false;  // an error was sent; close once it is written
  bool paused = false;   // not reading: too many replies are waiting to be read
  size_t scanned = 0;    // leading input bytes already known to hold no newline
};

namespace {

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
  clients_.clear();
  if (listener_) {
    listener_.reset();
    ::unlink(path_.c_str());
  }
}

Status ControlServer::Listen(const std::string& path) {
  sockaddr_un addr;
  if (!FillAddress(path, &addr)) {
    return Status::InvalidArgument("socket path '" + path + "' is too long (at most " +
                                   std::to_string(sizeof(addr.sun_path) - 1) + " bytes)");
  }
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
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
  listener_.reset(evconnlistener_new_bind(base_, OnAccept, this,
                                          LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 64,
                                          reinterpret_cast<sockaddr*>(&addr), sizeof(addr)));
  int bind_errno = errno;
  umask(old_umask);
  if (!listener_) {
    return Status::System("cannot listen on " + path + ": " + strerror(bind_errno));
  }
  path_ = path;
  evconnlistener_set_error_cb(listener_.get(), OnAcceptError);
  resume_accept_.reset(evtimer_new(base_, OnResumeAccept, this));
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
  client->server->HandleInput(*client);
}

void ControlServer::OnWrite(bufferevent* bev, void* arg) {
  // Called once the output is empty (the default low watermark).
  auto* client = static_cast<Client*>(arg);
  if (client->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
    client->server->Close(*client);
    return;
  }
  if (client->paused) {
    client->paused = false;
    bufferevent_enable(bev, EV_READ);
    client->server->HandleInput(*client);  // lines that arrived while paused
  }
}

void ControlServer::OnEvent(bufferevent* bev, short events, void* arg) {
  auto* client = static_cast<Client*>(arg);
  ControlServer* self = client->server;
  if ((events & BEV_EVENT_EOF) && !(events & BEV_EVENT_ERROR) && !client->closing) {
    // The client closed its sending side: answer a last line that had no newline, then close once
    // every response is written.
    self->HandleFinalLine(*client);
    if (!client->closing) self->CloseAfterWrite(*client);
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) self->Close(*client);
    return;
  }
  if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
    if (events & BEV_EVENT_TIMEOUT) {
      Logf(LogLevel::kDebug, "control socket: client %llu timed out",
           static_cast<unsigned long long>(client->id));
    }
    client->server->Close(*client);
  }
}

void ControlServer::HandleInput(Client& client, bool at_eof) {
  bufferevent* bev = client.bev.get();
  evbuffer* input = bufferevent_get_input(bev);
  evbuffer* output = bufferevent_get_output(bev);
  for (int handled = 0; !client.closing; ++handled) {
    if (!at_eof && evbuffer_get_length(output) > kMaxPendingOutput) {
      // The client does not read its replies: stop reading its requests until it catches up
      // (OnWrite resumes). Its idle timeout drops it if it never does.
      client.paused = true;
      bufferevent_disable(bev, EV_READ);
      return;
    }
    if (!at_eof && handled == kMaxLinesPerWakeup) {
      // Leave the loop to the datapath and other clients; continue on the next iteration.
      bufferevent_trigger(bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
      return;
    }
    // Search only the bytes not searched before: a client trickling a long line costs O(n).
    evbuffer_ptr start;
    evbuffer_ptr_set(input, &start, client.scanned, EVBUFFER_PTR_SET);
    evbuffer_ptr eol = evbuffer_search_eol(input, &start, nullptr, EVBUFFER_EOL_LF);
    if (eol.pos < 0) {
      client.scanned = evbuffer_get_length(input);
      if (client.scanned > protocol::kMaxMessageSize) {
        Send(client, OversizeErrorResponse());
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
    if (std::optional<std::string> response = handler_(text)) Send(client, *response);
  }
}

void ControlServer::HandleFinalLine(Client& client) {
  HandleInput(client, /*at_eof=*/true);
  evbuffer* input = bufferevent_get_input(client.bev.get());
  size_t length = evbuffer_get_length(input);
  if (client.closing || length == 0 || length > protocol::kMaxMessageSize) return;
  std::string text(length, '\0');
  evbuffer_remove(input, text.data(), length);
  if (text.find_first_not_of(" \t\r") == std::string::npos) return;
  if (std::optional<std::string> response = handler_(text)) Send(client, *response);
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

void ControlServer::Close(Client& client) { clients_.erase(client.id); }

}  // namespace switchd
