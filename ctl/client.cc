#include "ctl/client.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

#include "ctl/render.h"
#include "switchd/control/protocol.h"

namespace switchd::ctl {

namespace {

using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

// The request id switchctl uses: one request per connection, so any constant will do.
constexpr int kRequestId = 1;

// Owns one file descriptor.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

enum class WaitResult { kReady, kTimeout, kError };

// Waits until `fd` has one of `events` (or an error/hangup, which the next read or write
// reports) or `deadline` passes. Retries on EINTR with the time left.
WaitResult WaitFor(int fd, short events, SteadyClock::time_point deadline) {
  for (;;) {
    const auto left = deadline - SteadyClock::now();
    if (left <= SteadyClock::duration::zero()) return WaitResult::kTimeout;
    // Round up so a sub-millisecond remainder still waits instead of spinning.
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    pollfd pfd{fd, events, 0};
    const int n = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(ms, INT_MAX)));
    if (n > 0) return WaitResult::kReady;
    if (n < 0 && errno != EINTR) return WaitResult::kError;
  }
}

Status NoReply(std::string_view path, std::chrono::milliseconds timeout) {
  return Status::System("no reply from " + Sanitize(path) + " within " + FormatTimeout(timeout));
}

Status Lost(std::string_view path, int error) {
  return Status::System("lost the connection to " + Sanitize(path) + ": " + std::strerror(error));
}

Status InvalidReply(std::string_view path, std::string_view why) {
  return Status::System("invalid reply from " + Sanitize(path) + ": " + std::string(why));
}

// The inverse of protocol::ToJsonRpcCode, for the daemon's error replies.
ErrorCode FromJsonRpcCode(int64_t code) {
  switch (code) {
    case protocol::kInvalidParams:
      return ErrorCode::kInvalidArgument;
    case protocol::kNotFound:
      return ErrorCode::kNotFound;
    case protocol::kAlreadyExists:
      return ErrorCode::kAlreadyExists;
    case protocol::kResourceExhausted:
      return ErrorCode::kResourceExhausted;
    case protocol::kSystemError:
      return ErrorCode::kSystem;
    default:
      return ErrorCode::kInternal;
  }
}

// Connects `fd` (fresh from socket(), or -1 with errno set) to the daemon at `path`.
Status Connect(std::string_view path, std::chrono::milliseconds timeout, const Fd& fd) {
  if (fd.get() < 0)
    return Status::System("cannot create a socket: " + std::string(std::strerror(errno)));
  auto refused = [&](int error) {
    std::string message = "cannot connect to " + Sanitize(path) + ": " + std::strerror(error);
    if (error == ENOENT || error == ECONNREFUSED) message += " (is switchd running?)";
    return Status::System(std::move(message));
  };
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) return refused(ENAMETOOLONG);
  std::copy(path.begin(), path.end(), address.sun_path);

  // A blocking unix-socket connect waits only while the daemon's backlog is full, for at most
  // SO_SNDTIMEO, then fails with EAGAIN. (A non-blocking one would fail at once and cannot be
  // polled for.) A zero timeval means "forever", so wait at least 1 ms.
  const auto us = std::max<int64_t>(1000, std::chrono::microseconds(timeout).count());
  timeval tv{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) return refused(errno);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) < 0) {
    if (errno == EAGAIN) return NoReply(path, timeout);
    return refused(errno);
  }
  if (::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK) < 0) {
    return refused(errno);
  }
  return Status::Ok();
}

Status SendAll(int fd, std::string_view data, std::string_view path,
               std::chrono::milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  while (!data.empty()) {
    // MSG_NOSIGNAL: a daemon that goes away must not kill switchctl with SIGPIPE.
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return Lost(path, errno);
    switch (WaitFor(fd, POLLOUT, deadline)) {
      case WaitResult::kReady:
        break;
      case WaitResult::kTimeout:
        return NoReply(path, timeout);
      case WaitResult::kError:
        return Lost(path, errno);
    }
  }
  return Status::Ok();
}

// Waits until `fd` is readable or a signal that `mask` lets through arrives (kReady too: the
// caller checks what the signal handler set); no timeout.
WaitResult WaitForInput(int fd, const sigset_t& mask) {
  pollfd pfd{fd, POLLIN, 0};
  if (::ppoll(&pfd, 1, nullptr, &mask) < 0 && errno != EINTR) return WaitResult::kError;
  return WaitResult::kReady;
}

