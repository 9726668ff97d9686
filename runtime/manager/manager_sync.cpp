// The Store's synchronisation objects: lock, rlock, semaphore, event, barrier, condition.
//
// A blocking request that cannot be granted now is parked as a Waiter and answered later, when
// another request (or a client's death) grants it, or when its client cancels it at its
// deadline. Each parked request gets exactly one reply. Waiters are served FIFO.
//
// Crashes (docs/design.md §6): drop_client() runs when the server finds a client dead. It releases
// the locks the client held (granting the next waiter), returns its semaphore permits, removes its
// waits, and breaks the barriers it was waiting in (the others get Code::broken).
#include <algorithm>
#include <limits>

#include "manager_store.hpp"

namespace shmq::detail::mgr {

namespace {

// Takes the first waiter of `client` for `request` (0: any of its requests) out of the queue,
// into *out if given. False if there is none.
template <class Container>
bool remove_waiter(Container& c, std::uint64_t client, std::uint64_t request, Waiter* out) {
  const auto it = std::find_if(c.begin(), c.end(), [&](const Waiter& w) {
    return w.client == client && (request == 0 || w.request == request);
  });
  if (it == c.end()) return false;
  if (out) *out = *it;
  c.erase(it);
  return true;
}

// Drops every waiter of `client`, replying to none (a dead client reads no replies).
template <class Container>
void remove_all(Container& c, std::uint64_t client) {
  c.erase(std::remove_if(c.begin(), c.end(), [&](const Waiter& w) { return w.client == client; }),
          c.end());
}

void reply_to(Effects& fx, const Waiter& w, Code code, std::string body = {}) {
  fx.replies.push_back({w.client, w.request, code, std::move(body)});
}

// The caller waits at the back of the queue; its reply goes out when it is granted or cancelled.
template <class Container>
void park(Container& waiters, const Caller& caller) {
  waiters.push_back({caller.client, caller.request, 1, Code::ok});
}

// Every blocking acquire (lock, rlock, semaphore) takes the same three roads: granted now,
// refused now (non-blocking; Code::absent means "would block"), or parked FIFO behind the
// waiters already there. `take` claims the object for the caller when it is free.
template <class Take>
SyncReply acquire_or_park(const Caller& caller, std::deque<Waiter>& waiters, bool free,
                          bool blocking, Take take) {
  if (free) {
    take();
    return Code::ok;
  }
  if (!blocking) return Code::absent;
  park(waiters, caller);
  return kParked;
}

}  // namespace

SyncReply Store::lock_acquire(const Caller& caller, LockData& l, bool recursive, bool blocking) {
  if (recursive && l.owner == caller.client && l.owner != 0) {
    // An rlock (or a condition's lock) taken again by its owner: one level deeper, no wait.
    if (l.count == std::numeric_limits<std::uint32_t>::max()) return Code::malformed;
    ++l.count;
    return Code::ok;
  }
  return acquire_or_park(caller, l.waiters, l.owner == 0, blocking, [&] {
    l.owner = caller.client;
    l.count = 1;
  });
}

Code Store::lock_release(const Caller& caller, LockData& l, bool recursive, Effects& fx) {
  if (l.owner == 0) return Code::not_owner;
  // Python: a Lock may be released by anyone, an RLock only by its owner.
  if (recursive && l.owner != caller.client) return Code::not_owner;
  if (recursive && --l.count != 0) return Code::ok;
  l.owner = 0;
  l.count = 0;
  grant_lock(l, fx);
  return Code::ok;
}

// Hands a free lock to the first waiter. The waiter's count restores a condition wait's
// recursion level; its code is what that wait returns (ok if notified, timeout if not).
void Store::grant_lock(LockData& l, Effects& fx) {
  if (l.owner != 0 || l.waiters.empty()) return;
  const Waiter w = l.waiters.front();
  l.waiters.pop_front();
  l.owner = w.client;
  l.count = w.count;
  reply_to(fx, w, w.code);
}

// Hands out permits FIFO while there are any; `held` counts them per client so that a dead
// client's permits can be returned (drop_client).
void Store::grant_semaphore(SemaphoreData& s, Effects& fx) {
  while (s.value > 0 && !s.waiters.empty()) {
    const Waiter w = s.waiters.front();
    s.waiters.pop_front();
    --s.value;
    ++s.held[w.client];
    reply_to(fx, w, Code::ok);
  }
}

void Store::break_barrier(BarrierData& b, Effects& fx) {
  b.broken = true;
  for (const Waiter& w : b.waiters)
    reply_to(fx, w, Code::broken);
  b.waiters.clear();
}

// Dispatches by op; an op on an object of another kind is malformed. A request whose body has
// bytes left over (`!in.done()`) is malformed too, and changes nothing.
SyncReply Store::apply_sync(const Caller& caller, const std::string& name, Object& o, Op op,
                            wire::Reader& in, Effects& fx, std::string& out) {
  switch (op) {
    case Op::lock_acquire:
    case Op::lock_release:
    case Op::lock_locked:
      return apply_lock(caller, name, o, op, in, fx);
    case Op::cond_wait:
    case Op::cond_notify:
      return apply_condition(caller, name, o, op, in, fx, out);
    case Op::sem_acquire:
    case Op::sem_release:
    case Op::sem_value:
      return apply_semaphore(caller, name, o, op, in, fx, out);
    case Op::event_set:
    case Op::event_clear:
    case Op::event_is_set:
    case Op::event_wait:
      if (o.kind != ObjectKind::event || !in.done()) return Code::malformed;
      return apply_event(caller, name, o.event, op, fx);
    case Op::barrier_wait:
    case Op::barrier_reset:
    case Op::barrier_abort:
    case Op::barrier_state:
      if (o.kind != ObjectKind::barrier || !in.done()) return Code::malformed;
      return apply_barrier(caller, name, o.barrier, op, fx, out);
    default:
      return Code::malformed;
  }
}

// Lock ops work on a lock, an rlock, and a condition's own lock.
SyncReply Store::apply_lock(const Caller& caller, const std::string& name, Object& o, Op op,
                            wire::Reader& in, Effects& fx) {
  const bool blocking = op == Op::lock_acquire && in.u8() != 0;
  const bool is_lock =
      o.kind == ObjectKind::lock || o.kind == ObjectKind::rlock || o.kind == ObjectKind::condition;
  if (!is_lock || !in.done()) return Code::malformed;
  LockData& lock = o.kind == ObjectKind::condition ? o.cond.lock : o.lock;
  const bool recursive = o.kind != ObjectKind::lock;
  switch (op) {
    case Op::lock_acquire:
      involve(caller.client, name);
      return lock_acquire(caller, lock, recursive, blocking);
    case Op::lock_release:
      return lock_release(caller, lock, recursive, fx);
    default:  // lock_locked
      return lock.owner != 0 ? Code::ok : Code::absent;
  }
}

// A condition wait releases the lock entirely (whatever its recursion level), parks on the
// condition, and, once notified, queues for the lock again with that level saved in the Waiter:
// its reply goes out only when grant_lock hands it the lock back. Notify moves up to n waiters
// from the condition's queue to the lock's, in order.
SyncReply Store::apply_condition(const Caller& caller, const std::string& name, Object& o, Op op,
                                 wire::Reader& in, Effects& fx, std::string& out) {
  const std::uint64_t n = op == Op::cond_notify ? in.u64() : 0;
  if (o.kind != ObjectKind::condition || !in.done()) return Code::malformed;
  LockData& lock = o.cond.lock;
  if (lock.owner != caller.client) return Code::not_owner;
  if (op == Op::cond_wait) {
    o.cond.waiters.push_back({caller.client, caller.request, lock.count, Code::ok, true});
    lock.owner = 0;
    lock.count = 0;
    grant_lock(lock, fx);
    involve(caller.client, name);
    return kParked;
  }
  std::uint64_t moved = 0;
  while (moved < n && !o.cond.waiters.empty()) {
    lock.waiters.push_back(o.cond.waiters.front());  // re-acquire, then return ok
    o.cond.waiters.pop_front();
    ++moved;
  }
  grant_lock(lock, fx);
  wire::Writer(out).u64(moved);
  return Code::ok;
}

SyncReply Store::apply_semaphore(const Caller& caller, const std::string& name, Object& o, Op op,
                                 wire::Reader& in, Effects& fx, std::string& out) {
  const bool blocking = op == Op::sem_acquire && in.u8() != 0;
  const std::uint64_t n = op == Op::sem_release ? in.u64() : 0;
  if (o.kind != ObjectKind::semaphore || !in.done()) return Code::malformed;
  SemaphoreData& s = o.sem;
  switch (op) {
    case Op::sem_acquire:
      involve(caller.client, name);
      return acquire_or_park(caller, s.waiters, s.value > 0, blocking, [&] {
        --s.value;
        ++s.held[caller.client];
      });
    case Op::sem_release:
      return sem_release(caller, s, n, fx);
    default:  // sem_value
      wire::Writer(out).i64(s.value);
      return Code::ok;
  }
}

// Releases n permits (1..2^32; the value must not overflow). Python's Semaphore lets anyone
// release, so `held` only shrinks by what this client holds; the rest is a gift.
Code Store::sem_release(const Caller& caller, SemaphoreData& s, std::uint64_t n, Effects& fx) {
  if (n == 0 || n > (1ULL << 32)) return Code::malformed;
  if (s.value > std::numeric_limits<std::int64_t>::max() - static_cast<std::int64_t>(n)) {
    return Code::malformed;
  }
  s.value += static_cast<std::int64_t>(n);
  if (const auto it = s.held.find(caller.client); it != s.held.end()) {
    it->second -= std::min(it->second, n);
    if (it->second == 0) s.held.erase(it);
  }
  grant_semaphore(s, fx);
  return Code::ok;
}

// Set wakes every waiter; only set and clear change the state (and so are journalled).
SyncReply Store::apply_event(const Caller& caller, const std::string& name, EventData& e, Op op,
                             Effects& fx) {
  switch (op) {
    case Op::event_set:
      fx.changed = !e.set;
      e.set = true;
      for (const Waiter& x : e.waiters)
        reply_to(fx, x, Code::ok);
      e.waiters.clear();
      return Code::ok;
    case Op::event_clear:
      fx.changed = e.set;
      e.set = false;
      return Code::ok;
    case Op::event_is_set:
      return e.set ? Code::ok : Code::absent;
    default:  // event_wait
      if (e.set) return Code::ok;
      park(e.waiters, caller);
      involve(caller.client, name);
      return kParked;
  }
}

SyncReply Store::apply_barrier(const Caller& caller, const std::string& name, BarrierData& b, Op op,
                               Effects& fx, std::string& out) {
  switch (op) {
    case Op::barrier_state: {
      wire::Writer w(out);
      w.u64(b.parties);
      w.u64(b.waiters.size());
      w.u8(b.broken ? 1 : 0);
      return Code::ok;
    }
    case Op::barrier_abort:
      break_barrier(b, fx);
      return Code::ok;
    case Op::barrier_reset:
      break_barrier(b, fx);  // current waiters get broken, as in Python
      b.broken = false;
      return Code::ok;
    default:  // barrier_wait
      if (b.broken) return Code::broken;
      park(b.waiters, caller);
      involve(caller.client, name);
      if (b.waiters.size() < b.parties) return kParked;
      release_barrier(caller, b, fx, out);
      return Code::ok;
  }
}

// The last party has arrived: every waiter gets its arrival index (Python's wait() return);
// the caller's own reply is the one apply() sends, so its index goes to `out`.
void Store::release_barrier(const Caller& caller, BarrierData& b, Effects& fx, std::string& out) {
  for (std::size_t i = 0; i < b.waiters.size(); ++i) {
    std::string index;
    wire::Writer(index).u64(i);
    if (b.waiters[i].client == caller.client && b.waiters[i].request == caller.request) {
      out = std::move(index);
    } else {
      reply_to(fx, b.waiters[i], Code::ok, std::move(index));
    }
  }
  b.waiters.clear();
}

// Answers `timeout` to the one parked request (client, request), wherever it waits: only the
// objects the client is involved in are searched, and the first match ends the search (a
// request waits in one place). What a timeout means differs per kind, as in Python: a barrier
// breaks for everyone; a condition wait that was not notified still re-acquires its lock before
// it returns; a condition wait that was notified and waits for its lock cannot be cancelled.
std::vector<Object*> Store::involved_objects(std::uint64_t client) const {
  std::vector<Object*> out;
  const auto inv = involved_.find(client);
  if (inv == involved_.end()) return out;
  for (const std::string& name : inv->second) {
    if (const auto it = objects_.find(name); it != objects_.end()) out.push_back(it->second.get());
  }
  return out;
}

void Store::cancel(std::uint64_t client, std::uint64_t request, Effects& fx) {
  for (Object* o : involved_objects(client)) {
    if (cancel_in(*o, client, request, fx)) return;
  }
}

// Whether the request waits in `o` (it is then answered, or stays as Python keeps it).
bool Store::cancel_in(Object& o, std::uint64_t client, std::uint64_t request, Effects& fx) {
  // A plain wait (lock, rlock, semaphore, event) is answered timeout.
  const auto time_out = [&](auto& waiters) {
    Waiter w;
    if (!remove_waiter(waiters, client, request, &w)) return false;
    reply_to(fx, w, Code::timeout);
    return true;
  };
  switch (o.kind) {
    case ObjectKind::lock:
    case ObjectKind::rlock:
      return time_out(o.lock.waiters);
    case ObjectKind::semaphore:
      return time_out(o.sem.waiters);
    case ObjectKind::event:
      return time_out(o.event.waiters);
    case ObjectKind::barrier:
      if (std::none_of(o.barrier.waiters.begin(), o.barrier.waiters.end(), [&](const Waiter& x) {
            return x.client == client && x.request == request;
          })) {
        return false;
      }
      break_barrier(o.barrier, fx);  // a timeout breaks the barrier, as in Python
      return true;
    case ObjectKind::condition:
      return cancel_condition_wait(o.cond, client, request, fx);
    default:
      return false;
  }
}

// A condition wait still waiting for a notify was not notified in time: it re-acquires the
// lock (queued behind its waiters), then returns timeout. One notified and re-acquiring stays
// (as in Python); a plain acquire of the condition's lock with a deadline is answered timeout.
bool Store::cancel_condition_wait(ConditionData& c, std::uint64_t client, std::uint64_t request,
                                  Effects& fx) {
  Waiter w;
  if (remove_waiter(c.waiters, client, request, &w)) {
    w.code = Code::timeout;
    c.lock.waiters.push_back(w);
    grant_lock(c.lock, fx);
    return true;
  }
  const auto at = std::find_if(c.lock.waiters.begin(), c.lock.waiters.end(), [&](const Waiter& x) {
    return x.client == client && x.request == request;
  });
  if (at == c.lock.waiters.end()) return false;
  if (at->reacquire) return true;
  w = *at;
  c.lock.waiters.erase(at);
  reply_to(fx, w, Code::timeout);
  return true;
}

// The client is dead: in each object it is involved in, its waits go (without replies: nobody
// reads them), what it held is released and handed to the next waiter, and a barrier it waited
// in breaks (the parties could never all arrive).
void Store::drop_client(std::uint64_t client, Effects& fx) {
  for (Object* o : involved_objects(client))
    release_all(*o, client, fx);
  involved_.erase(client);
}

// Everything `client` has in `o`: its waits, its hold, the barrier it waited in.
void Store::release_all(Object& o, std::uint64_t client, Effects& fx) {
  auto release_lock = [&](LockData& l) {
    remove_all(l.waiters, client);
    if (l.owner == client) {
      l.owner = 0;
      l.count = 0;
      grant_lock(l, fx);
    }
  };
  switch (o.kind) {
    case ObjectKind::lock:
    case ObjectKind::rlock:
      release_lock(o.lock);
      break;
    case ObjectKind::condition:
      remove_all(o.cond.waiters, client);
      release_lock(o.cond.lock);
      break;
    case ObjectKind::semaphore:
      remove_all(o.sem.waiters, client);
      if (const auto h = o.sem.held.find(client); h != o.sem.held.end()) {
        o.sem.value += static_cast<std::int64_t>(h->second);
        o.sem.held.erase(h);
        grant_semaphore(o.sem, fx);
      }
      break;
    case ObjectKind::event:
      remove_all(o.event.waiters, client);
      break;
    case ObjectKind::barrier: {
      const auto before = o.barrier.waiters.size();
      remove_all(o.barrier.waiters, client);
      if (o.barrier.waiters.size() != before) break_barrier(o.barrier, fx);
      break;
    }
    default:
      break;
  }
}

// Shutdown: every parked request, in every object, gets `code` and is forgotten.
void Store::fail_all_waiters(Code code, Effects& fx) {
  for (auto& [name, ptr] : objects_) {
    Object& o = *ptr;
    for (const Waiter& w : o.lock.waiters)
      reply_to(fx, w, code);
    for (const Waiter& w : o.cond.lock.waiters)
      reply_to(fx, w, code);
    for (const Waiter& w : o.cond.waiters)
      reply_to(fx, w, code);
    for (const Waiter& w : o.sem.waiters)
      reply_to(fx, w, code);
    for (const Waiter& w : o.event.waiters)
      reply_to(fx, w, code);
    for (const Waiter& w : o.barrier.waiters)
      reply_to(fx, w, code);
    o.lock.waiters.clear();
    o.cond.lock.waiters.clear();
    o.cond.waiters.clear();
    o.sem.waiters.clear();
    o.event.waiters.clear();
    o.barrier.waiters.clear();
  }
}

}  // namespace shmq::detail::mgr
