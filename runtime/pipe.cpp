// Pipe / Connection: two ends over SPSC byte rings in one segment (layout.hpp, "Pipe").
//
// Who holds an end is the registry's business: an entry with the end's role bit whose OFD lock
// is held (detail/segment.hpp). A peer is gone when no such entry exists; the scan costs a load
// per entry and one F_OFD_GETLK per candidate, so it runs only when a ring would block, when the
// peer's close_epoch moved (a close() anywhere), and otherwise at most about once a millisecond
// per direction (PeerWatch).
#include "shmq/pipe.hpp"
#include "fork_list.hpp"
#include "shmq/detail/shm_access.hpp"

#include <pthread.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <mutex>
#include <new>
#include <thread>

#include <fmt/format.h>

#include "shmq/detail/access.hpp"
#include "shmq/detail/layout.hpp"
#include "shmq/detail/ring/byte_ring.hpp"
#include "shmq/detail/segment.hpp"
#include "shmq/detail/wait/event_count.hpp"
#include "shmq/error.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

namespace shmq {

namespace {

// Connection::Impl is private; the helpers below are not Connection's members.
using ConnectionImpl = detail::PipeAccess::Impl;
using detail::ByteRing;
using detail::Deadline;
using detail::kRegistryCapacity;
using detail::PipeControl;
using detail::Segment;

// A cheap clock for rate-limiting liveness checks: the TSC where there is one (a few ns, no
// syscall even where the vDSO clock falls back to one), else steady_clock.
std::uint64_t ticks() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  return __rdtsc();
#else
  return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
#endif
}
#if defined(__x86_64__) || defined(__i386__)
constexpr std::uint64_t kCheckInterval = 1ULL << 21;  // TSC ticks: 0.5-1 ms at 2-4 GHz
#else
constexpr std::uint64_t kCheckInterval = 1'000'000;  // ns
#endif

constexpr auto kOpenerTimeout = std::chrono::milliseconds(2000);
constexpr std::uint64_t kReserveLimit = 64ULL << 20;  // recv reserves at most this up front

std::uint32_t role_bit(End e) noexcept {
  return e == End::first ? detail::kRolePipeFirst : detail::kRolePipeSecond;
}
std::size_t index_of(End e) noexcept {
  return e == End::first ? 0 : 1;
}
End other(End e) noexcept {
  return e == End::first ? End::second : End::first;
}
const char* end_name(End e) noexcept {
  return e == End::first ? "first" : "second";
}

struct PipeConfig {
  std::uint64_t capacity = 0;
  std::uint64_t max_message = 0;
  std::uint32_t ring_count = 0;
  bool duplex = false;
};

// Each ring the pipe has sits where its geometry says, with positions a live ring can hold;
// a one-way pipe has no second ring.
void check_rings(const std::string& name, const PipeControl& ctl, const PipeConfig& cfg) {
  for (std::uint32_t i = 0; i < 2; ++i) {
    const detail::ByteRingData& ring = ctl.rings[i];
    const std::uint64_t capacity = ring.capacity;
    const std::uint64_t data_offset = ring.data_offset;
    if (i >= cfg.ring_count) {
      if (capacity != 0) throw Error(Errc::corrupt, name, "a one-way pipe with a second ring");
      continue;
    }
    if (capacity != cfg.capacity || data_offset != detail::kPipeDataOffset + i * cfg.capacity) {
      throw Error(Errc::corrupt, name,
                  fmt::format("ring {} of {} bytes at {}", i, capacity, data_offset));
    }
    // relaxed: a snapshot for a sanity check; every legal state satisfies INV-B1 and INV-B2.
    const std::uint64_t tail = detail::shm_load(ring.tail, std::memory_order_relaxed);
    const std::uint64_t head = detail::shm_load(ring.head, std::memory_order_relaxed);
    const auto used = static_cast<std::int64_t>(tail - head);
    if (used < 0 || used > static_cast<std::int64_t>(cfg.capacity) ||
        ((tail | head) & (detail::kPipeRecordAlign - 1)) != 0) {
      throw Error(
          Errc::corrupt, name,
          fmt::format("ring {}: tail {} and head {}, capacity {}", i, tail, head, cfg.capacity));
    }
  }
}

// Checks the pipe control block against the segment once; returns the private copy to use.
PipeConfig validate_control(const Segment& seg) {
  const std::string& name = seg.name();
  const detail::SegmentInfo& info = seg.info();
  if (info.body_bytes != sizeof(PipeControl)) {
    throw Error(Errc::corrupt, name,
                fmt::format("pipe control block of {} bytes, expected {}", info.body_bytes,
                            sizeof(PipeControl)));
  }
  const auto& ctl = *reinterpret_cast<const PipeControl*>(seg.base() + detail::kBodyOffset);
  PipeConfig cfg;
  cfg.capacity = ctl.ring_capacity;
  cfg.max_message = ctl.max_message;
  const std::uint32_t flags = ctl.flags;
  cfg.ring_count = ctl.ring_count;
  cfg.duplex = (flags & detail::kPipeFlagDuplex) != 0;
  if (cfg.capacity < detail::kPipeMinCapacity || cfg.capacity > detail::kPipeMaxCapacity ||
      !std::has_single_bit(cfg.capacity)) {
    throw Error(Errc::corrupt, name,
                fmt::format("ring capacity {} is not a power of two in {}..{}", cfg.capacity,
                            detail::kPipeMinCapacity, detail::kPipeMaxCapacity));
  }
  if ((flags & ~detail::kPipeFlagDuplex) != 0) {
    throw Error(Errc::corrupt, name, fmt::format("unknown pipe flags {:#x}", flags));
  }
  if (cfg.ring_count != (cfg.duplex ? 2U : 1U)) {
    throw Error(
        Errc::corrupt, name,
        fmt::format("{} rings in a {} pipe", cfg.ring_count, cfg.duplex ? "duplex" : "one-way"));
  }
  if (cfg.max_message == 0 || cfg.max_message > detail::kPipeMaxMessage) {
    throw Error(Errc::corrupt, name, fmt::format("max_message {}", cfg.max_message));
  }
  const std::uint64_t expected_total = detail::kPipeDataOffset + cfg.ring_count * cfg.capacity;
  if (info.total_bytes != expected_total) {
    throw Error(Errc::corrupt, name,
                fmt::format("{} rings of {} bytes need {} bytes, the segment has {}",
                            cfg.ring_count, cfg.capacity, expected_total, info.total_bytes));
  }
  check_rings(name, ctl, cfg);
  return cfg;
}

// What a peer watch remembers between checks of one direction.
struct PeerWatch {
  std::uint32_t seen_epoch = 0;
  std::uint64_t last_check = 0;
  bool checked = false;
  bool gone = false;                       // the last check found nobody
  std::uint32_t hint = kRegistryCapacity;  // where a holder was found last
};

}  // namespace

