// shmq::Queue<T>: a bounded FIFO in a named shared-memory segment, usable by every process that
// opens the name — Python's multiprocessing.Queue, natively.
//
// Elements: any trivially copyable T (fixed slots of sizeof(T)), or std::string /
// std::vector<std::byte> up to QueueOptions::max_message bytes, or any T with a shmq::Codec<T>
// (codec.hpp; the Manager's codec: a struct with strings travels through a specialisation of
// it), its encoding up to max_message bytes. A queue of a recorded type (fixed-size or codable)
// refuses to open as another (Errc::type_mismatch); any byte queue opens as std::string or
// std::vector<std::byte> (the raw encoding).
// Kinds: QueueOptions::producers / consumers = one or many (SPSC, MPSC, SPMC, MPMC; default MPMC).
// A `one` side is enforced: a second live producer (consumer) gets Status::role_taken, or
// Error(Errc::role_taken) from claim_producer() / claim_consumer().
// An SPSC queue of trivially copyable T is packed (QueueOptions::packed): elements back to back,
// several per cache line, batches as runs; there a handle holds one open zero-copy claim per side
// at a time (a second, or a put/get while one is open, is Status::busy).
//
// Verbs: try_* never block; put/get block; *_for / *_until bound the wait (steady_clock).
// close() ends puts everywhere; getters drain what is there, then get Status::closed. Setup calls
// (create/open/...) throw shmq::Error; the hot path returns shmq::Status and never throws.
//
// Memory ordering: everything a producer wrote before a successful put (and the element itself)
// is visible to the consumer whose get returned that element. A get that returns Status::closed
// has seen every element put before the close() it observed. size()/empty()/full() are
// approximate, like qsize(). Each message is delivered exactly once; per producer, in put order.
//
// A handle is not thread-safe: share the name, not the handle, or guard it. Move-only.
// Exceptions: none from the hot path, except what a codable T's Codec throws (a put before it
// claims anything; a get after freeing the slot, the message lost to that handle) and bad_alloc
// from a std::string / vector<std::byte> get (its slot stays taken: producers stop behind it).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <span>
#include <string_view>
#include <typeinfo>
#include <utility>

#include "shmq/detail/message_codec.hpp"
#include "shmq/detail/queue_core.hpp"
#include "shmq/detail/shm_access.hpp"
#include "shmq/detail/wait/deadline.hpp"
#include "shmq/detail/wait/event_count.hpp"
#include "shmq/options.hpp"
#include "shmq/status.hpp"

namespace shmq {

namespace detail {
struct QueueAccess;  // detail/access.hpp: the core of a Queue, for tests and the runtime
}

template <detail::QueueElement T>
class Queue {
  using Codec = detail::MessageCodec<T>;
  using Ring = detail::SlotRing;
  using Side = detail::QueueCore::Side;
  static constexpr bool kFixed = Codec::kind == detail::ElementKind::fixed;

 public:
  using value_type = T;

  // A slot claimed for writing in place: fill buffer(), then commit(). Dropped without commit,
  // it publishes an empty skip that getters pass over. Must not outlive its queue handle.
  class PutClaim {
   public:
    PutClaim() noexcept = default;
    PutClaim(PutClaim&& o) noexcept : queue_(std::exchange(o.queue_, nullptr)), claim_(o.claim_) {}
    PutClaim& operator=(PutClaim&& o) noexcept {
      if (this != &o) {
        abandon();
        queue_ = std::exchange(o.queue_, nullptr);
        claim_ = o.claim_;
      }
      return *this;
    }
    ~PutClaim() { abandon(); }

