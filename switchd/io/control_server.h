// ControlServer: the control socket. A unix stream listener on the daemon's event loop; each client
// is a bufferevent that speaks one JSON message per line.
//
// Lines are handed to a handler (the JSON-RPC envelope) and its response is written back. Limits
// keep clients from hurting the switch: a line over protocol::kMaxMessageSize gets an error and
// the connection is closed once the error is written; a client that leaves more than
// kMaxPendingOutput of replies unread is not read from until it catches up; clients idle for
// kIdleTimeout are dropped; per loop iteration, at most kMaxLinesPerWakeup lines of a client are
// handled, and all clients' lines together for about kMaxBusyTime, clients with lines left taking
// turns (also after a client shut its sending side); beyond kMaxClients new connections are
// refused. Nothing here blocks: the loop keeps
// forwarding whatever clients do.
//
// Start-up: a stale socket file with no listener behind it is replaced; a live one makes Listen
// fail ("another switchd is running on PATH"). The socket file has mode 0660: only its owner
// (root) and, with a socket group, that group's members can connect. It is unlinked on
// destruction.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "switchd/core/status.h"
#include "switchd/io/event_loop.h"
#include "switchd/io/log.h"

namespace switchd {

class ControlServer {
 public:
  // Returns the response line (without newline) for one request line, or nullopt for none.
  using Handler = std::function<std::optional<std::string>(std::string_view line)>;

  static constexpr size_t kMaxClients = 256;
  static constexpr size_t kMaxPendingOutput = 4 << 20;
  static constexpr std::chrono::seconds kIdleTimeout{300};
  static constexpr int kMaxLinesPerWakeup = 32;
  // Requests of all clients together are handled for about this long per loop iteration (one
  // request at least); the rest waits its turn on the next iteration.
  static constexpr std::chrono::milliseconds kMaxBusyTime{2};

  ControlServer(event_base* base, Handler handler);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Creates the socket's directory if missing (mode 0755), replaces a stale socket file, binds
  // `path` with mode 0660, gives it to `group` (a name, or a number) if one is given, and starts
  // accepting. Fails if another process answers on `path`, or if `group` does not exist ("unknown
  // group 'x' for the control socket ...").
  Status Listen(const std::string& path, const std::optional<std::string>& group = std::nullopt);

  size_t client_count() const { return clients_.size(); }

 private:
  struct Client;

  static void OnAccept(evconnlistener* listener, int fd, sockaddr* addr, int len, void* arg);
  static void OnAcceptError(evconnlistener* listener, void* arg);
  static void OnRead(bufferevent* bev, void* arg);
  static void OnWrite(bufferevent* bev, void* arg);
  static void OnEvent(bufferevent* bev, short events, void* arg);
  static void OnResumeAccept(int fd, short events, void* arg);
  static void OnServeWaiting(int fd, short events, void* arg);

  // Answers the client's lines now if this iteration's budget allows, else queues it. May free it.
  void Serve(Client& client);
  // Answers complete lines: at most kMaxLinesPerWakeup, and one at least, while the iteration's
  // budget lasts; queues the client if lines are left. Pauses a client that does not read its
  // replies. Once the client's input has ended, answers a last line without a newline too and
  // marks the client for closing. Never frees the client: callers end with CloseIfDone.
  void HandleInput(Client& client);
  // Puts the client at the back of the queue served on the next iteration.
  void Wait(Client& client);
  void ArmServeWaiting();
  // True if this loop iteration's time for control requests is used up.
  bool BudgetSpent();
  void HandleFinalLine(Client& client);
  // Frees a client marked for closing once its output is written.
  void CloseIfDone(Client& client);
  void Send(Client& client, std::string_view line);
  void CloseAfterWrite(Client& client);
  void Close(Client& client);

  event_base* base_;
  Handler handler_;
  std::string path_;
  ListenerPtr listener_;
  EventPtr resume_accept_;
  EventPtr serve_waiting_;        // zero-delay timer: serves waiting_ on the next iteration
  std::deque<uint64_t> waiting_;  // clients with lines left, in turn order
  timeval iteration_{};           // the loop iteration spent_ counts for (libevent's cached time)
  Duration spent_{};              // time spent on requests in that iteration
  RateLimiter refusal_log_limit_{1};
  uint64_t next_client_id_ = 1;
  std::map<uint64_t, std::unique_ptr<Client>> clients_;
};

}  // namespace switchd
