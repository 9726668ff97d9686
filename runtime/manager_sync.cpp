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

template <class Container>
void remove_all(Container& c, std::uint64_t client) {
  c.erase(std::remove_if(c.begin(), c.end(), [&](const Waiter& w) { return w.client == client; }),
          c.end());
}

void reply_to(Effects& fx, const Waiter& w, Code code, std::string body = {}) {
  fx.replies.push_back({w.client, w.request, code, std::move(body)});
}

}  // namespace

bool Store::lock_acquire(const Caller& caller, LockData& l, bool recursive, bool blocking,
                         Code& code) {
  if (l.owner == 0) {
    l.owner = caller.client;
    l.count = 1;
    code = Code::ok;
    return true;
  }
  if (recursive && l.owner == caller.client) {
    if (l.count == std::numeric_limits<std::uint32_t>::max()) {
      code = Code::malformed;
      return true;
    }
    ++l.count;
    code = Code::ok;
    return true;
  }
  if (!blocking) {
    code = Code::absent;
    return true;
  }
  l.waiters.push_back({caller.client, caller.request, 1, Code::ok});
  return false;
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

void Store::grant_lock(LockData& l, Effects& fx) {
  if (l.owner != 0 || l.waiters.empty()) return;
  const Waiter w = l.waiters.front();
  l.waiters.pop_front();
  l.owner = w.client;
  l.count = w.count;
  reply_to(fx, w, w.code);
}

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

bool Store::apply_sync(const Caller& caller, const std::string& name, Object& o, Op op,
                       wire::Reader& in, Effects& fx, Code& code, std::string& out) {
  wire::Writer w(out);
  code = Code::malformed;
  const bool is_lock =
      o.kind == ObjectKind::lock || o.kind == ObjectKind::rlock || o.kind == ObjectKind::condition;
  LockData& lock = o.kind == ObjectKind::condition ? o.cond.lock : o.lock;
  const bool recursive = o.kind != ObjectKind::lock;
  switch (op) {
    case Op::lock_acquire: {
      const bool blocking = in.u8() != 0;
      if (!is_lock || !in.done()) return true;
      involve(caller.client, name);
      return lock_acquire(caller, lock, recursive, blocking, code);
    }
    case Op::lock_release:
      if (!is_lock || !in.done()) return true;
      code = lock_release(caller, lock, recursive, fx);
      return true;
    case Op::lock_locked:
      if (!is_lock || !in.done()) return true;
      code = lock.owner != 0 ? Code::ok : Code::absent;
      return true;
    case Op::cond_wait:
      if (o.kind != ObjectKind::condition || !in.done()) return true;
      if (lock.owner != caller.client) {
        code = Code::not_owner;
        return true;
      }
      o.cond.waiters.push_back({caller.client, caller.request, lock.count, Code::ok, true});
      lock.owner = 0;
      lock.count = 0;
      grant_lock(lock, fx);
      involve(caller.client, name);
      return false;
    case Op::cond_notify: {
      const std::uint64_t n = in.u64();
      if (o.kind != ObjectKind::condition || !in.done()) return true;
      if (lock.owner != caller.client) {
        code = Code::not_owner;
        return true;
      }
      std::uint64_t moved = 0;
      while (moved < n && !o.cond.waiters.empty()) {
        lock.waiters.push_back(o.cond.waiters.front());  // re-acquire, then return ok
        o.cond.waiters.pop_front();
        ++moved;
      }
      grant_lock(lock, fx);
      w.u64(moved);
      code = Code::ok;
      return true;
    }
    case Op::sem_acquire: {
      const bool blocking = in.u8() != 0;
      if (o.kind != ObjectKind::semaphore || !in.done()) return true;
      SemaphoreData& s = o.sem;
      involve(caller.client, name);
      if (s.value > 0) {
        --s.value;
        ++s.held[caller.client];
        code = Code::ok;
        return true;
      }
      if (!blocking) {
        code = Code::absent;
        return true;
      }
      s.waiters.push_back({caller.client, caller.request, 1, Code::ok});
      return false;
    }
    case Op::sem_release: {
      const std::uint64_t n = in.u64();
      if (o.kind != ObjectKind::semaphore || !in.done() || n == 0 || n > (1ULL << 32)) return true;
      SemaphoreData& s = o.sem;
      if (s.value > std::numeric_limits<std::int64_t>::max() - static_cast<std::int64_t>(n)) {
        return true;
      }
      s.value += static_cast<std::int64_t>(n);
      if (const auto it = s.held.find(caller.client); it != s.held.end()) {
        it->second -= std::min(it->second, n);
        if (it->second == 0) s.held.erase(it);
      }
      grant_semaphore(s, fx);
      code = Code::ok;
      return true;
    }
    case Op::sem_value:
      if (o.kind != ObjectKind::semaphore || !in.done()) return true;
      w.i64(o.sem.value);
      code = Code::ok;
      return true;
    case Op::event_set:
    case Op::event_clear:
    case Op::event_is_set:
    case Op::event_wait: {
      if (o.kind != ObjectKind::event || !in.done()) return true;
      EventData& e = o.event;
      code = Code::ok;
      if (op == Op::event_set) {
        fx.changed = !e.set;
        e.set = true;
        for (const Waiter& x : e.waiters)
          reply_to(fx, x, Code::ok);
        e.waiters.clear();
      } else if (op == Op::event_clear) {
        fx.changed = e.set;
        e.set = false;
      } else if (op == Op::event_is_set) {
        code = e.set ? Code::ok : Code::absent;
      } else if (!e.set) {
        e.waiters.push_back({caller.client, caller.request, 1, Code::ok});
        involve(caller.client, name);
        return false;
      }
      return true;
    }
    case Op::barrier_wait:
    case Op::barrier_reset:
    case Op::barrier_abort:
    case Op::barrier_state: {
      if (o.kind != ObjectKind::barrier || !in.done()) return true;
      BarrierData& b = o.barrier;
      code = Code::ok;
      if (op == Op::barrier_state) {
        w.u64(b.parties);
        w.u64(b.waiters.size());
        w.u8(b.broken ? 1 : 0);
      } else if (op == Op::barrier_abort) {
        break_barrier(b, fx);
      } else if (op == Op::barrier_reset) {
        break_barrier(b, fx);  // current waiters get broken, as in Python
        b.broken = false;
      } else if (b.broken) {
        code = Code::broken;
      } else {
        b.waiters.push_back({caller.client, caller.request, 1, Code::ok});
        involve(caller.client, name);
        if (b.waiters.size() < b.parties) return false;
        for (std::size_t i = 0; i < b.waiters.size(); ++i) {
          std::string index;
          wire::Writer(index).u64(i);
          if (b.waiters[i].client == caller.client && b.waiters[i].request == caller.request) {
            out = std::move(index);  // the last arrival's own reply goes out below
          } else {
            reply_to(fx, b.waiters[i], Code::ok, std::move(index));
          }
        }
        b.waiters.clear();
      }
      return true;
    }
    default:
      return true;  // code stays malformed
  }
}

void Store::cancel(std::uint64_t client, std::uint64_t request, Effects& fx) {
  const auto inv = involved_.find(client);
  if (inv == involved_.end()) return;
  for (const std::string& name : inv->second) {
    const auto it = objects_.find(name);
    if (it == objects_.end()) continue;
    Object& o = *it->second;
    Waiter w;
    switch (o.kind) {
      case ObjectKind::lock:
      case ObjectKind::rlock:
        if (remove_waiter(o.lock.waiters, client, request, &w))
          return reply_to(fx, w, Code::timeout);
        break;
      case ObjectKind::semaphore:
        if (remove_waiter(o.sem.waiters, client, request, &w))
          return reply_to(fx, w, Code::timeout);
        break;
      case ObjectKind::event:
        if (remove_waiter(o.event.waiters, client, request, &w))
          return reply_to(fx, w, Code::timeout);
        break;
      case ObjectKind::barrier:
        if (std::any_of(o.barrier.waiters.begin(), o.barrier.waiters.end(), [&](const Waiter& x) {
              return x.client == client && x.request == request;
            })) {
          return break_barrier(o.barrier, fx);  // a timeout breaks the barrier, as in Python
        }
        break;
      case ObjectKind::condition:
        if (remove_waiter(o.cond.waiters, client, request, &w)) {
          // Not notified in time: re-acquire the lock, then return timeout.
          w.code = Code::timeout;
          o.cond.lock.waiters.push_back(w);
          return grant_lock(o.cond.lock, fx);
        }
        if (const auto at = std::find_if(
                o.cond.lock.waiters.begin(), o.cond.lock.waiters.end(),
                [&](const Waiter& x) { return x.client == client && x.request == request; });
            at != o.cond.lock.waiters.end()) {
          if (at->reacquire) return;  // a wait keeps re-acquiring its lock, as in Python
          w = *at;
          o.cond.lock.waiters.erase(at);
          return reply_to(fx, w, Code::timeout);  // a plain acquire with a deadline
        }
        break;
      default:
        break;
    }
  }
}

void Store::drop_client(std::uint64_t client, Effects& fx) {
  const auto inv = involved_.find(client);
  if (inv == involved_.end()) return;
  for (const std::string& name : inv->second) {
    const auto it = objects_.find(name);
    if (it == objects_.end()) continue;
    Object& o = *it->second;
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
  involved_.erase(inv);
}

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
