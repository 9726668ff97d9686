#include "manager_control.hpp"

#include <new>

#include <fmt/format.h>

#include "shmq/error.hpp"

namespace shmq::detail {

namespace {

bool in_range(std::uint32_t v, std::uint32_t lo, std::uint32_t hi) {
  return v >= lo && v <= hi;
}

std::string describe(const ManagerConfig& cfg) {
  return fmt::format("request capacity {}, reply capacity {}, max message {}", cfg.request_capacity,
                     cfg.reply_capacity, cfg.max_message);
}

bool valid(const ManagerConfig& cfg) {
  return in_range(cfg.request_capacity, 1, kMaxManagerCapacity) &&
         in_range(cfg.reply_capacity, 1, kMaxManagerCapacity) &&
         in_range(cfg.max_message, kMinManagerMessage, kMaxManagerMessage);
}

}  // namespace

void check_manager_config(std::string_view name, const ManagerConfig& cfg) {
  if (!valid(cfg)) {
    throw Error(Errc::invalid_argument, name,
                fmt::format("{}: capacities must be 1..{}, max message {}..{}", describe(cfg),
                            kMaxManagerCapacity, kMinManagerMessage, kMaxManagerMessage));
  }
}

Segment create_manager_segment(std::string_view name, const ManagerConfig& cfg,
                               std::uint32_t mode) {
  check_manager_config(name, cfg);
  Segment::CreateSpec spec;
  spec.kind = SegmentKind::manager;
  spec.body_bytes = kManagerBodyBytes;
  spec.total_bytes = kManagerTotalBytes;
  spec.mode = mode;
  return Segment::create(name, spec, [&](std::byte* base) {
    auto* ctl = new (base + kBodyOffset) ManagerControl{};
    ctl->request_capacity = cfg.request_capacity;
    ctl->reply_capacity = cfg.reply_capacity;
    ctl->max_message = cfg.max_message;
  });
}

ManagerConfig validate_manager_control(const Segment& seg) {
  if (seg.info().body_bytes != kManagerBodyBytes || seg.info().total_bytes < kManagerTotalBytes) {
    throw Error(Errc::corrupt, seg.name(),
                fmt::format("manager control block of {} bytes, expected {}", seg.info().body_bytes,
                            kManagerBodyBytes));
  }
  const ManagerControl& ctl = manager_control(seg);
  ManagerConfig cfg;  // one read of each field; only the copy is used
  cfg.request_capacity = ctl.request_capacity;
  cfg.reply_capacity = ctl.reply_capacity;
  cfg.max_message = ctl.max_message;
  if (!valid(cfg)) throw Error(Errc::corrupt, seg.name(), describe(cfg));
  return cfg;
}

}  // namespace shmq::detail