    explicit operator bool() const noexcept { return queue_ != nullptr; }
    std::span<std::byte> buffer() const noexcept {
      return {claim_.payload, queue_ ? queue_->core_.ring().max_message() : 0};
    }
    // Publishes the first `bytes` of buffer(). For fixed T, `bytes` must be sizeof(T) (a packed
    // queue refuses any other size: nothing is published, Status::too_large). A claim that holds
    // no slot (never claimed, or already committed) has nothing to publish: Status::empty.
    Status commit(std::size_t bytes) noexcept {
      if (!queue_) return Status::empty;
      Queue* q = std::exchange(queue_, nullptr);
      const Ring& ring = q->core_.ring();
      if (bytes > ring.max_message() || (ring.packed() && bytes != ring.max_message())) {
        q->core_.ring().publish(claim_, detail::kSkipSize);
        q->notify_getters();
        return Status::too_large;
      }
      q->core_.ring().publish(claim_, static_cast<std::uint32_t>(bytes));
      q->count_put(bytes, 1);
      q->notify_getters();
      return Status::ok;
    }

   private:
    friend class Queue;
    void abandon() noexcept {
      if (!queue_) return;
      Queue* q = std::exchange(queue_, nullptr);
      q->core_.ring().publish(claim_, detail::kSkipSize);
      q->notify_getters();
    }
    Queue* queue_ = nullptr;
    Ring::Claim claim_{};
  };

  // A message taken in place (get(GetClaim&)): it is this handle's, no other getter sees it; look
  // at data(), then release() (or drop the claim) to free its slot for producers.
  class GetClaim {
   public:
    GetClaim() noexcept = default;
    GetClaim(GetClaim&& o) noexcept : queue_(std::exchange(o.queue_, nullptr)), claim_(o.claim_) {}
    GetClaim& operator=(GetClaim&& o) noexcept {
      if (this != &o) {
        release();
        queue_ = std::exchange(o.queue_, nullptr);
        claim_ = o.claim_;
      }
      return *this;
    }
    ~GetClaim() { release(); }

    explicit operator bool() const noexcept { return queue_ != nullptr; }
    std::span<const std::byte> data() const noexcept {
      return {claim_.payload, queue_ ? claim_.size : 0};
    }
    void release() noexcept {
      if (!queue_) return;
      Queue* q = std::exchange(queue_, nullptr);
      q->core_.ring().release(claim_);
      q->count_got(claim_.size, 1);
      q->notify_putters();
    }

   private:
    friend class Queue;
    Queue* queue_ = nullptr;
    Ring::Claim claim_{};
  };

  // ---- setup (throws shmq::Error) ----

  static Queue create(std::string_view name, const QueueOptions& options = {}) {
    return Queue(detail::QueueCore::create(name, options, element_info()));
  }
  static Queue open(std::string_view name, const WaitPolicy& wait = {}) {
    return Queue(detail::QueueCore::open(name, element_info(), wait));
  }
  // As open(), waiting up to `appear_within` for a creator to make `name` first: a consumer may
  // start before its producer. Error(not_found) after that, saying how long it waited.
  template <class Rep, class Period>
  static Queue open(std::string_view name, std::chrono::duration<Rep, Period> appear_within,
                    const WaitPolicy& wait = {}) {
    return Queue(detail::QueueCore::open(name, element_info(), wait,
                                         detail::whole_milliseconds(appear_within)));
  }
  // Creates `name`, or opens it if it exists. An existing queue made with other options
  // (capacity after rounding, max_message, producers, consumers, packed) is refused with
  // Error(options_mismatch) naming each field that differs.
  static Queue open_or_create(std::string_view name, const QueueOptions& options = {}) {
    return Queue(detail::QueueCore::open_or_create(name, options, element_info()));
  }
  // Unlinks the name (attached processes keep working); returns whether it existed.
  static bool remove(std::string_view name) { return detail::QueueCore::remove(name); }

  Queue() noexcept = default;
  Queue(Queue&&) noexcept = default;
  Queue& operator=(Queue&&) noexcept = default;

  // Take the single-producer/consumer role now, with a clear Error if another process holds it
  // (put/get otherwise take it on first use and return Status::role_taken).
  void claim_producer() { core_.claim_producer(); }
  void claim_consumer() { core_.claim_consumer(); }