struct Connection::Impl {
  std::shared_ptr<Segment> seg;
  PipeControl* ctl = nullptr;
  End end = End::first;
  ByteRing in;   // messages to this end; invalid if this end cannot receive
  ByteRing out;  // messages from this end; invalid if this end cannot send
  std::uint64_t max_message = 0;
  std::uint32_t ring_count = 0;  // validated: 2 if duplex, else 1
  WaitPolicy wait{};
  bool holding = false;  // this handle's role bit is set in seg->self()
  PeerWatch send_watch;
  PeerWatch recv_watch;
  Impl* prev = nullptr;  // the process-wide list of handles, for the fork handler
  Impl* next = nullptr;

  detail::Counters& counters() const noexcept { return seg->self().counters; }
  detail::PipeEndData& my_end() const noexcept { return ctl->ends[index_of(end)]; }
  detail::PipeEndData& peer_end() const noexcept { return ctl->ends[index_of(other(end))]; }

  // Whether registry entry `i` is a live holder of the peer's end.
  bool holds_peer(std::uint32_t i) const noexcept {
    // [A22] see the holder's role bit and, once it is gone, everything the holder published
    // before clearing it; pairs with [R22] in close() and hold().
    const std::uint32_t roles = detail::shm_load(seg->entry(i).roles, std::memory_order_acquire);
    return (roles & role_bit(other(end))) != 0 && seg->entry_alive(i);
  }

