// The manager segment N: create it, open it, validate its ManagerControl (runtime-private).
#pragma once

#include <cstdint>
#include <string_view>

#include "shmq/detail/layout.hpp"
#include "shmq/detail/segment.hpp"

namespace shmq::detail {

// The validated, private copy of a ManagerControl's immutable fields.
struct ManagerConfig {
  std::uint32_t request_capacity = 1024;
  std::uint32_t reply_capacity = 64;
  std::uint32_t max_message = 4096;
};

inline constexpr std::uint32_t kMinManagerMessage = 256;
inline constexpr std::uint32_t kMaxManagerMessage = 1U << 20;
inline constexpr std::uint32_t kMaxManagerCapacity = 1U << 16;

// Throws Error(invalid_argument) for a configuration that cannot be built.
void check_manager_config(std::string_view name, const ManagerConfig& cfg);
// Creates N with server_token 0 (no server yet). Throws Error (already_exists, ...).
Segment create_manager_segment(std::string_view name, const ManagerConfig& cfg, std::uint32_t mode);
// Reads the immutable fields once and checks them. Throws Error(corrupt).
ManagerConfig validate_manager_control(const Segment& seg);

inline ManagerControl& manager_control(const Segment& seg) noexcept {
  return *reinterpret_cast<ManagerControl*>(seg.base() + kBodyOffset);
}

}  // namespace shmq::detail