  // ---- put ----

  Status try_put(const T& v) {
    if constexpr (kFixed) {
      // The packed path with a light notify: no run-time choice after this one test.
      if ((core_.held_roles() & detail::kHeldFastProducer) != 0) {
        const Status s = put_packed(v);
        if (s == Status::ok) {
          notify_light(core_.control().not_empty);
        } else if (s == Status::full) {
          detail::bump(core_.counters().full_events);
        }
        return s;
      }
    }
    const Status s = put_one(v);
    if (s == Status::ok) notify_getters();
    if (s == Status::full) detail::bump(core_.counters().full_events);
    return s;
  }
  Status put(const T& v) { return put_until(v, detail::Deadline::max()); }
  template <class Rep, class Period>
  Status put_for(const T& v, std::chrono::duration<Rep, Period> timeout) {
    return put_until(v, detail::deadline_after(timeout));
  }
  Status put_until(const T& v, std::chrono::steady_clock::time_point deadline) {
    const Status first = try_put(v);
    if (first != Status::full) return first;
    return core_.wait(Side::producer, deadline, [&](bool) { return put_and_notify(v); });
  }

  // ---- batches: `count` says how many went in (came out); the status says why it stopped ----

  // Puts as many of `items` as fit now, in order. Returns ok when all went in, else why the
  // next one did not (full, closed, too_large, corrupt, role_taken, busy).
  Status try_put_many(std::span<const T> items, std::size_t& put) {
    put = 0;
    if (items.empty()) return Status::ok;  // all of nothing went in
    const Status s = put_some(items, put);
    if (put != 0) notify_getters(put);
    if (s == Status::full) detail::bump(core_.counters().full_events);
    return s;
  }
  // Puts all of `items`, blocking while the queue is full. Returns ok, or why it stopped early
  // (closed, too_large, corrupt, role_taken, interrupted).
  Status put_many(std::span<const T> items, std::size_t& put) {
    put = 0;
    if (items.empty()) return Status::ok;
    return core_.wait(Side::producer, detail::Deadline::max(), [&](bool) {
      const std::size_t before = put;
      const Status last = put_some(items, put);
      if (put != before) notify_getters(put - before);
      return last;
    });
  }

  // Zero-copy put: claim a slot, write buffer(), commit().
  // Status::busy if `claim` holds a slot already (commit or drop it first).
  Status try_claim(PutClaim& claim) {
    if (claim) return Status::busy;
    if (const Status s = ready_to_put(); s != Status::ok) return s;
    const Status s = claim_slot(claim.claim_);
    if (s == Status::ok) claim.queue_ = this;
    return s;
  }
  Status claim(PutClaim& claim) {
    return core_.wait(Side::producer, detail::Deadline::max(),
                      [&](bool) { return try_claim(claim); });
  }

  // ---- get ----

  Status try_get(T& out) {
    const Status s = get_one(out);
    if (s == Status::empty) detail::bump(core_.counters().empty_events);
    return s;
  }
  Status get(T& out) { return get_until(out, detail::Deadline::max()); }
  template <class Rep, class Period>
  Status get_for(T& out, std::chrono::duration<Rep, Period> timeout) {
    return get_until(out, detail::deadline_after(timeout));
  }
  Status get_until(T& out, std::chrono::steady_clock::time_point deadline) {
    const Status first = try_get(out);
    if (first != Status::empty) return first;
    return core_.wait(Side::consumer, deadline, [&](bool) { return get_one(out); });
  }

