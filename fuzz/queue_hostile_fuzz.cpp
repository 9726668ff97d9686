// Fuzz target: hostile shared state between operations (docs/design.md §7).
//
// One process-local Queue handle runs operations while a "peer" (a second mapping of the same
// file) writes fuzzer-chosen values at fuzzer-chosen places of the control block and the slots
// between any two operations. Every operation must return a Status — never read or write out of
// bounds, never loop forever (libFuzzer's -timeout catches hangs), never trip UBSan — and it
// must keep the invariants of segment_watch.hpp: no byte outside the fields it may write changes
// (W-ANY; W-HEALTHY until the peer's first write), and every value got was put (exact FIFO until
// the peer's first write; a value made by the target, or the zero of a slot never written, until
// the peer writes into slot sizes or payloads), or the call returned Status::corrupt.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz_support.hpp"
#include "queue_ops.hpp"
#include "segment_watch.hpp"
#include "shmq/detail/access.hpp"
#include "shmq/detail/layout.hpp"
#include "shmq/detail/segment.hpp"
#include "shmq/shmq.hpp"

namespace {

using shmq::fuzz::Input;
using shmq::fuzz::OpClass;
using shmq::fuzz::SegmentWatch;
using shmq::fuzz::Trust;
using shmq::fuzz::ValueOracle;

// Where the slots are, as created (the peer may rewrite the control block's copy).
struct SlotGeometry {
  std::size_t slots = 0;
  std::size_t stride = 0;
  bool packed = false;
};

// How far a peer's write at [at, at + len) of the segment shakes the oracle's trust: indices,
// sequence words and stamps leave values intact (an older one may come back); slot sizes and
// payloads do not.
Trust trust_after_write(std::size_t at, std::size_t len, const SlotGeometry& g) {
  if (at + len <= g.slots) return Trust::values;
  if (g.packed) return Trust::tainted;
  for (std::size_t i = std::max(at, g.slots); i < at + len; ++i) {
    if ((i - g.slots) % g.stride >= offsetof(shmq::detail::SlotHeader, size)) return Trust::tainted;
  }
  return Trust::values;
}

template <class T>
void run(Input& in, const std::string& name, const shmq::QueueOptions& opt, std::uint64_t start) {
  auto q = shmq::detail::create_queue_at<T>(name, opt, start);
  const std::string path = shmq::detail::segment_path(name);
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return;
  const off_t size = ::lseek(fd, 0, SEEK_END);
  void* map =
      ::mmap(nullptr, static_cast<std::size_t>(size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return;
  auto* peer = static_cast<unsigned char*>(map);
  // The hostile peer aims at the queue's control block and slots (the header and registry are
  // covered by segment_open_fuzz).
  const std::size_t first = shmq::detail::kBodyOffset;
  const std::size_t span = static_cast<std::size_t>(size) - first;
  const shmq::detail::QueueControl& ctl = shmq::detail::core_of(q).control();
  const SlotGeometry geometry{ctl.slots_offset, ctl.slot_stride,
                              (ctl.flags & shmq::detail::kFlagPacked) != 0};

  const shmq::detail::Segment& seg = shmq::detail::core_of(q).segment();
  SegmentWatch watch(seg.base(), seg.size(), seg.self_index());
  ValueOracle<T> oracle(static_cast<std::uint32_t>(q.max_message()));
  Trust trust = Trust::healthy;

  for (int step = 0; step < 256 && !in.empty(); ++step) {
    const auto op = in.take<std::uint8_t>();
    switch (op % 12) {
      case 0:
      case 1: {
        const auto where = in.take<std::uint16_t>();
        const auto value = in.take<std::uint64_t>();
        const std::size_t at = first + where % span;
        const std::size_t len = std::min<std::size_t>(1 + (op >> 4) % 8, size - at);
        if (std::memcmp(peer + at, &value, len) != 0) {
          trust = std::max(trust, trust_after_write(at, len, geometry));
          std::memcpy(peer + at, &value, len);
        }
        break;
      }
      default: {
        watch.before();
        const OpClass c = shmq::fuzz::queue_op(q, op % 12 - 2U, op, std::chrono::milliseconds(0),
                                               oracle, [&] { return trust; });
        watch.after(c, trust == Trust::healthy);
        break;
      }
    }
  }
  ::munmap(map, static_cast<std::size_t>(size));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  const auto shape = in.take<std::uint8_t>();
  const shmq::QueueOptions opt = shmq::fuzz::queue_options(shape, 40);
  const std::uint64_t start = shmq::fuzz::start_position(shape, 3);
  const std::string name = shmq::fuzz::fuzz_name("hostile");
  shmq::detail::Segment::remove(name);
  if (shape & 1) {
    run<std::string>(in, name, opt, start);
  } else {
    run<std::uint32_t>(in, name, opt, start);
  }
  shmq::detail::Segment::remove(name);
  return 0;
}