// Set by SIGINT and SIGTERM while a subscription streams.
volatile sig_atomic_t g_stop_requested = 0;

extern "C" void OnStopSignal(int) { g_stop_requested = 1; }

// True once SIGINT or SIGTERM arrived: handled while waiting (the flag), or still pending because
// they are blocked outside the wait, which a busy stream may never enter.
bool StopRequested() {
  sigset_t pending;
  return g_stop_requested || (sigpending(&pending) == 0 && (sigismember(&pending, SIGINT) == 1 ||
                                                            sigismember(&pending, SIGTERM) == 1));
}

// While it lives, SIGINT and SIGTERM set g_stop_requested instead of ending the process. They are
// blocked except while waiting for input (wait_mask), so none slips in between the check of the
// flag and the wait. The destructor unblocks them (one that arrived meanwhile is handled by the
// flag) and restores the previous handlers.
class StopSignals {
 public:
  StopSignals() {
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, &old_mask_);
    g_stop_requested = 0;
    struct sigaction action {};
    action.sa_handler = OnStopSignal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
    wait_mask_ = old_mask_;
    sigdelset(&wait_mask_, SIGINT);
    sigdelset(&wait_mask_, SIGTERM);
  }
  ~StopSignals() {
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  const sigset_t& wait_mask() const { return wait_mask_; }

 private:
  sigset_t old_mask_;
  sigset_t wait_mask_;
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

// Reads lines from a connected socket, keeping the bytes that follow a line for the next one (a
// subscription's notifications may arrive with its response).
class LineReader {
 public:
  LineReader(int fd, std::string_view path, size_t max_size)
      : fd_(fd), path_(path), max_size_(max_size) {}

  // The next line, without its newline. With a deadline, waits until it (then "no reply within
  // `timeout`"); without one (`stop_mask` set), waits for as long as it takes, letting the
  // signals of `stop_mask` through, and returns nullopt once one arrived (StopRequested). Nullopt
  // too when the daemon closed the connection (closed()).
  Result<std::optional<std::string>> Next(std::optional<SteadyClock::time_point> deadline,
                                          std::chrono::milliseconds timeout,
                                          const sigset_t* stop_mask) {
    char chunk[65536];
    for (;;) {
      if (stop_mask != nullptr && StopRequested()) return std::optional<std::string>();
      const size_t newline = buffer_.find('\n', start_ + scanned_);
      scanned_ = (newline == std::string::npos ? buffer_.size() : newline) - start_;
      if (scanned_ > max_size_) {
        return InvalidReply(path_, "longer than " + std::to_string(max_size_) + " bytes");
      }
      if (newline != std::string::npos) {
        std::string line = buffer_.substr(start_, newline - start_);
        start_ = newline + 1;
        scanned_ = 0;
        if (start_ == buffer_.size() || start_ > (size_t{1} << 20)) {
          buffer_.erase(0, start_);
          start_ = 0;
        }
        return std::optional<std::string>(std::move(line));
      }
      const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n > 0) {
        buffer_.append(chunk, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) {
        closed_ = true;
        return std::optional<std::string>();
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return Lost(path_, errno);
      const WaitResult waited =
          deadline ? WaitFor(fd_, POLLIN, *deadline) : WaitForInput(fd_, *stop_mask);
      switch (waited) {
        case WaitResult::kReady:
          break;
        case WaitResult::kTimeout:
          return NoReply(path_, timeout);
        case WaitResult::kError:
          return Lost(path_, errno);
      }
    }
  }

  bool closed() const { return closed_; }

 private:
  int fd_;
  std::string_view path_;
  size_t max_size_;
  std::string buffer_;
  size_t start_ = 0;    // where the next line starts in buffer_
  size_t scanned_ = 0;  // bytes after start_ known to hold no newline
  bool closed_ = false;
};

// Reads the response to the request just sent, within options.timeout.
Result<nlohmann::json> ReadResponse(LineReader& reader, std::string_view path,
                                    const ClientOptions& options) {
  auto line = reader.Next(SteadyClock::now() + options.timeout, options.timeout, nullptr);
  if (!line.ok()) return line.status();
  if (!*line) return Status::System(Sanitize(path) + " closed the connection without a reply");
  return DecodeResponse(**line, path);
}

// Connects to the daemon and sends one request for `method`.
Status SendRequest(std::string_view socket_path, std::string_view method, const json& params,
                   const ClientOptions& options, const Fd& fd) {
  if (Status connected = Connect(socket_path, options.timeout, fd); !connected.ok()) {
    return connected;
  }
  const std::string request = EncodeRequest(method, params) + "\n";
  return SendAll(fd.get(), request, socket_path, options.timeout);
}

}  // namespace

std::string FormatTimeout(std::chrono::milliseconds timeout) {
  if (timeout.count() % 1000 == 0) return std::to_string(timeout.count() / 1000) + " s";
  return std::to_string(timeout.count()) + " ms";
}

std::string EncodeRequest(std::string_view method, const json& params) {
  json request = {{"jsonrpc", "2.0"}, {"id", kRequestId}, {"method", std::string(method)}};
  request["params"] = params.is_null() ? json::object() : params;
  // Arguments come from argv and may be invalid UTF-8: replace rather than throw.
  return request.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<json> DecodeResponse(std::string_view line, std::string_view path) {
  json response = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (response.is_discarded()) return InvalidReply(path, "not JSON");
  if (!response.is_object()) return InvalidReply(path, "not a JSON-RPC response");
  // An error is reported whatever its id: a daemon that could not read the request (parse
  // error, oversized line) answers with "id": null.
  if (const auto error = response.find("error"); error != response.end()) {
    const auto code = error->is_object() ? error->find("code") : error->end();
    const auto message = error->is_object() ? error->find("message") : error->end();
    const int64_t number =
        code != error->end() && code->is_number_integer() ? code->get<int64_t>() : 0;
    if (message == error->end() || !message->is_string()) {
      return Status(FromJsonRpcCode(number), "error " + std::to_string(number) + " from " +
                                                 Sanitize(path) + " with no message");
    }
    return Status(FromJsonRpcCode(number), Sanitize(message->get_ref<const std::string&>()));
  }
  const auto id = response.find("id");
  if (id == response.end() || *id != kRequestId) {
    return InvalidReply(path, "response id does not match the request's");
  }
  const auto result = response.find("result");
  if (result == response.end()) return InvalidReply(path, "neither result nor error");
  return std::move(*result);
}

Result<json> CallMethod(std::string_view socket_path, std::string_view method, const json& params,
                        const ClientOptions& options) {
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (Status sent = SendRequest(socket_path, method, params, options, fd); !sent.ok()) return sent;
  LineReader reader(fd.get(), socket_path, options.max_reply_size);
  return ReadResponse(reader, socket_path, options);
}

Status Subscribe(std::string_view socket_path, std::string_view method, const json& params,
                 const std::function<bool(const json& event)>& on_event,
                 const ClientOptions& options) {
  StopSignals signals;
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (Status sent = SendRequest(socket_path, method, params, options, fd); !sent.ok()) return sent;
  LineReader reader(fd.get(), socket_path, options.max_reply_size);
  if (Result<json> result = ReadResponse(reader, socket_path, options); !result.ok()) {
    return result.status();
  }
  for (;;) {
    auto line = reader.Next(std::nullopt, options.timeout, &signals.wait_mask());
    if (!line.ok()) return line.status();
    if (!*line) {
      if (reader.closed()) return Status::System(Sanitize(socket_path) + " closed the connection");
      return Status::Ok();  // SIGINT or SIGTERM
    }
    const json message = json::parse(**line, nullptr, /*allow_exceptions=*/false);
    if (message.is_discarded() || !message.is_object()) {
      return InvalidReply(socket_path, "a notification that is not a JSON object");
    }
    // Other notifications, from a newer daemon, are not for this client to show.
    const auto method_name = message.find("method");
    if (method_name == message.end() || *method_name != "event") continue;
    const auto event = message.find("params");
    if (event == message.end() || !event->is_object()) {
      return InvalidReply(socket_path, "an event notification without params");
    }
    if (!on_event(*event)) return Status::Ok();
  }
}

}  // namespace switchd::ctl
