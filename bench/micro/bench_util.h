// Shared by the microbenchmarks: station MACs numbered by index, and a clock that moves the way
// the daemon's does. Not part of switchd; nothing here is timed.
#pragma once

#include <chrono>
#include <cstdint>

#include "switchd/core/types.h"

namespace switchd::bench {

// A locally administered unicast MAC 02:nn:nn:nn:nn:nn for `n` < 2^40, one per station.
inline MacAddress StationMac(uint64_t n) {
  return MacAddress({0x02, static_cast<uint8_t>(n >> 32), static_cast<uint8_t>(n >> 24),
                     static_cast<uint8_t>(n >> 16), static_cast<uint8_t>(n >> 8),
                     static_cast<uint8_t>(n)});
}

// The daemon reads the clock once per batch of up to 64 frames, so `now` is the same for a batch
// and then jumps. Next() does the same without a syscall: every 64th call moves time on by 64 us
// (one frame per microsecond).
class BatchClock {
 public:
  Time Next() {
    if ((++calls_ & 63) == 0) now_ += std::chrono::microseconds(64);
    return now_;
  }
  Time now() const { return now_; }

 private:
  Time now_ = Time{} + std::chrono::hours(1);
  uint64_t calls_ = 0;
};

}  // namespace switchd::bench