  bool peer_held(PeerWatch& w) const noexcept {
    if (w.hint < kRegistryCapacity && holds_peer(w.hint)) return true;
    for (std::uint32_t i = 0; i < kRegistryCapacity; ++i) {
      if (i != w.hint && holds_peer(i)) {
        w.hint = i;
        return true;
      }
    }
    return false;
  }

  // Whether the peer's end was opened and has no live holder now. Scans only when `force`, when
  // the peer's close_epoch moved, when the last scan found nobody, or once per kCheckInterval.
  bool peer_gone(PeerWatch& w, bool force) const noexcept {
    // [A22] a close() bumps the epoch after clearing its role bit.
    const std::uint32_t epoch = detail::shm_load(peer_end().close_epoch, std::memory_order_acquire);
    // [A22] `opened` is stored after the first holder's role bit: seeing it, the scan below
    // sees that bit (or a later state). A stale 0 only defers the verdict to the next check.
    if (detail::shm_load(peer_end().opened, std::memory_order_acquire) == 0)
      return false;  // pending
    const std::uint64_t now = ticks();
    if (!force && w.checked && !w.gone && epoch == w.seen_epoch &&
        now - w.last_check < kCheckInterval) {
      return false;
    }
    w.seen_epoch = epoch;
    w.last_check = now;
    w.checked = true;
    // A dead holder's stores all precede the kernel's release of its lock, which the
    // F_OFD_GETLK in entry_alive() observed: a re-read of the ring after this sees them.
    w.gone = !peer_held(w);
    return w.gone;
  }

  // Sets this handle's role bit in its registry entry (create, open, and a forked child).
  void hold() noexcept {
    // [R22] announce the hold; pairs with [A22] in holds_peer().
    detail::shm_fetch_or(seg->self().roles, role_bit(end), std::memory_order_release);
    // [R22] after the bit: a peer that sees `opened` finds the bit; pairs with [A22] in
    // peer_gone().
    detail::shm_store(my_end().opened, 1, std::memory_order_release);
    holding = true;
  }

  void wake_everyone() noexcept {
    for (std::uint32_t i = 0; i < ring_count; ++i) {
      detail::wake_all(ctl->rings[i].readable);
      detail::wake_all(ctl->rings[i].writable);
    }
  }

  void notify(detail::EventCountData& ec) const noexcept {
    const long woken = detail::notify_all(ec);
    if (woken < 0) return;
    detail::bump(counters().wakes);
    if (woken == 0) seg->reap_dead_sleepers();  // registered sleepers that do not sleep
  }

  // Runs attempt(force_peer_check) until it returns something other than `would_block`:
  // spinning first, then sleeping on `ec` in slices; each sleeping round checks the peer
  // (event_count.hpp's wait_until).
  template <class Attempt>
  Status block(detail::EventCountData& ec, Deadline deadline, Status would_block,
               Attempt&& attempt) {
    const detail::Sleeper me{counters(), seg->self_bit(), seg->sleep_gate()};
    return detail::wait_until(ec, wait, me, deadline, would_block, std::forward<Attempt>(attempt),
                              [this] { seg->reap_dead_sleepers(); });
  }

  // The next record of the incoming ring, waiting for it; Status::closed once the peer is gone
  // and the ring is drained.
  Status next_record(ByteRing::Record& r) {
    Status s = in.try_peek(r);
    if (s != Status::empty) return s;
    detail::bump(counters().empty_events);
    return block(in.data().readable, Deadline::max(), Status::empty, [&](bool force) {
      Status t = in.try_peek(r);
      if (t != Status::empty) return t;
      if (!peer_gone(recv_watch, force)) return Status::empty;
      t = in.try_peek(r);  // what the gone peer sent before it went
      return t == Status::empty ? Status::closed : t;
    });
  }

  void consume(const ByteRing::Record& r) noexcept {
    in.consume(r);
    notify(in.data().writable);
  }
};

