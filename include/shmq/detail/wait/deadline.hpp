// Deadlines of the bounded verbs (*_for / *_until): steady_clock time points, and a duration
// turned into one without overflow.
#pragma once

#include <chrono>

namespace shmq::detail {

using Deadline = std::chrono::steady_clock::time_point;  // CLOCK_MONOTONIC in libstdc++

// now + d, saturating: a duration too long for the clock waits for ever; zero or negative is now.
template <class Rep, class Period>
Deadline deadline_after(std::chrono::duration<Rep, Period> d) noexcept {
  const auto now = std::chrono::steady_clock::now();
  if (d <= d.zero()) return now;
  const auto limit = Deadline::max() - now;
  if (d >= std::chrono::duration_cast<std::chrono::duration<Rep, Period>>(limit)) {
    return Deadline::max();
  }
  return now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(d);
}

// `d` rounded up to whole milliseconds, at most about 31 years (no overflow for hours::max()).
template <class Rep, class Period>
std::chrono::milliseconds whole_milliseconds(std::chrono::duration<Rep, Period> d) noexcept {
  constexpr std::chrono::milliseconds kMost{1'000'000'000'000};
  // Compared in floating point: no duration type's range is exceeded on the way.
  if (std::chrono::duration<double, std::milli>(d).count() >= static_cast<double>(kMost.count()))
    return kMost;
  if (d <= d.zero()) return std::chrono::milliseconds::zero();
  return std::chrono::ceil<std::chrono::milliseconds>(d);
}

}  // namespace shmq::detail
