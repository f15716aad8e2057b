// The JSON-RPC 2.0 envelope of the control protocol: one request line in, one response line out.
//
// No sockets and no knowledge of the methods: the I/O layer hands each received line (without its
// '\n') to HandleRequestLine together with a Dispatcher that knows the methods. The envelope parses
// the line, validates each request (single or batch), calls the dispatcher for the valid ones and
// serializes the responses. It never throws, whatever the bytes: every failure becomes a JSON-RPC
// error object (docs/control-protocol.md): -32700 not JSON, -32600 not a request, -32601 unknown
// method, -32603 a bug, and method errors mapped from Status by protocol::ToJsonRpcCode.
// Responses are compact JSON with sorted keys and never contain a newline.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "switchd/core/status.h"

namespace switchd {

// The methods as the envelope sees them. Both functions must be set.
struct Dispatcher {
  // True when `method` exists; unknown methods get -32601 without reaching `call`.
  std::function<bool(std::string_view method)> has_method;
  // Runs a known method with its params (always an object: an omitted or null "params" is {}).
  std::function<Result<nlohmann::json>(std::string_view method, const nlohmann::json& params)> call;
};

// Lines whose arrays and objects nest deeper than this are refused (-32600) before they are
// parsed, which bounds the memory and the work a single line can cost.
inline constexpr size_t kMaxJsonDepth = 64;

// Batches with more requests than this are refused (-32600) without running any of them, so that
// one line cannot queue unbounded work (every request may produce a whole table).
inline constexpr size_t kMaxBatchSize = 64;

// Handles one request line (a request object or a batch array). Returns the response line without
// '\n', or nullopt when nothing must be answered (a notification, or a batch of notifications).
// Never fails: bad input yields an error response.
std::optional<std::string> HandleRequestLine(std::string_view line, const Dispatcher& dispatcher);

// The response to a line longer than protocol::kMaxMessageSize: -32600 with "id": null. The
// caller sends it and then closes the connection.
std::string OversizeErrorResponse();

// `text` made safe to quote in a one-line error message: control characters and quotes become
// escapes and anything past 64 bytes is cut to "...". Returns it between single quotes.
std::string QuoteInput(std::string_view text);

}  // namespace switchd