namespace {

// In a forked child, re-announce the ends it inherited (after the segment layer gave it its own
// registry entries: its list was used first, when the first segment was made, so its pthread_atfork
// handler runs first).
void rehold_in_child(ConnectionImpl& impl) noexcept {
  if (impl.holding) impl.hold();
  impl.send_watch = {};
  impl.recv_watch = {};
}

// Every open Connection of this process.
using OpenConnections = detail::ForkList<ConnectionImpl, rehold_in_child>;

std::unique_ptr<ConnectionImpl> make_impl(const std::shared_ptr<Segment>& seg,
                                          const PipeConfig& cfg, End end, const WaitPolicy& wait) {
  auto impl = std::make_unique<ConnectionImpl>();
  impl->seg = seg;
  impl->ctl = reinterpret_cast<PipeControl*>(seg->base() + detail::kBodyOffset);
  impl->end = end;
  impl->max_message = cfg.max_message;
  impl->ring_count = cfg.ring_count;
  impl->wait = wait;
  std::byte* data = seg->base() + detail::kPipeDataOffset;
  // rings[i] carries messages to end i; a one-way pipe has only rings[0] (second -> first).
  const bool can_recv = end == End::first || cfg.duplex;
  const bool can_send = end == End::second || cfg.duplex;
  const std::size_t me = index_of(end);
  const std::size_t peer = index_of(other(end));
  if (can_recv) impl->in = ByteRing(&impl->ctl->rings[me], data + me * cfg.capacity, cfg.capacity);
  if (can_send) {
    impl->out = ByteRing(&impl->ctl->rings[peer], data + peer * cfg.capacity, cfg.capacity);
  }
  return impl;
}

// Output adapters of recv: accept(total) says whether the message fits (before anything is
// consumed); at(offset, n) gives where its bytes [offset, offset + n) go, or nullptr.
template <class Container>
struct ContainerSink {
  Container& out;
  std::size_t maxlength;
  bool accept(std::uint64_t total) {
    if (total > maxlength) return false;
    out.clear();
    try {
      // Grown as the bytes arrive: a hostile length costs nothing until it is backed by data.
      out.reserve(static_cast<std::size_t>(std::min(total, kReserveLimit)));
    } catch (const std::bad_alloc&) {
      return false;
    }
    return true;
  }
  std::byte* at(std::uint64_t offset, std::uint64_t n) {
    try {
      out.resize(static_cast<std::size_t>(offset + n));
    } catch (const std::exception&) {  // bad_alloc, length_error
      return nullptr;
    }
    return reinterpret_cast<std::byte*>(out.data()) + offset;
  }
};

struct SpanSink {
  std::span<std::byte> buffer;
  bool exact;  // the message must fill the buffer
  bool accept(std::uint64_t total) const noexcept {
    return exact ? total == buffer.size() : total <= buffer.size();
  }
  std::byte* at(std::uint64_t offset, std::uint64_t) const noexcept {
    return buffer.data() + offset;
  }
};

// Receives one whole message into `sink`.
template <class Sink>
Status recv_message(ConnectionImpl* m, Sink& sink, std::uint64_t& size) {
  if (m == nullptr || !m->in.valid()) return Status::closed;
  ByteRing::Record r;
  Status s = m->next_record(r);
  for (;;) {
    if (s != Status::ok) return s;
    if (!r.first) {
      // A continuation without its start: the rest of a message whose receiver went away or
      // gave up (too_large after a failed allocation) part way. Skip it.
      m->consume(r);
      s = m->next_record(r);
      continue;
    }
    const std::uint64_t total = r.remaining;
    if (total > m->max_message) return Status::corrupt;
    if (!sink.accept(total)) return Status::too_large;  // left in the pipe
    std::uint64_t got = 0;
    for (;;) {
      if (r.length > 0) {
        std::byte* dst = sink.at(got, r.length);
        if (dst == nullptr) {
          m->consume(r);  // the rest of the message is skipped as orphan continuations
          return Status::too_large;
        }
        m->in.copy_out(r, 0, dst, r.length);
      }
      got += r.length;
      m->consume(r);
      if (got == total) {
        detail::bump(m->counters().msgs_got);
        detail::bump(m->counters().bytes_got, total);
        size = total;
        return Status::ok;
      }
      // A message under way is received whole: shmq::interrupt() does not cut it (the part
      // taken would be lost, and the sender was told ok); the sender's death still ends it.
      while ((s = m->next_record(r)) == Status::interrupted) {
      }
      // closed: the sender went away part way; the part is dropped.
      if (s != Status::ok) return s;
      // A new message: the sender gave this one up part way (a timed-out send, or a dead
      // sender's successor). Drop the part, start over with the new one.
      if (r.first) break;
      if (r.remaining != total - got) return Status::corrupt;
    }
  }
}

}  // namespace