  // Takes up to out.size() messages that are there now. Returns ok when it took at least one,
  // else why not (empty; closed once closed and drained; corrupt, role_taken, busy). A corrupt
  // message after some were taken returns corrupt with `got` counting those (the corrupt one is
  // dropped, as try_get drops it): a batch never hides a drop.
  Status try_get_many(std::span<T> out, std::size_t& got) {
    got = 0;
    if (out.empty()) return Status::ok;
    const Status s = take_some(out, got);
    if (s == Status::corrupt || got != 0) notify_putters(std::max<std::size_t>(got, 1));
    if (s == Status::empty) detail::bump(core_.counters().empty_events);
    return s;
  }
  // Blocks until at least one message is there, then takes up to out.size(). Returns ok, or
  // closed once the queue is closed and drained (or interrupted, corrupt, ...).
  Status get_many(std::span<T> out, std::size_t& got) {
    got = 0;
    if (out.empty()) return Status::ok;
    return core_.wait(Side::consumer, detail::Deadline::max(), [&](bool) {
      const std::size_t before = got;
      const Status s = take_some(out, got);
      if (s == Status::corrupt || got != before)
        notify_putters(std::max<std::size_t>(got - before, 1));
      return s;
    });
  }

  // Zero-copy get: take the next message in place (as try_get / get take it: no other getter
  // will see it), read claim.data(), then release the claim to free the slot.
  // Status::busy if `claim` holds a message already (release or drop it first).
  Status try_get(GetClaim& claim) {
    if (claim) return Status::busy;
    const Status s = acquire_one(claim.claim_);
    if (s == Status::ok) claim.queue_ = this;
    return s;
  }
  Status get(GetClaim& claim) {
    return core_.wait(Side::consumer, detail::Deadline::max(),
                      [&](bool) { return try_get(claim); });
  }

  // ---- state ----

  // No more puts, by anyone; wakes every waiter. Getters drain, then see Status::closed.
  void close() noexcept { core_.close(); }
  // This handle's gets end like a closed queue's once its producers are gone: a get that finds
  // the queue empty returns Status::closed when a producer has attached once and no live
  // attachment holds the producer role now (each left — its handle destroyed — or died). A
  // producer is an attachment that has put (or claimed the role); one that only opened the
  // queue does not count, nor does a forked child's copy of a producer handle before the child's
  // own first put or claim_producer() (docs/queue.md, "fork()"). A blocked get notices within a
  // sleep slice, at once when a producer's handle is destroyed. The queue is not closed: other
  // handles, and later producers, go on. Python's multiprocessing has no such thing; it is how a
  // consumer learns that the work is done without a sentinel message (docs/queue.md, "When the
  // producers are gone").
  void end_when_producers_gone(bool on = true) noexcept { core_.set_end_when_producers_gone(on); }
  // Live attachments holding the producer role (see above); a registry scan, not for a hot loop.
  std::size_t producers() const noexcept { return core_.producers(); }
  bool closed() const noexcept { return core_.closed(); }
  std::size_t size() const noexcept { return core_.ring().size(); }
  bool empty() const noexcept { return size() == 0; }
  bool full() const noexcept { return size() >= capacity(); }
  std::size_t capacity() const noexcept { return core_.ring().capacity(); }
  std::size_t max_message() const noexcept { return core_.ring().max_message(); }
  const std::string& name() const noexcept { return core_.name(); }
  void set_wait_policy(const WaitPolicy& wait) noexcept { core_.set_wait_policy(wait); }

 private:
  // The core (segment, control block, ring) is not part of the public surface: tests and the
  // runtime reach it through detail::core_of() (detail/access.hpp).
  friend struct detail::QueueAccess;

  explicit Queue(detail::QueueCore core) noexcept : core_(std::move(core)) {}

  static detail::ElementInfo element_info() {
    if constexpr (detail::kRecordsTypeName<T>) {
      return {Codec::kind, Codec::element_size, 0, typeid(T).name()};
    }
    return {Codec::kind, Codec::element_size, 0, {}};
  }

  Status ready_to_put() noexcept {
    if (const Status s = core_.ensure_producer(); s != Status::ok) return s;
    return core_.ring().closed_for_producers() ? Status::closed : Status::ok;
  }

  // What a caller knows of the ring: nothing (any), or that it is not packed and its side is a
  // single (a multi) one: the copying paths, which read the kind from the held roles.
  enum class Kind { any, single, multi };

