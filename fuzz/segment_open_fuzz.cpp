// Fuzz target: hostile segment bytes on open (docs/design.md §7).
//
// A valid queue segment is made and left (its creator detached), then patched with fuzzer-chosen
// bytes anywhere in the file — header, registry, control block, slot headers, payloads — and maybe
// truncated or extended. It is then opened as a user would (Queue<std::string>,
// Queue<std::uint64_t>, inspect, peek_messages) and driven a little. Every outcome must be a
// shmq::Error or a Status; a crash, an out-of-bounds access (ASan) or UB (UBSan) is a finding.
//
// Invariants (segment_watch.hpp), each a trap when broken:
// - a segment left unpatched, or patched only in pad bytes no opener reads, opens; gives back the
//   preloaded values exactly in order; refuses to open as the wrong element type (type_mismatch);
//   and inspect/peek_messages report it (peek_messages: exactly the values still queued);
// - a file an opener would wait on (no magic, not ready, no creator holding the init lock: ours has
//   left) is refused as not_ready. Users wait up to 2 s (open) or 0.5 s (inspect) before that
//   verdict; the target asks Segment::open/observe for it with a 0 ms wait instead;
// - open writes nothing but registry entries' own fields, the retired counters and waiters bits;
//   each operation on the opened queue keeps W-ANY (W-HEALTHY on an unpatched segment);
//   inspect and peek_messages write nothing;
// - every value got was preloaded or put by the target (or is the zero of a slot never written),
//   or the call returned Status::corrupt — unless a patch wrote slot sizes or payloads.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "fuzz_support.hpp"
#include "queue_ops.hpp"
#include "segment_watch.hpp"
#include "shmq/detail/access.hpp"
#include "shmq/detail/layout.hpp"
#include "shmq/detail/segment.hpp"
#include "shmq/inspect.hpp"
#include "shmq/shmq.hpp"

