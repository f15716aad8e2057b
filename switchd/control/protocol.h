// The control protocol's constants, shared by switchd and switchctl (the one place both sides
// read).
//
// JSON-RPC 2.0 over a unix stream socket, one JSON message per line. docs/control-protocol.md
// describes every method; the method names are the switchctl command names.
#pragma once

#include <cstddef>
#include <string_view>

#include "switchd/core/status.h"

namespace switchd::protocol {

inline constexpr std::string_view kDefaultSocketPath = "/run/switchd/switchd.sock";
inline constexpr size_t kMaxMessageSize = 1 << 20;  // bytes in one line, newline excluded

// Standard JSON-RPC 2.0 codes.
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
// Application codes (the JSON-RPC "server error" range).
inline constexpr int kNotFound = -32001;
inline constexpr int kAlreadyExists = -32002;
inline constexpr int kResourceExhausted = -32003;
inline constexpr int kSystemError = -32004;

// The one mapping from Status codes to JSON-RPC error codes.
constexpr int ToJsonRpcCode(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return kInvalidParams;
    case ErrorCode::kNotFound:
      return kNotFound;
    case ErrorCode::kAlreadyExists:
      return kAlreadyExists;
    case ErrorCode::kResourceExhausted:
      return kResourceExhausted;
    case ErrorCode::kSystem:
      return kSystemError;
    case ErrorCode::kOk:
    case ErrorCode::kInternal:
      break;
  }
  return kInternalError;
}

}  // namespace switchd::protocol