  // A free slot; a full ring may be full because a dead consumer holds its oldest slot.
  template <Kind kKind = Kind::any>
  Status claim_slot(Ring::Claim& c) noexcept {
    Ring& ring = core_.ring();
    const auto attempt = [&] {
      if constexpr (kKind == Kind::any) {
        return ring.try_claim(c);
      } else {
        return ring.template try_claim_slot_as<kKind == Kind::multi>(c);
      }
    };
    Status s = attempt();
    if (s == Status::full && core_.recover_stuck(Side::producer)) s = attempt();
    return s;
  }

  // One put without notifying (batches notify once). One test of the held roles (a memory
  // operand) takes a packed ring's fast path; else a role still to claim, or the slot path.
  Status put_one(const T& v) {
    if constexpr (kFixed) {
      if ((core_.held_roles() & detail::kHeldPackedProducer) != 0) return put_packed(v);
    }
    if ((core_.held_roles() & detail::kRoleProducer) == 0) {
      if (const Status s = core_.ensure_producer(); s != Status::ok) return s;
      if constexpr (kFixed) {
        if ((core_.held_roles() & detail::kHeldPackedProducer) != 0) return put_packed(v);
      }
    }
    if (core_.ring().closed_for_producers()) return Status::closed;
    return put_slot(v);
  }
  // The fast path of a fixed-size T on a packed ring whose producer role this handle holds: a
  // copy of constant size, no claim.
  Status put_packed(const T& v) {
    const Status s = core_.ring().packed_ring().template put_one<sizeof(T)>(&v);
    if (s == Status::ok) count_put(sizeof(T), 1);
    return s;
  }
  // The copying path of a ring that is not packed, whose producer role this handle holds; the
  // ring's kind is resolved as in take_one().
  Status put_slot(const T& v) {
    const std::size_t bytes = Codec::size(v);
    // A fixed-size T fits by construction (open checked max_message == sizeof(T)).
    if (!kFixed && bytes > core_.ring().max_message()) return Status::too_large;
    const bool multi = (core_.held_roles() & detail::kHeldMultiProducer) != 0;
    Ring::Claim c;
    const Status s = multi ? claim_slot<Kind::multi>(c) : claim_slot<Kind::single>(c);
    if (s != Status::ok) return s;
    Codec::encode(v, c.payload);
    if (multi) {
      core_.ring().template publish_slot_as<true>(c, static_cast<std::uint32_t>(bytes));
    } else {
      core_.ring().template publish_slot_as<false>(c, static_cast<std::uint32_t>(bytes));
    }
    count_put(bytes, 1);
    return Status::ok;
  }
  // Puts items[done..] while they fit, advancing `done`, without notifying. Returns ok once all
  // are in, else why the next one is not.
  Status put_some(std::span<const T> items, std::size_t& done) {
    if constexpr (Codec::kind == detail::ElementKind::fixed) {
      if (core_.ring().packed()) return put_runs(items, done);
    }
    Status last = Status::ok;
    while (done < items.size() && (last = put_one(items[done])) == Status::ok)
      ++done;
    return done == items.size() ? Status::ok : last;
  }
  // A packed ring takes a batch as runs of elements: one copy and one index store per run.
  Status put_runs(std::span<const T> items, std::size_t& done) {
    if (const Status s = ready_to_put(); s != Status::ok) return s;
    detail::PackedRing& ring = core_.ring().packed_ring();
    const std::size_t before = done;
    Status s = Status::ok;
    while (done < items.size()) {
      detail::PackedRing::Run run;
      if ((s = ring.try_claim_run(items.size() - done, run)) != Status::ok) break;
      std::memcpy(run.data, items.data() + done, run.count * sizeof(T));
      ring.publish_run(run.count);
      done += run.count;
    }
    if (done != before) count_put((done - before) * sizeof(T), done - before);
    return done == items.size() ? Status::ok : s;
  }
  // try_put() without its full_events count: the re-tries of a blocked put.
  Status put_and_notify(const T& v) {
    const Status s = put_one(v);
    if (s == Status::ok) notify_getters();
    return s;
  }

