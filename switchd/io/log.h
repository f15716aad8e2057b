// Logging to stderr, one line per event: "2026-11-26T15:40:00.123Z switchd: info: port 'tap0'
// added".
//
// Never called per frame: the datapath counts instead. Events that can repeat at frame rate (MAC
// moves under flapping) go through a RateLimiter so that a storm cannot flood the log.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "switchd/core/types.h"

namespace switchd {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Parses "debug", "info", "warn" or "error".
std::optional<LogLevel> ParseLogLevel(std::string_view text);
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);

// printf-style; a newline is added.
void Logf(LogLevel level, const char* format, ...) __attribute__((format(printf, 2, 3)));

// Allows at most `per_second` events per one-second window; counts the rest.
class RateLimiter {
 public:
  explicit RateLimiter(uint32_t per_second) : per_second_(per_second) {}
  // True if an event at `now` may be logged. `suppressed` receives how many events were refused
  // since the last allowed one (to be mentioned in the next line).
  bool Allow(Time now, uint64_t* suppressed);

 private:
  uint32_t per_second_;
  Time window_start_{};
  uint32_t in_window_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace switchd
