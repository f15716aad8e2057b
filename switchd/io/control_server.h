// ControlServer: the control socket. A unix stream listener on the daemon's event loop; each client
// is a bufferevent that speaks one JSON message per line.
//
// Lines are handed to a handler (the JSON-RPC envelope) and its response is written back. Limits
// keep clients from hurting the switch: a line over protocol::kMaxMessageSize gets an error and
// the connection is closed once the error is written; a client that leaves more than
// kMaxPendingOutput of replies unread is not read from until it catches up; clients idle for
// kIdleTimeout are dropped; at most kMaxLinesPerWakeup lines are handled per client per loop
// iteration; beyond kMaxClients new connections are refused. Nothing here blocks: the loop keeps
// forwarding whatever clients do.
//
// Start-up: a stale socket file with no listener behind it is replaced; a live one makes Listen
// fail ("another switchd is running on PATH"). The socket file is unlinked on destruction.
#pragma once

#include <chrono>
#include <cstddef>
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

  ControlServer(event_base* base, Handler handler);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Creates the socket's directory if missing, replaces a stale socket file, binds `path` with
  // mode 0660 and starts accepting. Fails if another process answers on `path`.
  Status Listen(const std::string& path);

  size_t client_count() const { return clients_.size(); }

 private:
  struct Client;

  static void OnAccept(evconnlistener* listener, int fd, sockaddr* addr, int len, void* arg);
  static void OnAcceptError(evconnlistener* listener, void* arg);
  static void OnRead(bufferevent* bev, void* arg);
  static void OnWrite(bufferevent* bev, void* arg);
  static void OnEvent(bufferevent* bev, short events, void* arg);
  static void OnResumeAccept(int fd, short events, void* arg);

  // Answers complete lines. At end of input every line is answered at once; otherwise a wake-up
  // handles a bounded number and pauses a client that does not read its replies.
  void HandleInput(Client& client, bool at_eof = false);
  void HandleFinalLine(Client& client);
  void Send(Client& client, std::string_view line);
  void CloseAfterWrite(Client& client);
  void Close(Client& client);

  event_base* base_;
  Handler handler_;
  std::string path_;
  ListenerPtr listener_;
  EventPtr resume_accept_;
  RateLimiter refusal_log_limit_{1};
  uint64_t next_client_id_ = 1;
  std::map<uint64_t, std::unique_ptr<Client>> clients_;
};

}  // namespace switchd