  // The next message, in place. A ring blocked behind a dead producer's slot is recovered; empty
  // becomes closed once the queue is closed and drained. A known kind (take_one()): the caller
  // holds the consumer role.
  template <Kind kKind = Kind::any>
  Status acquire_one(Ring::Claim& c) {
    if constexpr (kKind == Kind::any) {
      if (const Status s = core_.ensure_consumer(); s != Status::ok) return s;
    }
    Ring& ring = core_.ring();
    const auto attempt = [&] {
      if constexpr (kKind == Kind::any) {
        return ring.try_acquire(c);
      } else {
        return ring.template try_acquire_slot_as<kKind == Kind::multi>(c);
      }
    };
    Status s = attempt();
    if (s == Status::empty && core_.recover_stuck(Side::consumer)) s = attempt();
    if (s == Status::empty && core_.ended()) {
      s = attempt();  // a put that happened before the close (or the producers left) is there
      if (s == Status::empty) return Status::closed;
    }
    return s;
  }

  // One get without notifying (batches notify once); the path is picked as in put_one().
  Status take_one(T& out) {
    if constexpr (kFixed) {
      if ((core_.held_roles() & detail::kHeldPackedConsumer) != 0) return take_packed(out);
    }
    if ((core_.held_roles() & detail::kRoleConsumer) == 0) {
      if (const Status s = core_.ensure_consumer(); s != Status::ok) return s;
      if constexpr (kFixed) {
        if ((core_.held_roles() & detail::kHeldPackedConsumer) != 0) return take_packed(out);
      }
    }
    // The ring's kind, from the held roles: each ring call below is resolved at compile time,
    // the decode is written once.
    const bool multi = (core_.held_roles() & detail::kHeldMultiConsumer) != 0;
    Ring::Claim c;
    const Status s = multi ? acquire_one<Kind::multi>(c) : acquire_one<Kind::single>(c);
    if (s != Status::ok) return s;
    const auto release = [&] {
      if (multi) {
        core_.ring().template release_slot_as<true>(c);
      } else {
        core_.ring().template release_slot_as<false>(c);
      }
    };
    bool decoded = false;
    // A byte container's decode throws only bad_alloc; guarding it cost `Queue<std::string>` 11
    // instructions per get (take_one no longer inlined), so it is not guarded.
    if constexpr (noexcept(Codec::decode({c.payload, c.size}, out)) || detail::kByteContainer<T>) {
      decoded = Codec::decode({c.payload, c.size}, out);
    } else {
      // A user's Codec may throw (bad input, bad_alloc) after the message was taken: its slot
      // is freed before the exception leaves, or the ring would stop behind it.
      try {
        decoded = Codec::decode({c.payload, c.size}, out);
      } catch (...) {
        release_and_rethrow(multi, c);
      }
    }
    release();
    if (!decoded) return Status::corrupt;
    count_got(c.size, 1);
    return Status::ok;
  }
  // Out of line and cold: keeps take_one() small enough to inline.
  [[noreturn, gnu::cold, gnu::noinline]] void release_and_rethrow(bool multi,
                                                                  const Ring::Claim& c) {
    if (multi) {
      core_.ring().template release_slot_as<true>(c);
    } else {
      core_.ring().template release_slot_as<false>(c);
    }
    throw;
  }
  // take_one() of a fixed-size T on a packed ring whose consumer role this handle holds (no
  // claim, a copy of constant size).
  Status take_packed(T& out) {
    detail::PackedRing& ring = core_.ring().packed_ring();
    Status s = ring.template get_one<sizeof(T)>(&out);
    if (s == Status::empty && core_.ended()) {
      s = ring.template get_one<sizeof(T)>(&out);  // a put that happened before the close
      if (s == Status::empty) return Status::closed;
    }
    if (s == Status::ok) count_got(sizeof(T), 1);
    return s;
  }
  // Takes what is there now into out[got..], advancing `got`, without notifying. Returns ok if it
  // took at least one, else why not (empty, closed once closed and drained, corrupt, ...).
  Status take_some(std::span<T> out, std::size_t& got) {
    if constexpr (Codec::kind == detail::ElementKind::fixed) {
      if (core_.ring().packed()) return take_runs(out, got);
    }
    const std::size_t before = got;
    Status s = Status::ok;
    while (got < out.size() && (s = take_one(out[got])) == Status::ok)
      ++got;
    if (s == Status::corrupt) return s;  // `got` says what came out before it
    return got != before ? Status::ok : s;
  }
  Status take_runs(std::span<T> out, std::size_t& got) {
    if (const Status s = core_.ensure_consumer(); s != Status::ok) return s;
    detail::PackedRing& ring = core_.ring().packed_ring();
    const std::size_t before = got;
    bool closed = false;
    Status s = Status::ok;
    while (got < out.size()) {
      detail::PackedRing::Run run;
      s = ring.try_acquire_run(out.size() - got, run);
      if (s == Status::empty && got == before && !closed && core_.ended()) {
        closed = true;  // a put that happened before the close is still there: look once more
        continue;
      }
      if (s != Status::ok) break;
      std::memcpy(static_cast<void*>(out.data() + got), run.data, run.count * sizeof(T));
      ring.release_run(run.count);
      got += run.count;
    }
    if (got != before) {
      count_got((got - before) * sizeof(T), got - before);
      return s == Status::corrupt ? s : Status::ok;  // as in take_some()
    }
    return closed && s == Status::empty ? Status::closed : s;
  }
  Status get_one(T& out) {
    if constexpr (kFixed) {
      if ((core_.held_roles() & detail::kHeldFastConsumer) != 0) {  // as in try_put()
        const Status s = take_packed(out);
        if (s == Status::ok) notify_light(core_.control().not_full);
        return s;
      }
    }
    const Status s = take_one(out);
    if (s == Status::ok || s == Status::corrupt) notify_putters();
    return s;
  }

