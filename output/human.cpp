#include "output/human.hpp"

#include <chrono>
#include <cmath>
#include <ctime>
#include <iterator>

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace shmq::output {

namespace {

// Divides `value` by `base` while it is at least `base` and a larger unit is left; returns the
// index of the unit reached.
std::size_t scale(double& value, double base, std::size_t units) {
  std::size_t unit = 0;
  while (std::fabs(value) >= base && unit + 1 < units) {
    value /= base;
    ++unit;
  }
  return unit;
}

}  // namespace

std::string human_bytes(double bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  const std::size_t unit = scale(bytes, 1024.0, std::size(kUnits));
  if (unit == 0) return fmt::format("{:.0f} B", bytes);
  return fmt::format("{:.1f} {}", bytes, kUnits[unit]);
}

std::string human_count(double n) {
  static constexpr const char* kSuffixes[] = {"", "k", "M", "G", "T", "P"};
  const std::size_t unit = scale(n, 1000.0, std::size(kSuffixes));
  if (unit == 0) return fmt::format("{:.0f}", n);
  return fmt::format("{:.{}f}{}", n,
                     std::fabs(n) < 10.0    ? 2
                     : std::fabs(n) < 100.0 ? 1
                                            : 0,
                     kSuffixes[unit]);
}

std::string human_duration(double seconds) {
  if (!(seconds > 0.0)) return "0s";  // also NaN
  const auto s = static_cast<std::uint64_t>(seconds);
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d{:02}h", s / 86400, (s % 86400) / 3600);
}

std::string local_time(std::uint64_t unix_ns) {
  const auto t = static_cast<std::time_t>(unix_ns / 1'000'000'000U);
  std::tm tm{};
  if (::localtime_r(&t, &tm) == nullptr) return "?";
  return fmt::format("{:%Y-%m-%d %H:%M:%S}", tm);
}

std::uint64_t now_unix_ns() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count());
}

double seconds_since(std::uint64_t unix_ns) {
  const std::uint64_t now = now_unix_ns();
  return now > unix_ns ? static_cast<double>(now - unix_ns) / 1e9 : 0.0;
}

}  // namespace shmq::output
