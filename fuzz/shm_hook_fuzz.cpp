// Fuzz target: hostile shared state at ANY load, not only between operations (docs/design.md §7).
//
// The fuzz build (SHMQ_FUZZ_HOOKS) routes every load the library makes from shared memory through
// detail::shm_load(), and this target installs its hook: while an operation runs "hostile", each
// load takes one input byte that keeps the real value or replaces it (off by one either way, a lap
// away, zero, all ones, or 8 raw input bytes) — a peer rewriting shared state between any two
// instructions, which a second mapping (queue_hostile_fuzz) cannot do. Every operation must return
// a Status: never read or write out of bounds, never loop forever (libFuzzer's -timeout), never
// trip UBSan. The real shared state may be left inconsistent by what the library did on the
// values it was shown; later operations must cope with that too.
//
// And every operation keeps the invariants of segment_watch.hpp, checked on the real memory: it
// writes only the fields it may (W-ANY; W-HEALTHY until the first forged load), and every value
// got was put (exact FIFO until the first forged load; then a value made by the target or the
// zero of a slot never written — a string any bytes of the slot if its `size` load was forged in
// that very operation), or the call returned Status::corrupt.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "queue_ops.hpp"
#include "segment_watch.hpp"
#include "shmq/detail/access.hpp"
#include "shmq/detail/segment.hpp"
#include "shmq/detail/shm_access.hpp"
#include "shmq/shmq.hpp"

#ifndef SHMQ_FUZZ_HOOKS
#error "shm_hook_fuzz needs the library built with SHMQ_FUZZ_HOOKS (the fuzz preset)"
#endif

namespace {

using shmq::fuzz::Input;
using shmq::fuzz::OpClass;
using shmq::fuzz::SegmentWatch;
using shmq::fuzz::Trust;
using shmq::fuzz::ValueOracle;

Input* hostile = nullptr;    // the input the hook reads from while an operation is hostile
std::uint64_t ring_lap = 0;  // the queue's capacity, for "a lap away"
std::uint64_t hostile_loads = 0;
// What the forged loads touched: any value (the oracle's "healthy" is over), a slot's `size` in
// this operation (its message may come back cut short or lengthened).
bool forged = false;
bool size_forged = false;
const std::byte* slots_begin = nullptr;  // the non-packed slots, to recognise `size` loads
std::size_t slots_bytes = 0;
std::size_t slot_stride = 1;

std::uint64_t hook(const void* where, std::uint64_t value, std::size_t size) {
  if (hostile == nullptr || hostile->empty()) return value;
  ++hostile_loads;
  std::uint64_t v = value;
  switch (hostile->take<std::uint8_t>() % 12) {
    case 0:
      v = value + 1;
      break;
    case 1:
      v = value - 1;
      break;
    case 2:
      v = value + ring_lap;
      break;
    case 3:
      v = value - ring_lap;
      break;
    case 4:
      v = 0;
      break;
    case 5:
      v = ~0ULL;
      break;
    case 6:
      v = hostile->take<std::uint64_t>();
      break;
    default:
      break;  // the real value
  }
  v = size >= 8 ? v : v & ((1ULL << (8 * size)) - 1);
  if (v != value) {
    forged = true;
    const auto* at = static_cast<const std::byte*>(where);
    if (at >= slots_begin && at < slots_begin + slots_bytes &&
        static_cast<std::size_t>(at - slots_begin) % slot_stride ==
            offsetof(shmq::detail::SlotHeader, size)) {
      size_forged = true;
    }
  }
  return v;
}

Trust trust_now() {
  if (!forged) return Trust::healthy;
  return size_forged ? Trust::tainted : Trust::values;
}

template <class T>
void run(Input& in, const std::string& name, const shmq::QueueOptions& opt, std::uint64_t start) {
  auto q = shmq::detail::create_queue_at<T>(name, opt, start);
  ring_lap = q.capacity();
  const shmq::detail::Segment& seg = shmq::detail::core_of(q).segment();
  const shmq::detail::QueueControl& ctl = shmq::detail::core_of(q).control();
  const bool packed = (ctl.flags & shmq::detail::kFlagPacked) != 0;
  slots_begin = packed ? nullptr : seg.base() + ctl.slots_offset;
  slots_bytes = packed ? 0 : ctl.capacity * ctl.slot_stride;
  slot_stride = ctl.slot_stride;
  forged = false;
  SegmentWatch watch(seg.base(), seg.size(), seg.self_index());
  ValueOracle<T> oracle(static_cast<std::uint32_t>(q.max_message()));
  for (int step = 0; step < 128 && !in.empty(); ++step) {
    const auto op = in.take<std::uint8_t>();
    hostile = (op & 0x80) != 0 ? &in : nullptr;
    size_forged = false;
    const bool healthy_before = !forged;
    watch.before();
    OpClass c = OpClass::open_other;
    if (op % 11 == 10) {
      // Another handle opens the live queue (validation reads the control block).
      try {
        auto other = shmq::Queue<T>::open(name, opt.wait);
        const std::byte* ours = slots_begin;
        if (!packed)
          slots_begin =
              shmq::detail::core_of(other).segment().base() + ctl.slots_offset;  // its mapping
        T out{};
        const shmq::Status s = other.try_get(out);
        oracle.got(s, &out, trust_now());
        slots_begin = ours;
      } catch (const shmq::Error&) {
        if (!forged) shmq::fuzz::invariant_failed("healthy: a second handle could not open");
      }
    } else {
      // Blocking forms wait up to 2 ms when hostile: the wait loop's recovery (after a position
      // was stuck for QueueCore::kStuckAfter, 1 ms) and sleeper bookkeeping see hostile values
      // too. An honest wait sleeps 0.2 ms: the same futex path, at a tenth of the time. The oracle
      // learns only after the call whether a load was forged, so it is told the trust the call
      // ended with (a healthy expectation is kept only for calls that saw no forged load at all).
      const auto block =
          hostile != nullptr ? std::chrono::microseconds(2000) : std::chrono::microseconds(200);
      c = shmq::fuzz::queue_op(q, op % 11, op, block, oracle, trust_now);
    }
    hostile = nullptr;
    watch.after(c, healthy_before && !forged);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  shmq::detail::shm_load_hook = hook;
  Input in(data, size);
  const auto shape = in.take<std::uint8_t>();
  const shmq::QueueOptions opt = shmq::fuzz::queue_options(shape, 40);
  const std::uint64_t start = shmq::fuzz::start_position(shape, 3);
  const std::string name = shmq::fuzz::fuzz_name("shm-hook");
  shmq::detail::Segment::remove(name);
  try {
    if (shape & 1) {
      run<std::string>(in, name, opt, start);
    } else {
      run<std::uint32_t>(in, name, opt, start);
    }
  } catch (const shmq::Error&) {
    // A hostile value may make an operation throw (e.g. a role held by a "live" token): allowed.
  }
  hostile = nullptr;
  shmq::detail::Segment::remove(name);
  return 0;
}
