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
// Subscriptions (monitor): a handler may make the client its line came from a subscriber to some
// topics (bits). Publish then sends a line (a JSON-RPC notification) to every subscriber of the
// topic, after the responses written so far. A subscriber that leaves more than
// kMaxNotificationBacklog unread gets no more lines until it catches up: they are counted as
// lost, and the lost-notice line (set_lost_notice) tells it how many before the next line it
// gets, or as soon as it has read everything. Subscribers have no idle timeout (they may stay
// silent for ever), but one that reads nothing for kIdleTimeout while lines wait is dropped. One
// that shuts its sending side gets no more lines and is closed once its output is written.
//
// Start-up: a stale socket file with no listener behind it is replaced; a live one makes Listen
// fail ("another switchd is running on PATH"). The socket file has mode 0660: only its owner
// (root) and, with a socket group, that group's members can connect. It is unlinked on
// destruction.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchd/core/function_ref.h"
#include "switchd/core/status.h"
#include "switchd/io/event_loop.h"
#include "switchd/io/log.h"

namespace switchd {

class ControlServer {
 public:
  // A client connection's number: unique for the server's lifetime, never reused.
  using ClientId = uint64_t;
  // Returns the response line (without newline) for one request line of `client`, or nullopt for
  // none.
  using Handler = std::function<std::optional<std::string>(std::string_view line, ClientId client)>;
  // A set of topics a client subscribes to, one bit each.
  using Topics = uint32_t;

  static constexpr size_t kMaxClients = 256;
  static constexpr size_t kMaxPendingOutput = 4 << 20;
  static constexpr std::chrono::seconds kIdleTimeout{300};
  static constexpr int kMaxLinesPerWakeup = 32;
  // Requests of all clients together are handled for about this long per loop iteration (one
  // request at least); the rest waits its turn on the next iteration.
  static constexpr std::chrono::milliseconds kMaxBusyTime{2};
  // Unread output beyond which a subscriber gets no more published lines until it catches up.
  static constexpr size_t kMaxNotificationBacklog = 1 << 20;

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

  // Makes `client` a subscriber to `topics` (replacing its earlier ones; none unsubscribes it).
  // No effect for a client that is gone or closing.
  void Subscribe(ClientId client, Topics topics);
  // True when some client subscribes to something: the one check publishers make first.
  bool has_subscribers() const { return !subscribers_.empty(); }
  size_t subscriber_count() const { return subscribers_.size(); }
  // Sends the line `make_line()` returns (without newline) to every subscriber of any of `topics`
  // that has room for it; the others count it as lost. `make_line` is called at most once, and
  // not at all when no subscriber takes the line.
  void Publish(Topics topics, FunctionRef<std::string_view()> make_line);
  // Counts `count` lines of `topics` as lost for every subscriber of any of them (lines that
  // could not even be published); those with room are told at once.
  void CountLost(Topics topics, uint64_t count);
  // Sends `line` (without newline) to `client` alone, if it is there and has room for it (the
  // same bound as for published lines). False otherwise.
  bool SendTo(ClientId client, std::string_view line);
  // The user and group of the process at the other end of `client`'s connection (SO_PEERCRED),
  // or nullopt for a client that is gone.
  std::optional<ucred> PeerCredentials(ClientId client) const;
  // Lets `client` stay silent for as long as it likes (a capture's client waits for its end):
  // no read idle timeout, as for subscribers.
  void KeepWaiting(ClientId client);
  // Called with each client's id when its connection goes away, whatever the reason.
  void set_on_close(std::function<void(ClientId)> on_close) { on_close_ = std::move(on_close); }

  // The line (without newline) that tells a subscriber it lost `count` lines. Without one, losses
  // are only counted.
  void set_lost_notice(std::function<std::string(uint64_t count)> make_line) {
    lost_notice_ = std::move(make_line);
  }

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
  // Sends a subscriber the count of the lines it lost, if any.
  void SendLostNotice(Client& client);
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
  std::function<void(ClientId)> on_close_;
  std::vector<Client*> subscribers_;  // the clients in clients_ with topics
  std::function<std::string(uint64_t count)> lost_notice_;
};

}  // namespace switchd
