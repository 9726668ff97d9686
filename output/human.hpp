// Figures as people read them, and the wall clock they are measured against.
#pragma once

#include <cstdint>
#include <string>

namespace shmq::output {

// "512 B", "4.0 KiB", "1.5 MiB".
std::string human_bytes(double bytes);
// "950", "1.23k", "12.3k", "456M" (for rates and counts).
std::string human_count(double n);
// "0s", "42s", "3m12s", "2h05m", "4d03h".
std::string human_duration(double seconds);
// "2024-05-01 12:34:56" in local time.
std::string local_time(std::uint64_t unix_ns);

// Wall-clock now, nanoseconds since the epoch; seconds since `unix_ns` (never negative).
std::uint64_t now_unix_ns();
double seconds_since(std::uint64_t unix_ns);

}  // namespace shmq::output