namespace {

using shmq::fuzz::Input;
using shmq::fuzz::invariant_failed;
using shmq::fuzz::OpClass;
using shmq::fuzz::SegmentWatch;
using shmq::fuzz::Trust;
using shmq::fuzz::ValueOracle;
namespace d = shmq::detail;

std::vector<std::byte> read_file(int fd) {
  const off_t size = ::lseek(fd, 0, SEEK_END);
  std::vector<std::byte> bytes(size > 0 ? static_cast<std::size_t>(size) : 0);
  if (!bytes.empty() && ::pread(fd, bytes.data(), bytes.size(), 0) != size) bytes.clear();
  return bytes;
}

// Pad bytes: no opener reads them, so patching them must not change any outcome.
SHMQ_FUZZ_UNTRACED bool inert(std::size_t at) {
  if (at < d::kRegistryOffset) return (at >= 68 && at < 128) || at >= 224;  // header pads
  if (at < d::kBodyOffset) {
    const std::size_t in_entry = (at - d::kRegistryOffset) % sizeof(d::RegistryEntry);
    return (in_entry >= 36 && in_entry < 64) || in_entry >= 160;
  }
  const std::size_t c = at - d::kBodyOffset;
  if (c >= sizeof(d::QueueControl)) return false;
  static_assert(offsetof(d::QueueControl, pad0_) == 112, "the control block's first pad moved");
  return (c >= 112 && c < 128) || (c >= 136 && c < 256) || (c >= 264 && c < 384) ||
         (c >= 400 && c < 512) || (c >= 528 && c < 640) || (c >= 644 && c < 648) || c >= 672;
}

// What the patches did: nothing an opener reads (healthy), indices and other fields (values), or
// slot sizes, payloads or the file's size (tainted).
SHMQ_FUZZ_UNTRACED Trust judge_patches(const std::vector<std::byte>& before,
                                       const std::vector<std::byte>& after, std::size_t slots,
                                       std::size_t stride, bool packed) {
  if (before.size() != after.size()) return Trust::tainted;
  Trust t = Trust::healthy;
  for (std::size_t i = 0; i < before.size(); ++i) {
    if (before[i] == after[i] || inert(i)) continue;
    if (i >= slots && (packed || (i - slots) % stride >= offsetof(d::SlotHeader, size)))
      return Trust::tainted;
    t = Trust::values;
  }
  return t;
}

// Whether Segment::open would wait for `ready` (look_at_header() and the loop in open_impl()):
// no foreign magic and no garbage `ready` (those are refused at once), not ready, and not our
// magic (with the magic and no creator holding the init lock, the creator is judged dead).
SHMQ_FUZZ_UNTRACED bool opener_would_wait(const std::vector<std::byte>& f) {
  std::uint64_t magic = 0;
  if (f.size() >= sizeof(magic)) std::memcpy(&magic, f.data(), sizeof(magic));
  if (magic != 0 && magic != d::kMagic) return false;
  std::uint32_t ready = 0;
  if (f.size() >= sizeof(d::SegmentHeader))
    std::memcpy(&ready, f.data() + offsetof(d::SegmentHeader, ready), sizeof(ready));
  if (ready != 0) return false;
  return magic != d::kMagic;
}

bool is(const shmq::Error& e, shmq::Errc c) {
  return e.code() == shmq::make_error_code(c);
}

// W-ANY for an open (Segment::Impl::take_entry): registry entries' own fields, the retired
// counters, the eventcounts' waiters bits; nothing else. `before` is the file before the open.
SHMQ_FUZZ_UNTRACED void check_attach(const std::vector<std::byte>& before, const std::byte* now) {
  using E = d::RegistryEntry;
  for (std::size_t i = 0; i < before.size(); ++i) {
    if (before[i] == now[i]) continue;
    if (i >= offsetof(d::SegmentHeader, retired) &&
        i < offsetof(d::SegmentHeader, retired) + sizeof(d::Counters))
      continue;
    if (i >= d::kRegistryOffset && i < d::kBodyOffset) {
      const std::size_t f = (i - d::kRegistryOffset) % sizeof(E);
      if (f < offsetof(E, pending) + 8 || (f >= offsetof(E, counters) && f < 160)) continue;
    }
    const std::size_t c = i - d::kBodyOffset;
    const std::size_t ne = offsetof(d::QueueControl, not_empty) + 8;
    const std::size_t nf = offsetof(d::QueueControl, not_full) + 8;
    if (i >= d::kBodyOffset && ((c >= ne && c < ne + 8) || (c >= nf && c < nf + 8))) continue;
    std::fprintf(stderr, "open changed byte %zu: %#04x -> %#04x\n", i,
                 static_cast<unsigned>(before[i]), static_cast<unsigned>(now[i]));
    invariant_failed("W-ANY: opening a queue wrote outside the registry, retired and waiters");
  }
}

// A read-only call (inspect, peek_messages) wrote nothing.
SHMQ_FUZZ_UNTRACED void check_unchanged(const std::vector<std::byte>& before, const std::byte* now,
                                        const char* what) {
  if (!before.empty() && std::memcmp(before.data(), now, before.size()) != 0) {
    std::fprintf(stderr, "%s changed the segment\n", what);
    invariant_failed("W-ANY: an observer wrote into the segment");
  }
}

// The patched file, mapped (shared, read-only) to watch what the library writes.
struct Mapping {
  const std::byte* base = nullptr;
  std::size_t size = 0;
  std::vector<std::byte> snapshot() const { return std::vector<std::byte>(base, base + size); }
};

template <class T>
void drive(const std::string& name, const Mapping& file, ValueOracle<T>& oracle, Trust trust) {
  const std::vector<std::byte> before = file.snapshot();
  try {
    auto q = shmq::Queue<T>::open(name, shmq::WaitPolicy{0, std::chrono::milliseconds(1)});
    check_attach(before, file.base);
    const d::Segment& seg = shmq::detail::core_of(q).segment();
    SegmentWatch watch(file.base, file.size, seg.self_index());
    const bool healthy = trust == Trust::healthy;
    const auto trust_now = [trust] { return trust; };
    for (int i = 0; i < 4; ++i) {
      for (const unsigned which : {1U, 0U, 3U}) {  // try_get, try_put, get_for(0)
        watch.before();
        const OpClass c =
            shmq::fuzz::queue_op(q, which, 0, std::chrono::milliseconds(0), oracle, trust_now);
        watch.after(c, healthy);
      }
    }
    watch.before();
    (void)q.size();
    (void)q.full();
    watch.after(OpClass::read_only, healthy);
  } catch (const shmq::Error& e) {
    check_attach(before, file.base);
    if (trust == Trust::healthy) {
      std::fprintf(stderr, "open: %s\n", e.what());
      invariant_failed("an unpatched queue segment did not open");
    }
  }
}

// Opens a queue of std::string as Queue<std::uint64_t>: refused (type_mismatch) unless a patch
// changed the element type, in which case its values mean nothing.
void drive_as_wrong_type(const std::string& name, const Mapping& file, Trust trust) {
  const std::vector<std::byte> before = file.snapshot();
  try {
    auto q =
        shmq::Queue<std::uint64_t>::open(name, shmq::WaitPolicy{0, std::chrono::milliseconds(1)});
    check_attach(before, file.base);
    if (trust == Trust::healthy) invariant_failed("a queue of strings opened as Queue<uint64_t>");
    ValueOracle<std::uint64_t> oracle(8);
    std::uint64_t out = 0;
    (void)q.try_get(out);
    (void)q.try_put(9);
  } catch (const shmq::Error& e) {
    check_attach(before, file.base);
    if (trust == Trust::healthy && !is(e, shmq::Errc::type_mismatch))
      invariant_failed("a queue of strings opened as Queue<uint64_t>: not type_mismatch");
  }
}

template <class T>
std::vector<std::byte> encode(const T& v) {
  std::vector<std::byte> b(shmq::fuzz::encoded_size(v));
  if constexpr (std::is_same_v<T, std::string>) {
    if (!b.empty()) std::memcpy(b.data(), v.data(), b.size());
  } else {
    std::memcpy(b.data(), &v, sizeof(v));
  }
  return b;
}

template <class T>
void observe(const std::string& name, const Mapping& file, const ValueOracle<T>& oracle,
             Trust trust) {
  const std::vector<std::byte> before = file.snapshot();
  try {
    (void)shmq::inspect(name);
    check_unchanged(before, file.base, "inspect");
    const auto messages = shmq::peek_messages(name, 16);
    check_unchanged(before, file.base, "peek_messages");
    if (trust == Trust::healthy) {
      const auto& model = oracle.model();
      bool same = messages.size() == model.size();
      for (std::size_t i = 0; same && i < messages.size(); ++i)
        same = model[i].has_value() && messages[i] == encode(*model[i]);
      if (!same) invariant_failed("peek_messages did not show the values queued");
    }
  } catch (const shmq::Error& e) {
    check_unchanged(before, file.base, "inspect/peek_messages");
    if (trust == Trust::healthy) {
      std::fprintf(stderr, "inspect: %s\n", e.what());
      invariant_failed("an unpatched queue segment could not be inspected");
    }
  }
}

template <class T>
void run(Input& in, const std::string& name, const shmq::QueueOptions& opt) {
  auto created = shmq::Queue<T>::create(name, opt);
  ValueOracle<T> oracle(static_cast<std::uint32_t>(created.max_message()));
  const unsigned preload = in.take<std::uint8_t>() % (opt.capacity + 1);
  for (unsigned i = 0; i < preload; ++i) {
    const T v = oracle.make();
    if (created.try_put(v) != shmq::Status::ok) invariant_failed("a preload put failed");
    oracle.put(v);
  }
  const auto& ctl = shmq::detail::core_of(created).control();
  const std::size_t slots = ctl.slots_offset;
  const std::size_t stride = ctl.slot_stride;
  const bool packed = (ctl.flags & d::kFlagPacked) != 0;
  created = shmq::Queue<T>();  // the creator detaches

  // Patch the file as a hostile peer would, after its creator detached.
  const std::string path = d::segment_path(name);
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return;
  const std::vector<std::byte> pristine = read_file(fd);
  const off_t file_size = static_cast<off_t>(pristine.size());
  while (!in.empty() && file_size > 0) {
    const auto op = in.take<std::uint8_t>();
    const auto where = in.take<std::uint16_t>();
    if (op % 8 == 7) {
      // Truncate (or extend) the file.
      (void)::ftruncate(fd, static_cast<off_t>(where % (file_size + 64)));
      continue;
    }
    const auto value = in.take<std::uint64_t>();
    const std::size_t len = 1 + op % 8;
    (void)::pwrite(fd, &value, len, static_cast<off_t>(where % file_size));
  }
  const std::vector<std::byte> patched = read_file(fd);
  const Trust trust = judge_patches(pristine, patched, slots, stride, packed);
  Mapping file;
  void* map =
      patched.empty() ? MAP_FAILED : ::mmap(nullptr, patched.size(), PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return;
  file.base = static_cast<const std::byte*>(map);
  file.size = patched.size();

  if (opener_would_wait(patched)) {
    // Users would wait 2 s (0.5 s) for a creator that is gone; the verdict must be not_ready.
    for (const bool observer : {false, true}) {
      try {
        if (observer) {
          (void)d::Segment::observe(name, std::chrono::milliseconds(0));
        } else {
          (void)d::Segment::open(name, d::SegmentKind::queue, std::chrono::milliseconds(0));
        }
        invariant_failed("a segment that is not ready opened");
      } catch (const shmq::Error& e) {
        if (!is(e, shmq::Errc::not_ready)) invariant_failed("not ready, but not Errc::not_ready");
      }
    }
  } else {
    drive<T>(name, file, oracle, trust);
    if constexpr (std::is_same_v<T, std::string>) {
      drive_as_wrong_type(name, file, trust);
    } else {
      drive<T>(name, file, oracle, trust);  // a second handle takes over
    }
    observe<T>(name, file, oracle, trust);
  }
  ::munmap(map, file.size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  const auto shape = in.take<std::uint8_t>();
  shmq::QueueOptions opt;
  opt.producers = (shape & 2) ? shmq::Producers::many : shmq::Producers::one;
  opt.consumers = (shape & 4) ? shmq::Consumers::many : shmq::Consumers::one;
  opt.capacity = 1ULL << ((shape >> 3) & 3);
  opt.max_message = 32;
  opt.wait = shmq::WaitPolicy{0, std::chrono::milliseconds(1)};
  const std::string name = shmq::fuzz::fuzz_name("open");
  d::Segment::remove(name);
  if (shape & 1) {
    run<std::string>(in, name, opt);
  } else {
    run<std::uint64_t>(in, name, opt);
  }
  d::Segment::remove(name);
  return 0;
}
