#include "ctl/client.h"

#include <fcntl.h>
#include <poll.h>
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

Result<std::string> ReadLine(int fd, std::string_view path, const ClientOptions& options) {
  const auto deadline = SteadyClock::now() + options.timeout;
  std::string line;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n > 0) {
      const std::string_view chunk(buffer, static_cast<size_t>(n));
      const size_t newline = chunk.find('\n');
      line.append(chunk.substr(0, newline));
      if (line.size() > options.max_reply_size) {
        return InvalidReply(path,
                            "longer than " + std::to_string(options.max_reply_size) + " bytes");
      }
      if (newline != std::string_view::npos) return line;
      continue;
    }
    if (n == 0) {
      return Status::System(Sanitize(path) + " closed the connection without a reply");
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return Lost(path, errno);
    switch (WaitFor(fd, POLLIN, deadline)) {
      case WaitResult::kReady:
        break;
      case WaitResult::kTimeout:
        return NoReply(path, options.timeout);
      case WaitResult::kError:
        return Lost(path, errno);
    }
  }
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
  if (Status connected = Connect(socket_path, options.timeout, fd); !connected.ok()) {
    return connected;
  }
  const std::string request = EncodeRequest(method, params) + "\n";
  if (Status sent = SendAll(fd.get(), request, socket_path, options.timeout); !sent.ok()) {
    return sent;
  }
  auto line = ReadLine(fd.get(), socket_path, options);
  if (!line.ok()) return line.status();
  return DecodeResponse(*line, socket_path);
}

}  // namespace switchd::ctl
