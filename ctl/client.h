// The JSON-RPC client switchctl uses to call one method on switchd's control socket.
//
// One call is one connection: connect to the unix socket, write one request line, read one
// response line, close. Every step is bounded by the same timeout (the connect waits when the
// daemon's listen backlog is full; the send when it reads nothing; the reply when it answers
// nothing) and the reply by a size limit, so switchctl never hangs on a stuck daemon. Failures
// come back as a Status whose message is the one line switchctl prints after "switchctl: ".
//
// A subscription (monitor) is a call whose response is followed by notifications on the same
// connection: Subscribe bounds the call like CallMethod, then reads notifications for as long as
// they come, with no timeout, until SIGINT or SIGTERM.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "switchd/core/status.h"

namespace switchd::ctl {

struct ClientOptions {
  // Bound on each of connect, send and waiting for the whole reply.
  std::chrono::milliseconds timeout{5000};
  // Longest reply line accepted, newline excluded. The protocol bounds requests (1 MiB), not
  // replies; a full 8192-entry table is under 1 MiB, so this leaves room for larger limits.
  size_t max_reply_size = size_t{64} << 20;
};

// Calls `method` with `params` (an object) on the daemon at `socket_path` and returns the
// response's "result". On failure returns a Status with a one-line message:
//  - the daemon's error: its message, the code mapped back from the JSON-RPC code
//    (-32602 -> kInvalidArgument, -32001 -> kNotFound, ...; unknown codes -> kInternal);
//  - no daemon: kSystem, "cannot connect to PATH: <strerror> (is switchd running?)" (the hint
//    for ENOENT and ECONNREFUSED only);
//  - timeout: kSystem, "no reply from PATH within 5 s" (or "within 200 ms");
//  - a closed connection, an oversized or malformed reply: kSystem, naming PATH.
// Never throws for anything the daemon sends.
Result<nlohmann::json> CallMethod(std::string_view socket_path, std::string_view method,
                                  const nlohmann::json& params, const ClientOptions& options = {});

// Calls the subscription `method` (monitor) with `params` as CallMethod does, with the same
// bounded timeouts and errors for its response; then calls `on_event` with the params of each
// "event" notification that follows (other notifications are skipped), waiting as long as it
// takes, until:
//  - SIGINT or SIGTERM arrives: returns Ok (while it runs they are caught; the previous
//    handlers are restored when it returns);
//  - `on_event` returns false: Ok;
//  - the daemon closes the connection: kSystem, "PATH closed the connection";
//  - a line that is not a JSON object, or an event without params: kSystem, "invalid reply ...".
Status Subscribe(std::string_view socket_path, std::string_view method,
                 const nlohmann::json& params,
                 const std::function<bool(const nlohmann::json& event)>& on_event,
                 const ClientOptions& options = {});

// Serializes the request line CallMethod sends (without the newline): JSON-RPC 2.0, id 1.
std::string EncodeRequest(std::string_view method, const nlohmann::json& params);

// Interprets one response line to a request with id 1, as CallMethod does; `socket_path` only
// names the daemon in error messages.
Result<nlohmann::json> DecodeResponse(std::string_view line, std::string_view socket_path);

// "5 s" for whole seconds, else "200 ms": how timeouts read in messages.
std::string FormatTimeout(std::chrono::milliseconds timeout);

}  // namespace switchd::ctl
