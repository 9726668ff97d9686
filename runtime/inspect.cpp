#include "shmq/inspect.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>

#include <fmt/format.h>

#include "manager_control.hpp"
#include "manager_journal.hpp"
#include "shmq/detail/layout.hpp"
#include "shmq/detail/manager/manager_client.hpp"
#include "shmq/detail/queue_core.hpp"
#include "shmq/detail/segment.hpp"
#include "shmq/error.hpp"
#include "type_names.hpp"

namespace shmq {

namespace {

using detail::Counters;
using detail::RegistryEntry;
using detail::Segment;

constexpr const char* kShmDir = "/dev/shm";

CounterSnapshot snapshot(const Counters& c) noexcept {
  // relaxed: statistics written by their owners; a racy snapshot by contract.
  constexpr auto r = std::memory_order_relaxed;
  CounterSnapshot s;
#define SHMQ_LOAD_COUNTER(name) s.name = c.name.load(r);
  SHMQ_COUNTERS(SHMQ_LOAD_COUNTER)
#undef SHMQ_LOAD_COUNTER
  return s;
}

std::uint32_t pid_of(const Segment& seg, std::uint64_t token) noexcept {
  if ((token & 0xFFU) == 0) return 0;
  const std::uint32_t index = detail::token_index(token);
  if (index >= detail::kRegistryCapacity || !seg.is_alive(token)) return 0;
  return seg.entry(index).pid.load(std::memory_order_relaxed);  // relaxed: for display
}

QueueState queue_state(const Segment& seg) {
  const auto& ctl =
      *reinterpret_cast<const detail::QueueControl*>(seg.base() + detail::kBodyOffset);
  const detail::SlotRing::Config cfg = detail::validate_queue_control(seg, ctl, nullptr);
  QueueState q;
  q.mode = fmt::format("{}p{}c", cfg.multi_producer ? "m" : "s", cfg.multi_consumer ? "m" : "s");
  const std::uint64_t element_size = ctl.element_size;
  q.element = ctl.element_kind == static_cast<std::uint32_t>(detail::ElementKind::fixed)
                  ? fmt::format("fixed:{}", element_size)
                  : std::string("bytes");
  if (ctl.element_type != 0) {
    const std::string stored = detail::stored_type_name(ctl.element_type_name);
    if (!stored.empty()) q.element_type = detail::readable_type_names(stored);
  }
  q.capacity = cfg.capacity;
  q.slot_stride = cfg.stride;
  q.max_message = cfg.max_message;
  q.packed = cfg.packed;
  q.asymmetric_fences = cfg.asymmetric_fences;
  // relaxed: a snapshot for display. Head, tail, then head again unchanged, so that the pair
  // was true at one instant (tail read between two equal heads: depth within INV-R1) unless the
  // queue moved between the two head loads every time.
  for (int attempt = 0; attempt < 64; ++attempt) {
    q.head = ctl.head.load(std::memory_order_relaxed);
    q.tail = ctl.tail.load(std::memory_order_relaxed);
    if (ctl.head.load(std::memory_order_relaxed) == q.head) break;
  }
  const std::int64_t depth = detail::distance(q.tail, q.head);
  q.depth = depth <= 0 ? 0 : std::min<std::uint64_t>(static_cast<std::uint64_t>(depth), q.capacity);
  q.closed = ctl.closed.load(std::memory_order_relaxed) != 0;
  // relaxed: a snapshot for display; one bit per registry entry with a sleeper (INV-E1).
  q.sleepers_not_empty = static_cast<std::uint32_t>(
      std::popcount(ctl.not_empty.waiters.load(std::memory_order_relaxed)));
  q.sleepers_not_full = static_cast<std::uint32_t>(
      std::popcount(ctl.not_full.waiters.load(std::memory_order_relaxed)));
  if (!cfg.multi_producer)
    q.producer_pid = pid_of(seg, ctl.producer_owner.load(std::memory_order_relaxed));
  if (!cfg.multi_consumer)
    q.consumer_pid = pid_of(seg, ctl.consumer_owner.load(std::memory_order_relaxed));
  return q;
}

// A queue of fixed-size elements does not count bytes on its hot path (queue.hpp, count_put):
// they are msgs × the element size.
void derive_fixed_bytes(const Segment& seg, SegmentReport& r) noexcept {
  const auto& ctl =
      *reinterpret_cast<const detail::QueueControl*>(seg.base() + detail::kBodyOffset);
  if (ctl.element_kind != static_cast<std::uint32_t>(detail::ElementKind::fixed)) return;
  const std::uint64_t size = ctl.element_size;  // validated by queue_state()
  const auto derive = [size](CounterSnapshot& c) {
    c.bytes_put = c.msgs_put * size;
    c.bytes_got = c.msgs_got * size;
  };
  derive(r.totals);
  for (AttachedProcess& p : r.processes)
    derive(p.counters);
}

// The size of file `path`, none if it is absent.
std::optional<std::uint64_t> file_size(const std::string& path) noexcept {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return static_cast<std::uint64_t>(st.st_size);
}

// The ids of Manager `manager`'s clients: the N.c<id> reply queues in the directory, by id.
std::vector<std::uint64_t> reply_queue_ids(std::string_view manager) {
  std::vector<std::uint64_t> ids;
  const std::string prefix = fmt::format("{}.c", manager);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(kShmDir, ec)) {
    const std::string file = entry.path().filename().string();
    if (!file.starts_with(prefix) || file.size() == prefix.size()) continue;
    const std::string_view digits = std::string_view(file).substr(prefix.size());
    if (digits.size() > 19 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    ids.push_back(std::stoull(std::string(digits)));
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

ManagerState manager_state(const Segment& seg) {
  const detail::ManagerConfig cfg = detail::validate_manager_control(seg);
  const detail::ManagerControl& ctl = detail::manager_control(seg);
  ManagerState m;
  m.request_capacity = cfg.request_capacity;
  m.reply_capacity = cfg.reply_capacity;
  m.max_message = cfg.max_message;
  // relaxed: a racy snapshot by contract (documented in inspect.hpp); nothing is read through it.
  constexpr auto r = std::memory_order_relaxed;
  m.state = ctl.state.load(r) == detail::kManagerStateShutDown ? "shut down" : "serving";
  m.epoch = ctl.epoch.load(r);
  m.server_pid = ctl.server_pid.load(r);
  const std::uint64_t server = ctl.server_token.load(r);
  m.server_alive = server != 0 && seg.is_alive(server);
  m.clients_ever = ctl.next_client_id.load(r);
  m.requests = ctl.requests.load(r);
  m.malformed = ctl.malformed.load(r);
  m.dead_clients = ctl.dead_clients.load(r);
  // A client holds the consumer role of its reply queue for as long as it lives.
  for (const std::uint64_t id : reply_queue_ids(seg.name())) {
    ManagerClientState c;
    c.id = id;
    try {
      const SegmentReport replies = inspect(detail::manager_reply_name(seg.name(), id));
      if (replies.queue) c.pid = replies.queue->consumer_pid;
    } catch (const Error&) {
      // Being made or removed right now, or not a queue: a client without a reader.
    }
    c.alive = c.pid != 0;
    m.clients.push_back(c);
  }
  m.journal_bytes = file_size(detail::manager_journal_path(seg.name()));
  return m;
}

// Nobody records roles in a manager's registry: the live entry that claimed the manager is its
// server (serving, or replaying before it serves), every other live entry a client.
void mark_manager_roles(const Segment& seg, std::vector<AttachedProcess>& processes) noexcept {
  // relaxed: for display.
  const std::uint64_t claim =
      detail::manager_control(seg).claim_token.load(std::memory_order_relaxed);
  const bool claimed = claim != 0 && seg.is_alive(claim);
  for (AttachedProcess& p : processes) {
    if (!p.alive) continue;
    const bool server = claimed && detail::token_index(claim) == p.index;
    p.roles |= server ? detail::kRoleServer : detail::kRoleClient;
  }
}

// What segment `name` still holds (see Backlog); nothing for one that cannot be read.
Backlog backlog_of(std::string_view name) {
  Backlog b;
  try {
    const Segment seg = Segment::observe(name);
    switch (static_cast<detail::SegmentKind>(seg.info().kind)) {
      case detail::SegmentKind::queue:
        b.messages = queue_state(seg).depth;
        break;
      case detail::SegmentKind::pipe: {
        if (seg.info().body_bytes < sizeof(detail::PipeControl)) break;
        const auto& ctl =
            *reinterpret_cast<const detail::PipeControl*>(seg.base() + detail::kBodyOffset);
        for (std::uint32_t i = 0; i < std::min<std::uint32_t>(ctl.ring_count, 2); ++i) {
          const detail::ByteRingData& ring = ctl.rings[i];
          // relaxed: a racy snapshot; nobody is attached to move them.
          const std::int64_t unread = detail::distance(ring.tail.load(std::memory_order_relaxed),
                                                       ring.head.load(std::memory_order_relaxed));
          if (unread > 0) {
            b.unread_bytes +=
                std::min<std::uint64_t>(static_cast<std::uint64_t>(unread), ring.capacity);
          }
        }
        break;
      }
      case detail::SegmentKind::manager: {
        // A new server on a name made again starts with an empty journal: the records are lost.
        const std::uint64_t journal = file_size(detail::manager_journal_path(name)).value_or(0);
        b.journal_bytes = journal > sizeof(detail::mgr::kJournalMagic)
                              ? journal - sizeof(detail::mgr::kJournalMagic)
                              : 0;
        break;
      }
      default:
        break;
    }
  } catch (const Error&) {
    // Corrupt or incompatible: nothing in it can be read back, so nothing is kept for it.
  }
  return b;
}

}  // namespace

CounterSnapshot& CounterSnapshot::operator+=(const CounterSnapshot& o) noexcept {
  for (const CounterField& f : kCounterFields)
    this->*f.member += o.*f.member;
  return *this;
}

std::string AttachedProcess::role_names() const {
  std::string out;
  const auto add = [&](std::uint32_t bit, const char* what) {
    if ((roles & bit) == 0) return;
    if (!out.empty()) out += ',';
    out += what;
  };
  add(detail::kRoleProducer, "producer");
  add(detail::kRoleConsumer, "consumer");
  add(detail::kRoleServer, "server");
  add(detail::kRoleClient, "client");
  return out.empty() ? "-" : out;
}

std::size_t SegmentReport::live_processes() const noexcept {
  std::size_t n = 0;
  for (const auto& p : processes)
    n += p.alive ? 1 : 0;
  return n;
}

SegmentReport inspect(std::string_view name) {
  const Segment seg = Segment::observe(name);
  const detail::SegmentInfo& info = seg.info();
  SegmentReport r;
  r.name = std::string(name);
  r.kind = detail::kind_name(info.kind);
  r.layout_version = info.layout_version;
  r.size_bytes = info.total_bytes;
  r.created_unix_ns = info.created_unix_ns;
  r.creator_pid = info.creator_pid;
  r.totals = snapshot(seg.shared_header().retired);
  for (std::uint32_t i = 0; i < detail::kRegistryCapacity; ++i) {
    const RegistryEntry& e = seg.entry(i);
    // acquire: pairs with [R3] in Segment attach: identity fields of a used entry.
    if (e.generation.load(std::memory_order_acquire) == 0) continue;  // never used
    AttachedProcess p;
    p.index = i;
    // relaxed: display fields, written by the entry's owner before [R3].
    p.pid = e.pid.load(std::memory_order_relaxed);
    p.roles = e.roles.load(std::memory_order_relaxed);
    p.attached_unix_ns = e.attached_unix_ns.load(std::memory_order_relaxed);
    p.alive = seg.entry_alive(i);
    p.counters = snapshot(e.counters);
    r.totals += p.counters;
    r.processes.push_back(std::move(p));
  }
  if (info.kind == static_cast<std::uint32_t>(detail::SegmentKind::queue)) {
    r.queue = queue_state(seg);
    derive_fixed_bytes(seg, r);
  }
  if (info.kind == static_cast<std::uint32_t>(detail::SegmentKind::manager)) {
    r.manager = manager_state(seg);
    mark_manager_roles(seg, r.processes);
  }
  return r;
}

std::optional<std::string> journal_owner(std::string_view name) {
  std::string_view owner = name;
  for (const std::string_view suffix : {".journal", ".journal.tmp"}) {
    if (name.ends_with(suffix)) owner = name.substr(0, name.size() - suffix.size());
  }
  if (owner.size() == name.size() || owner.empty()) return std::nullopt;
  const int fd =
      ::open(detail::segment_path(name).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return std::nullopt;
  char magic[sizeof(detail::mgr::kJournalMagic)] = {};
  const ssize_t got = ::pread(fd, magic, sizeof(magic), 0);
  ::close(fd);
  if (got != static_cast<ssize_t>(sizeof(magic)) ||
      std::memcmp(magic, detail::mgr::kJournalMagic, sizeof(magic)) != 0) {
    return std::nullopt;
  }
  return std::string(owner);
}

std::vector<ListedSegment> list_segments() {
  std::vector<ListedSegment> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(kShmDir, ec)) {
    struct stat st {};
    if (::lstat(entry.path().c_str(), &st) != 0 || st.st_uid != geteuid()) continue;
    ListedSegment item;
    item.name = entry.path().filename().string();
    item.size_bytes = static_cast<std::uint64_t>(st.st_size);
    if (!S_ISREG(st.st_mode)) {
      item.error = "not a regular file";
      item.code = make_error_code(Errc::not_a_segment);
    } else if (std::optional<std::string> owner = journal_owner(item.name)) {
      item.journal_of = std::move(*owner);
    } else {
      try {
        item.report = inspect(item.name);
      } catch (const Error& e) {
        item.error = e.what();
        item.code = e.code();
      }
    }
    out.push_back(std::move(item));
  }
  std::sort(out.begin(), out.end(),
            [](const ListedSegment& a, const ListedSegment& b) { return a.name < b.name; });
  return out;
}

namespace {

// A packed ring (packed_ring.hpp) has no per-slot seq: the indices are the publication. An
// element is copied, then head is read again: if the consumer has not freed the position, the
// producer cannot have rewritten it and the copy is whole.
std::vector<std::vector<std::byte>> peek_packed(const detail::QueueControl& ctl,
                                                const std::byte* data,
                                                const detail::SlotRing::Config& cfg,
                                                std::size_t max) {
  std::vector<std::vector<std::byte>> out;
  // relaxed: head is re-checked after each copy below.
  const std::uint64_t head = ctl.head.load(std::memory_order_relaxed);
  // [A12'] as a consumer's [A12]: the elements below tail are written (pairs with [R11]).
  const std::uint64_t tail = ctl.tail.load(std::memory_order_acquire);
  const std::int64_t depth = detail::distance(tail, head);
  if (depth <= 0 || depth > static_cast<std::int64_t>(cfg.capacity)) return out;  // INV-P1
  for (std::uint64_t pos = head; pos != tail && out.size() < max; ++pos) {
    std::vector<std::byte> copy(cfg.stride);
    std::memcpy(copy.data(), data + (pos & (cfg.capacity - 1)) * cfg.stride, cfg.stride);
    // Seqlock-style re-check: order the copy before the re-read of head.
    std::atomic_thread_fence(std::memory_order_acquire);
    // relaxed: after the fence.
    if (detail::distance(ctl.head.load(std::memory_order_relaxed), pos) > 0) continue;  // freed
    out.push_back(std::move(copy));
  }
  return out;
}

}  // namespace

std::vector<std::vector<std::byte>> peek_messages(std::string_view name, std::size_t max) {
  const Segment seg = Segment::observe(name);
  if (seg.info().kind != static_cast<std::uint32_t>(detail::SegmentKind::queue)) {
    throw Error(
        Errc::wrong_kind, name,
        fmt::format("a {} segment; only queues can be dumped", detail::kind_name(seg.info().kind)));
  }
  const auto& ctl =
      *reinterpret_cast<const detail::QueueControl*>(seg.base() + detail::kBodyOffset);
  const detail::SlotRing::Config cfg = detail::validate_queue_control(seg, ctl, nullptr);
  if (cfg.packed) return peek_packed(ctl, seg.base() + detail::kQueueSlotsOffset, cfg, max);
  std::vector<std::vector<std::byte>> out;
  // relaxed: tickets; each slot is validated through its own seq (acquire) below.
  const std::uint64_t head = ctl.head.load(std::memory_order_relaxed);
  const std::uint64_t tail = ctl.tail.load(std::memory_order_relaxed);
  const std::int64_t depth = detail::distance(tail, head);
  const std::uint64_t n =
      depth <= 0 ? 0 : std::min<std::uint64_t>(static_cast<std::uint64_t>(depth), cfg.capacity);
  std::byte* slots = seg.base() + detail::kQueueSlotsOffset;
  for (std::uint64_t i = 0; i < n && out.size() < max; ++i) {
    const std::uint64_t pos = head + i;
    const auto* slot = reinterpret_cast<const detail::SlotHeader*>(
        slots + (pos & (cfg.capacity - 1)) * cfg.stride);
    // [A2'] as a consumer's [A2]: the producer of pos finished writing (pairs with [R1]).
    if (slot->seq.load(std::memory_order_acquire) != pos + 1) continue;     // unpublished or taken
    const std::uint32_t size = slot->size.load(std::memory_order_relaxed);  // relaxed: after [A2']
    if (size == detail::kSkipSize) continue;
    if (size > cfg.max_message) break;  // corrupt: stop rather than guess
    std::vector<std::byte> copy(size);
    if (size != 0)
      std::memcpy(copy.data(),
                  reinterpret_cast<const std::byte*>(slot) + detail::kSlotPayloadOffset, size);
    // Seqlock-style re-check: order the copy before the re-read of seq. If the slot moved on
    // meanwhile, the copy may be torn: drop it.
    std::atomic_thread_fence(std::memory_order_acquire);
    if (slot->seq.load(std::memory_order_relaxed) != pos + 1) continue;  // relaxed: after the fence
    out.push_back(std::move(copy));
  }
  return out;
}

bool remove_segment(std::string_view name, bool force) {
  detail::validate_name(name);
  if (!force) {
    try {
      const SegmentReport r = inspect(name);
      if (const std::size_t live = r.live_processes(); live != 0) {
        throw Error(Errc::role_taken, name,
                    fmt::format("{} live process{} attached (use --force to unlink anyway)", live,
                                live == 1 ? " is" : "es are"));
      }
    } catch (const Error& e) {
      if (e.code() == make_error_code(Errc::not_found)) return false;
      if (e.code() == make_error_code(Errc::role_taken)) throw;
      // A corrupt or foreign file has no registry to consult: unlinking it is what rm is for.
    }
  }
  return Segment::remove(name);
}

std::vector<GcEntry> collect_garbage(bool dry_run, std::string_view prefix, BacklogPolicy backlog) {
  std::vector<GcEntry> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(kShmDir, ec)) {
    struct stat st {};
    if (!entry.path().filename().string().starts_with(prefix)) continue;
    if (::lstat(entry.path().c_str(), &st) != 0 || st.st_uid != geteuid() || !S_ISREG(st.st_mode)) {
      continue;
    }
    const int fd = ::open(entry.path().c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) continue;
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }
    } closer{fd};
    unsigned char raw[sizeof(detail::SegmentHeader)] = {};
    const ssize_t got = ::pread(fd, raw, sizeof(raw), 0);
    std::uint64_t magic = 0;
    std::uint32_t ready = 0;
    if (got == static_cast<ssize_t>(sizeof(raw))) {
      std::memcpy(&magic, raw + offsetof(detail::SegmentHeader, magic), sizeof(magic));
      std::memcpy(&ready, raw + offsetof(detail::SegmentHeader, ready), sizeof(ready));
    }
    // Only files with shmq's magic are ours (a creator writes it right after O_EXCL).
    if (magic != detail::kMagic) continue;
    // Holding the init lock keeps a creator from starting meanwhile; a creator holding it now
    // is alive and busy.
    if (!detail::ofd_try_lock(fd, detail::kInitLockByte, F_WRLCK)) continue;
    GcEntry item;
    item.name = entry.path().filename().string();
    bool live = false;
    for (std::uint32_t i = 0; i < detail::kRegistryCapacity && !live; ++i) {
      live = detail::ofd_is_locked(fd, detail::kRegistryLockBase + i);
    }
    if (live) continue;
    if (ready != detail::kReadyValue) {
      item.reason = "its creator died before it was ready";
    } else {
      item.reason = "no live process attached";
      item.backlog = backlog_of(item.name);
      item.kept = backlog == BacklogPolicy::keep && !item.backlog.empty();
    }
    if (!dry_run && !item.kept) {
      struct stat by_name {};
      struct stat by_fd {};
      if (::stat(entry.path().c_str(), &by_name) == 0 && ::fstat(fd, &by_fd) == 0 &&
          by_name.st_ino == by_fd.st_ino && by_name.st_dev == by_fd.st_dev) {
        item.removed = ::unlink(entry.path().c_str()) == 0;
      }
    }
    out.push_back(std::move(item));
  }
  std::sort(out.begin(), out.end(),
            [](const GcEntry& a, const GcEntry& b) { return a.name < b.name; });
  return out;
}

}  // namespace shmq