  // `count`: how many messages (free slots) the change made: at most that many sleepers are woken
  // (each woken one takes one; docs/queue.md, "Waiting").
  void notify_getters(std::size_t count = 1) noexcept { notify(core_.control().not_empty, count); }
  void notify_putters(std::size_t count = 1) noexcept { notify(core_.control().not_full, count); }
  // Nobody registered: no syscall. The fence is a compiler barrier where the queue has
  // asymmetric fences (detail/wait/asymmetric_fence.hpp) and this process registered for them.
  void notify(detail::EventCountData& ec, std::size_t count) noexcept {
    if ((core_.held_roles() & detail::kHeldLightNotify) != 0) {
      notify_light(ec, count);
    } else if (detail::has_registered(ec)) {
      core_.wake(ec, count);
    }
  }
  void notify_light(detail::EventCountData& ec, std::size_t count = 1) noexcept {
    if (detail::has_registered_light(ec)) core_.wake(ec, count);
  }
  // A fixed-size T's bytes are msgs × sizeof(T): its bytes_* counters stay 0 and observers
  // derive them (inspect.cpp), one counter store less per call.
  void count_put(std::size_t bytes, std::uint64_t msgs) noexcept {
    detail::Counters& c = core_.role_counters();
    detail::bump(c.msgs_put, msgs);
    if constexpr (!kFixed) detail::bump(c.bytes_put, bytes);
  }
  void count_got(std::size_t bytes, std::uint64_t msgs) noexcept {
    detail::Counters& c = core_.role_counters();
    detail::bump(c.msgs_got, msgs);
    if constexpr (!kFixed) detail::bump(c.bytes_got, bytes);
  }

  detail::QueueCore core_;
};

}  // namespace shmq
