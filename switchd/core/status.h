// Errors as values for the control and I/O layers (the datapath never fails loudly: it counts).
//
// A Status is ok or carries a code and a one-line, lower-case message that quotes the bad input,
// e.g. "unknown port 'tap9'". Result<T> is a T or a non-ok Status.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace switchd {

enum class ErrorCode {
  kOk = 0,
  kInvalidArgument,    // the caller's input is wrong (bad MAC, bad name, out of range)
  kNotFound,           // names something that does not exist (unknown port, no such entry)
  kAlreadyExists,      // would create something that exists (port name taken)
  kResourceExhausted,  // a bound is reached (table full, too many ports)
  kSystem,             // the operating system refused (message carries strerror)
  kInternal,           // a bug: should never happen
};

class Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string m) {
    return {ErrorCode::kInvalidArgument, std::move(m)};
  }
  static Status NotFound(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {ErrorCode::kAlreadyExists, std::move(m)}; }
  static Status ResourceExhausted(std::string m) {
    return {ErrorCode::kResourceExhausted, std::move(m)};
  }
  static Status System(std::string m) { return {ErrorCode::kSystem, std::move(m)}; }
  static Status Internal(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

// Holds either a value or an error Status (never an ok Status).
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : value_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(value_); }
  T& value() & { return std::get<T>(value_); }
  const T& value() const& { return std::get<T>(value_); }
  T&& value() && { return std::get<T>(std::move(value_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  // The error; Status::Ok() when a value is held.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(value_); }

 private:
  std::variant<T, Status> value_;
};

}  // namespace switchd