// ---- Connection -------------------------------------------------------------------------------

Connection::Connection() noexcept = default;
Connection::Connection(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Connection::Connection(Connection&& other) noexcept = default;
Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    close();
    impl_ = std::move(other.impl_);
  }
  return *this;
}
Connection::~Connection() {
  close();
}

End Connection::end() const noexcept {
  return impl_ ? impl_->end : End::first;
}
bool Connection::readable() const noexcept {
  return impl_ && impl_->in.valid();
}
bool Connection::writable() const noexcept {
  return impl_ && impl_->out.valid();
}
const std::string& Connection::name() const noexcept {
  static const std::string none;
  return impl_ ? impl_->seg->name() : none;
}
void Connection::set_wait_policy(const WaitPolicy& wait) noexcept {
  if (impl_) impl_->wait = wait;
}

Connection Connection::open_waiting(std::string_view name, End end,
                                    std::chrono::milliseconds appear_within,
                                    const WaitPolicy& wait) {
  return detail::open_when_created(name, appear_within, [&] { return open(name, end, wait); });
}

Connection Connection::open(std::string_view name, End end, const WaitPolicy& wait) {
  return open_end(name, end, wait, false);
}

Connection Connection::open_shared(std::string_view name, End end, const WaitPolicy& wait) {
  return open_end(name, end, wait, true);
}

Connection Connection::open_end(std::string_view name, End end, const WaitPolicy& wait,
                                bool shared) {
  auto seg = std::make_shared<Segment>(Segment::open(name, detail::SegmentKind::pipe));
  const PipeConfig cfg = validate_control(*seg);
  auto impl = make_impl(seg, cfg, end, wait);

  // Openers of one end take turns through `opener`; the creator holds it until its handles hold
  // both ends.
  std::atomic<std::uint64_t>& opener = impl->my_end().opener;
  const std::uint64_t me = seg->self_token();
  const auto deadline = std::chrono::steady_clock::now() + kOpenerTimeout;
  for (;;) {
    // [A23] see the previous opener's registration; pairs with [R23] below.
    std::uint64_t current = detail::shm_load(opener, std::memory_order_acquire);
    const bool expired = std::chrono::steady_clock::now() >= deadline;
    const bool free = current == 0 ||
                      (current == detail::kPipeOpenerCreating ? expired : !seg->is_alive(current));
    if (free) {
      // [R23]/[A23] take the turn.
      if (detail::shm_cas_strong(opener, current, me, std::memory_order_acq_rel,
                                 std::memory_order_acquire)) {
        break;
      }
      continue;
    }
    if (expired) {
      throw Error(Errc::not_ready, name,
                  fmt::format("end {} is being opened by another process", end_name(end)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  for (std::uint32_t i = 0; !shared && i < kRegistryCapacity; ++i) {
    // [A22] as in holds_peer().
    const std::uint32_t roles = detail::shm_load(seg->entry(i).roles, std::memory_order_acquire);
    if ((roles & role_bit(end)) != 0 && seg->entry_alive(i)) {
      // relaxed: the pid is for the message only.
      const std::uint32_t pid = detail::shm_load(seg->entry(i).pid, std::memory_order_relaxed);
      detail::shm_store(opener, 0, std::memory_order_release);  // [R23]
      throw Error(Errc::role_taken, name,
                  fmt::format("end {} is held by live process {}", end_name(end), pid));
    }
  }
  impl->hold();
  // [R23] hand the turn on, with our hold registered; pairs with [A23].
  detail::shm_store(opener, 0, std::memory_order_release);
  OpenConnections::insert(impl.get());
  return Connection(std::move(impl));
}

void Connection::close() noexcept {
  Impl* m = impl_.get();
  if (m == nullptr) return;
  OpenConnections::erase(m);
  if (m->holding) {
    // [R22] give the end up after everything this handle published; pairs with [A22].
    detail::shm_fetch_and(m->seg->self().roles, ~role_bit(m->end), std::memory_order_release);
    // [R22] tell peers to look: pairs with [A22] in peer_gone().
    detail::shm_fetch_add(m->my_end().close_epoch, 1, std::memory_order_release);
    m->holding = false;
    detail::bump(m->counters().closes);
    m->wake_everyone();  // [F1] inside wake_all() pairs with the sleepers' [F2]
  }
  impl_.reset();
}

Status Connection::send_bytes(std::span<const std::byte> buffer, std::size_t offset,
                              std::size_t size) {
  if (offset > buffer.size()) return Status::too_large;
  const std::size_t n = std::min(size, buffer.size() - offset);
  if (size != npos && size > buffer.size() - offset) return Status::too_large;
  return send_until(buffer.subspan(offset, n), Deadline::max());
}

Status Connection::send_until(std::span<const std::byte> bytes, Deadline deadline) {
  Impl* m = impl_.get();
  if (m == nullptr || !m->out.valid()) return Status::closed;
  if (bytes.size() > m->max_message) return Status::too_large;
  if (m->peer_gone(m->send_watch, false)) return Status::closed;
  const std::uint64_t total = bytes.size();
  std::uint64_t sent = 0;
  bool first = true;
  do {
    const std::uint64_t remaining = total - sent;
    const auto chunk =
        bytes.subspan(static_cast<std::size_t>(sent),
                      static_cast<std::size_t>(std::min(remaining, m->out.max_chunk())));
    Status s = m->out.try_write(remaining, first, chunk);
    if (s == Status::full) {
      detail::bump(m->counters().full_events);
      s = m->block(m->out.data().writable, deadline, Status::full, [&](bool force) {
        const Status t = m->out.try_write(remaining, first, chunk);
        if (t != Status::full) return t;
        return m->peer_gone(m->send_watch, force) ? Status::closed : Status::full;
      });
    }
    // closed / timeout / corrupt: a message cut short here is dropped by the receiver.
    if (s != Status::ok) return s;
    m->notify(m->out.data().readable);
    sent += chunk.size();
    first = false;
  } while (sent < total);
  detail::bump(m->counters().msgs_put);
  detail::bump(m->counters().bytes_put, total);
  return Status::ok;
}

Status Connection::recv_bytes(std::string& out, std::size_t maxlength) {
  ContainerSink<std::string> sink{out, maxlength};
  std::uint64_t size = 0;
  return recv_message(impl_.get(), sink, size);
}

Status Connection::recv_bytes(std::vector<std::byte>& out, std::size_t maxlength) {
  ContainerSink<std::vector<std::byte>> sink{out, maxlength};
  std::uint64_t size = 0;
  return recv_message(impl_.get(), sink, size);
}

Status Connection::recv_bytes_into(std::span<std::byte> buffer, std::size_t& received,
                                   std::size_t offset) {
  if (offset > buffer.size()) return Status::too_large;
  SpanSink sink{buffer.subspan(offset), false};
  std::uint64_t size = 0;
  const Status s = recv_message(impl_.get(), sink, size);
  if (s == Status::ok) received = static_cast<std::size_t>(size);
  return s;
}

Status Connection::recv_exact(std::span<std::byte> out) {
  SpanSink sink{out, true};
  std::uint64_t size = 0;
  return recv_message(impl_.get(), sink, size);
}

bool Connection::poll_until(Deadline deadline) {
  Impl* m = impl_.get();
  if (m == nullptr || !m->in.valid()) return true;  // recv() returns closed at once
  ByteRing::Record r;
  // ok: a message has started; corrupt: recv() reports it at once; closed: end-of-file.
  auto attempt = [&](bool force) {
    for (;;) {
      Status t = m->in.try_peek(r);
      if (t == Status::ok && !r.first) {  // orphan continuations are not messages
        m->consume(r);
        continue;
      }
      if (t != Status::empty) return t;
      if (!m->peer_gone(m->recv_watch, force)) return Status::empty;
      t = m->in.try_peek(r);
      if (t == Status::ok && !r.first) {
        m->consume(r);
        continue;
      }
      return t == Status::empty ? Status::closed : t;
    }
  };
  const Status s = attempt(false);
  if (s != Status::empty) return true;
  if (std::chrono::steady_clock::now() >= deadline) return false;
  const Status w = m->block(m->in.data().readable, deadline, Status::empty, attempt);
  return w != Status::timeout && w != Status::empty && w != Status::interrupted;
}

// ---- Pipe -------------------------------------------------------------------------------------

namespace {

struct Created {
  std::shared_ptr<Segment> seg;
  PipeConfig cfg;
};

// Creates the segment; both ends' `opener` stay kPipeOpenerCreating until release_openers().
Created create_pipe(std::string_view name, const PipeOptions& options,
                    std::uint64_t start_position) {
  detail::validate_name(name);
  if (options.capacity_bytes == 0 || options.capacity_bytes > detail::kPipeMaxCapacity) {
    throw Error(Errc::invalid_argument, name,
                fmt::format("capacity_bytes {} is outside 1..{}", options.capacity_bytes,
                            detail::kPipeMaxCapacity));
  }
  if (options.max_message > detail::kPipeMaxMessage) {
    throw Error(Errc::invalid_argument, name,
                fmt::format("max_message {} is over the limit {}", options.max_message,
                            detail::kPipeMaxMessage));
  }
  const std::uint64_t capacity =
      std::bit_ceil(std::max(options.capacity_bytes, detail::kPipeMinCapacity));
  const std::uint32_t ring_count = options.duplex ? 2 : 1;
  const std::uint64_t max_message =
      options.max_message == 0 ? detail::kPipeMaxMessage : options.max_message;
  Segment::CreateSpec spec;
  spec.kind = detail::SegmentKind::pipe;
  spec.body_bytes = sizeof(PipeControl);
  spec.total_bytes = detail::kPipeDataOffset + ring_count * capacity;
  spec.mode = options.mode;
  auto seg = std::make_shared<Segment>(Segment::create(name, spec, [&](std::byte* base) {
    auto* ctl = new (base + detail::kBodyOffset) PipeControl{};
    ctl->ring_capacity = capacity;
    ctl->max_message = max_message;
    ctl->flags = options.duplex ? detail::kPipeFlagDuplex : 0U;
    ctl->ring_count = ring_count;
    for (std::uint32_t i = 0; i < ring_count; ++i) {
      ByteRing::initialize(ctl->rings[i], capacity, detail::kPipeDataOffset + i * capacity,
                           start_position);
    }
    for (auto& e : ctl->ends) {
      // relaxed: published by the segment's `ready` ([R0]); openers wait until we hold ours.
      detail::shm_store(e.opener, detail::kPipeOpenerCreating, std::memory_order_relaxed);
    }
  }));
  try {
    return {seg, validate_control(*seg)};
  } catch (...) {
    Segment::remove(name);
    throw;
  }
}

void release_openers(PipeControl& ctl) noexcept {
  for (auto& e : ctl.ends) {
    detail::shm_store(e.opener, 0, std::memory_order_release);  // [R23] pairs with [A23] in open()
  }
}

}  // namespace

std::pair<Connection, Connection> Pipe::create(std::string_view name, const PipeOptions& options) {
  return detail::PipeAccess::create(name, options, 0);
}

std::pair<Connection, Connection> detail::PipeAccess::create(std::string_view name,
                                                             const PipeOptions& options,
                                                             std::uint64_t start_position) {
  const Created c = create_pipe(name, options, start_position);
  auto first = make_impl(c.seg, c.cfg, End::first, options.wait);
  auto second = make_impl(c.seg, c.cfg, End::second, options.wait);
  first->hold();
  second->hold();
  release_openers(*first->ctl);
  OpenConnections::insert(first.get());
  OpenConnections::insert(second.get());
  return {Connection(std::move(first)), Connection(std::move(second))};
}

Connection Connection::create(std::string_view name, End end, const PipeOptions& options) {
  const Created c = create_pipe(name, options, 0);
  auto impl = make_impl(c.seg, c.cfg, end, options.wait);
  impl->hold();
  release_openers(*impl->ctl);
  OpenConnections::insert(impl.get());
  return Connection(std::move(impl));
}

bool Pipe::remove(std::string_view name) {
  return Segment::remove(name);
}

}  // namespace shmq
