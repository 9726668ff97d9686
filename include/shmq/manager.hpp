// shmq::Manager: a server process that owns named shared objects — Python's
// multiprocessing.Manager(), natively, layered on shmq's own Queue.
//
//   auto mgr = shmq::Manager::create("app");           // forks the server
//   auto d = mgr.dict<std::string, int>("scores");      // the same object in every process
//   d.set("Darr_en1", 22);
//   std::cout << d << '\n';                              // {'Darr_en1': 22}
//
// Objects: dict<K, V>, list<T>, value<T>, lock, rlock, semaphore, event, barrier(parties),
// condition, and queue<T> (a shmq::Queue named under the manager). A second process asking for
// the same name gets the same object; asking with other types (or another kind) is an Error.
// Keys and values: std::string, trivially copyable types, and shmq::Codec<T> (shmq/codec.hpp).
//
// How: the server (Manager::create forks it; `shmq serve NAME` runs Manager::serve) takes requests
// from one MPSC request queue, applies each whole, in arrival order, and answers on the client's
// own SPSC reply queue. A waiting client sleeps in slices of ManagerOptions::wait.sleep_slice and
// checks the server's kernel-backed liveness token between slices.
//
// Crashes (docs/manager.md):
// - a client killed mid-request: the request is applied whole or not at all (the server applies
//   only complete requests);
// - a client killed holding a lock (rlock, condition, semaphore permits): the server finds it dead
//   within ManagerOptions::housekeeping and releases what it held; a barrier it waited in breaks;
// - the server killed: every waiting or later call throws Error(std::errc::owner_dead) within
//   about one sleep slice; a request in flight at that moment is in doubt (applied or not);
// - a new server on the same name (Manager::serve, or create after remove) adopts the objects:
//   it replays the old server's journal of committed changes, so dict, list, value contents and
//   event states survive; locks, semaphores, barriers and conditions restart free.
//
// Errors: object calls throw shmq::Error — std::errc::owner_dead (server died), not_connected
// (shut down), Errc::wrong_kind / type_mismatch (the name is another kind / other types),
// std::errc::operation_not_permitted (releasing a lock not held), std::errc::operation_canceled
// (a broken barrier), std::errc::connection_refused (the server tracks as many clients as it may,
// docs/manager.md "Hostile input"; the call was not applied, a later one may be); list indexes
// out of range throw std::out_of_range (Python's IndexError).
//
// Memory ordering: one server applies every request in one total order (the request queue's), and
// a call returns only after its request was applied, so each object is linearizable: a call that
// starts after another returned sees its effect, in any process. A lock's acquire returns after
// the previous holder's release was applied, so what the holder did to Manager objects before
// releasing is seen by the next holder (for plain memory, use shared memory of your own plus a
// lock, as with any mutex). A journaled change is durable (survives the server) once its call
// returned.
//
// Handles: Manager is move-only; object handles are cheap to copy and share its connection.
// A connection is not thread-safe: give each thread its own Manager::open. After fork() a child
// may use inherited handles: its first call gets it its own connection (and lock identity).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>

#include "shmq/codec.hpp"
#include "shmq/detail/manager/manager_client.hpp"
#include "shmq/detail/manager/manager_protocol.hpp"
#include "shmq/error.hpp"
#include "shmq/options.hpp"
#include "shmq/queue.hpp"

namespace shmq {

struct ManagerOptions {
  std::uint32_t request_capacity = 1024;  // messages in the shared request queue
  std::uint32_t reply_capacity = 64;      // messages in each client's reply queue
  std::uint32_t max_message = 4096;       // bytes per message; larger requests go in parts
  std::uint32_t mode = 0600;              // permissions of every segment
  // Waits of clients and server. sleep_slice bounds how long a dead server goes unnoticed.
  // A short spin: long enough for a round trip when both sides have a core (so the reply comes
  // while spinning), short enough not to starve the server when cores are oversubscribed
  // (docs/manager.md; figures: docs/bench.md, "Measurements behind the waiting rules"; a spin
  // is also bounded by WaitPolicy::spin_limit and never yields the CPU, event_count.hpp).
  // Not adaptive: client and server are request/reply partners (options.hpp, WaitPolicy).
  WaitPolicy wait{
      .spin_iterations = 1000, .sleep_slice = std::chrono::milliseconds(100), .adaptive = false};
  // How often the server checks its clients' liveness (releases a dead client's locks).
  std::chrono::milliseconds housekeeping{20};
  // open()/create(): how long to wait for a server that is starting.
  std::chrono::milliseconds start_timeout{5000};
  // create(): the server shuts down (cleanly) when the creating process dies.
  bool exit_with_parent = true;
  // serve(): SIGTERM and SIGINT shut the server down cleanly.
  bool handle_signals = true;
};

namespace detail {

// What every object handle has: the connection, the object's name and kind.
class ManagerObject {
 public:
  const std::string& name() const noexcept { return name_; }

 protected:
  using Reply = ManagerClient::Reply;
  using Op = wire::Op;
  using Code = wire::Code;

  ManagerObject(std::shared_ptr<ManagerClient> client, std::string_view name, wire::ObjectKind kind,
                std::string_view tag, std::uint64_t param = 0, std::string_view initial = {});

  // Sends op with the object's name, kind and the arguments `fill(wire::Writer&)` writes.
  template <class Fill>
  Reply call(Op op, Fill&& fill, Deadline deadline = Deadline::max()) const {
    std::string body = prefix_;
    wire::Writer w(body);
    fill(w);
    return client_->call(op, body, deadline);
  }
  Reply call(Op op, Deadline deadline = Deadline::max()) const {
    return client_->call(op, prefix_, deadline);
  }
  // The one reply check: ok -> true; a code listed in `as_false` -> false; index_error ->
  // std::out_of_range; anything else throws shmq::Error (ManagerClient::raise).
  bool accept(const Reply& r, std::initializer_list<Code> as_false = {}) const {
    if (r.code == Code::ok) return true;
    for (const Code c : as_false) {
      if (r.code == c) return false;
    }
    if (r.code == Code::index_error) index_error();
    client_->raise(r, name_);
  }
  // Ok -> true, absent -> false.
  bool check(const Reply& r) const { return accept(r, {Code::absent}); }
  // Ok -> true; timeout (a cancelled wait) or absent -> false.
  bool check_wait(const Reply& r) const { return accept(r, {Code::timeout, Code::absent}); }
  // The acquire of a lock or a semaphore (op: lock_acquire or sem_acquire): blocking until
  // granted or `deadline` (false at the deadline), or not blocking (false if it would block).
  bool acquire_as(Op op, bool blocking, Deadline deadline = Deadline::max()) const {
    const Reply r = call(
        op, [&](auto& w) { w.u8(blocking ? 1 : 0); }, deadline);
    return blocking ? check_wait(r) : check(r);
  }
  // Ok only: the reply, for its body.
  Reply expect(Reply r) const {
    accept(r);
    return r;
  }
  [[noreturn]] void raise(const Reply& r) const { client_->raise(r, name_); }
  [[noreturn]] void undecodable() const;
  [[noreturn]] void broken_barrier() const;
  [[noreturn]] void index_error() const;

  template <Codable T>
  static void put(wire::Writer& w, const T& v) {
    w.field([&](std::string& out) { Codec<T>::encode(v, out); });
  }
  template <Codable T>
  T take(wire::Reader& in) const {
    const std::string_view bytes = in.bytes();
    T v{};
    if (!in.ok() || !Codec<T>::decode(bytes, v)) undecodable();
    return v;
  }
  std::uint64_t take_u64(const Reply& r) const {
    wire::Reader in(r.body);
    const std::uint64_t v = in.u64();
    if (!in.ok()) undecodable();
    return v;
  }

  std::shared_ptr<ManagerClient> client_;
  std::string name_;
  std::string prefix_;  // the encoded name and kind every request starts with
};

template <class T>
std::string type_tag() {
  return typeid(T).name();
}

}  // namespace detail

// A dict in the server: insertion-ordered, like Python 3.7+ dicts. All calls are one round trip.
template <Codable K, Codable V>
class Dict : public detail::ManagerObject {
 public:
  Dict(std::shared_ptr<detail::ManagerClient> client, std::string_view name)
      : ManagerObject(std::move(client), name, detail::wire::ObjectKind::dict,
                      detail::type_tag<K>() + "," + detail::type_tag<V>()) {}

  std::optional<V> get(const K& key) const {
    const Reply r = call(Op::dict_get, [&](auto& w) { put(w, key); });
    if (!check(r)) return std::nullopt;
    detail::wire::Reader in(r.body);
    return take<V>(in);
  }
  V get(const K& key, const V& fallback) const { return get(key).value_or(fallback); }
  void set(const K& key, const V& value) const {
    check(call(Op::dict_set, [&](auto& w) {
      put(w, key);
      put(w, value);
    }));
  }
  // del d[key]; returns whether the key was there.
  bool erase(const K& key) const {
    return check(call(Op::dict_erase, [&](auto& w) { put(w, key); }));
  }
  bool contains(const K& key) const {
    return check(call(Op::dict_contains, [&](auto& w) { put(w, key); }));
  }
  std::size_t size() const { return take_u64(expect(call(Op::dict_size))); }
  bool empty() const { return size() == 0; }
  // A snapshot of the items, in insertion order.
  std::vector<std::pair<K, V>> items() const {
    const Reply r = expect(call(Op::dict_items));
    detail::wire::Reader in(r.body);
    const std::uint64_t n = in.count(8);
    std::vector<std::pair<K, V>> out;
    out.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) {
      K k = take<K>(in);
      V v = take<V>(in);
      out.emplace_back(std::move(k), std::move(v));
    }
    if (!in.done()) undecodable();
    return out;
  }
  std::vector<K> keys() const {
    std::vector<K> out;
    for (auto& kv : items())
      out.push_back(std::move(kv.first));
    return out;
  }
  std::vector<V> values() const {
    std::vector<V> out;
    for (auto& kv : items())
      out.push_back(std::move(kv.second));
    return out;
  }
  // Sets every pair, in order, as one request (applied whole).
  template <class Range = std::vector<std::pair<K, V>>>
  void update(const Range& pairs) const {
    check(call(Op::dict_update, [&](auto& w) {
      w.u64(static_cast<std::uint64_t>(std::ranges::distance(pairs)));
      for (const auto& [k, v] : pairs) {
        put(w, static_cast<const K&>(k));
        put(w, static_cast<const V&>(v));
      }
    }));
  }
  void update(std::initializer_list<std::pair<K, V>> pairs) const {
    update<std::initializer_list<std::pair<K, V>>>(pairs);
  }
  void clear() const { check(call(Op::dict_clear)); }
  // The value stored for key, inserting `value` first if the key is absent.
  V setdefault(const K& key, const V& value) const {
    const Reply r = expect(call(Op::dict_setdefault, [&](auto& w) {
      put(w, key);
      put(w, value);
    }));
    detail::wire::Reader in(r.body);
    return take<V>(in);
  }
  std::optional<V> pop(const K& key) const {
    const Reply r = call(Op::dict_pop, [&](auto& w) { put(w, key); });
    if (!check(r)) return std::nullopt;
    detail::wire::Reader in(r.body);
    return take<V>(in);
  }
  V pop(const K& key, const V& fallback) const { return pop(key).value_or(fallback); }

  // Python's form: {'Darr_en1': 22, 'Darr_en2': 44}
  std::string to_string() const {
    std::string out = "{";
    bool first = true;
    for (const auto& [k, v] : items()) {
      if (!first) out.append(", ");
      first = false;
      Codec<K>::repr(k, out);
      out.append(": ");
      Codec<V>::repr(v, out);
    }
    out.push_back('}');
    return out;
  }
  friend std::ostream& operator<<(std::ostream& os, const Dict& d) { return os << d.to_string(); }
};

// A list in the server. Indexes follow Python: negative counts from the end.
template <Codable T>
class List : public detail::ManagerObject {
 public:
  List(std::shared_ptr<detail::ManagerClient> client, std::string_view name)
      : ManagerObject(std::move(client), name, detail::wire::ObjectKind::list,
                      detail::type_tag<T>()) {}

  void append(const T& v) const {
    check(call(Op::list_append, [&](auto& w) { put(w, v); }));
  }
  template <class Range = std::vector<T>>
  void extend(const Range& vs) const {
    check(call(Op::list_extend, [&](auto& w) {
      w.u64(static_cast<std::uint64_t>(std::ranges::distance(vs)));
      for (const auto& v : vs)
        put(w, static_cast<const T&>(v));
    }));
  }
  // Throws std::out_of_range for an index out of range (Python's IndexError).
  T get(std::int64_t index) const {
    const Reply r = call(Op::list_get, [&](auto& w) { w.i64(index); });
    return value_of(r);
  }
  void set(std::int64_t index, const T& v) const {
    const Reply r = call(Op::list_set, [&](auto& w) {
      w.i64(index);
      put(w, v);
    });
    check(r);  // index_error: std::out_of_range
  }
  // Python's insert: an index past either end inserts at that end.
  void insert(std::int64_t index, const T& v) const {
    check(call(Op::list_insert, [&](auto& w) {
      w.i64(index);
      put(w, v);
    }));
  }
  T pop(std::int64_t index = -1) const {
    return value_of(call(Op::list_pop, [&](auto& w) { w.i64(index); }));
  }
  // Removes the first element equal (in bytes) to v; returns whether there was one.
  bool remove(const T& v) const {
    return check(call(Op::list_remove, [&](auto& w) { put(w, v); }));
  }
  std::size_t size() const { return take_u64(expect(call(Op::list_size))); }
  bool empty() const { return size() == 0; }
  std::vector<T> items() const {
    const Reply r = expect(call(Op::list_items));
    detail::wire::Reader in(r.body);
    const std::uint64_t n = in.count(4);
    std::vector<T> out;
    out.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i)
      out.push_back(take<T>(in));
    if (!in.done()) undecodable();
    return out;
  }
  void clear() const { check(call(Op::list_clear)); }
  // Python's form: [1, 2, 3]
  std::string to_string() const {
    std::string out;
    Codec<std::vector<T>>::repr(items(), out);
    return out;
  }
  friend std::ostream& operator<<(std::ostream& os, const List& l) { return os << l.to_string(); }

 private:
  T value_of(const Reply& r) const {
    accept(r);
    detail::wire::Reader in(r.body);
    return take<T>(in);
  }
};

// One value in the server (Python's Manager().Value).
template <Codable T>
class Value : public detail::ManagerObject {
 public:
  Value(std::shared_ptr<detail::ManagerClient> client, std::string_view name, const T& initial)
      : ManagerObject(std::move(client), name, detail::wire::ObjectKind::value,
                      detail::type_tag<T>(), 0, encode(initial)) {}

  T get() const {
    const Reply r = expect(call(Op::value_get));
    detail::wire::Reader in(r.body);
    return take<T>(in);
  }
  void set(const T& v) const {
    check(call(Op::value_set, [&](auto& w) { put(w, v); }));
  }
  // Sets `desired` if the value equals (in bytes) `expected`; else loads it into `expected`.
  bool compare_exchange(T& expected, const T& desired) const {
    const Reply r = call(Op::value_cas, [&](auto& w) {
      put(w, expected);
      put(w, desired);
    });
    if (check(r)) return true;
    detail::wire::Reader in(r.body);
    expected = take<T>(in);
    return false;
  }
  std::string to_string() const { return shmq::repr(get()); }
  friend std::ostream& operator<<(std::ostream& os, const Value& v) { return os << v.to_string(); }

 private:
  static std::string encode(const T& v) {
    std::string out;
    Codec<T>::encode(v, out);
    return out;
  }
};

namespace detail {

// acquire / release shared by Lock, RLock and Condition. BasicLockable and Lockable, so
// std::lock_guard and std::unique_lock work.
class LockBase : public ManagerObject {
 public:
  void acquire() const { acquire_as(Op::lock_acquire, true); }
  bool try_acquire() const { return acquire_as(Op::lock_acquire, false); }
  template <class Rep, class Period>
  bool acquire_for(std::chrono::duration<Rep, Period> timeout) const {
    return acquire_as(Op::lock_acquire, true, detail::deadline_after(timeout));
  }
  // Throws Error(operation_not_permitted) if the lock is not held (an rlock: not by this client).
  void release() const { check(call(Op::lock_release)); }
  bool locked() const { return check(call(Op::lock_locked)); }
  void lock() const { acquire(); }
  void unlock() const { release(); }
  bool try_lock() const { return try_acquire(); }

 protected:
  using ManagerObject::ManagerObject;
};

}  // namespace detail

// A lock held by one client at a time. Python's Lock: any client may release it. Released by the
// server if its holder dies.
class Lock : public detail::LockBase {
 public:
  Lock(std::shared_ptr<detail::ManagerClient> client, std::string_view name)
      : LockBase(std::move(client), name, detail::wire::ObjectKind::lock, "lock") {}
};

// A re-entrant lock: its holder may acquire it again; only the holder releases it.
class RLock : public detail::LockBase {
 public:
  RLock(std::shared_ptr<detail::ManagerClient> client, std::string_view name)
      : LockBase(std::move(client), name, detail::wire::ObjectKind::rlock, "rlock") {}
};

// A condition variable with its own re-entrant lock (Python's Condition()).
class Condition : public detail::LockBase {
 public:
  Condition(std::shared_ptr<detail::ManagerClient> client, std::string_view name)
      : LockBase(std::move(client), name, detail::wire::ObjectKind::condition, "condition") {}

  // Releases the lock, waits for a notify, re-acquires the lock. Must hold the lock.
  void wait() const { check_wait(call(Op::cond_wait)); }
  // As wait(); false if not notified within `timeout` (the lock is held again either way).
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) const {
    return check_wait(call(Op::cond_wait, detail::deadline_after(timeout)));
  }
  template <class Rep, class Period, class Predicate>
  bool wait_for(std::chrono::duration<Rep, Period> timeout, Predicate pred) const {
    const auto deadline = detail::deadline_after(timeout);
    while (!pred()) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return pred();
      wait_for(deadline - now);
    }
    return true;
  }
  // Wakes up to n waiters (they re-acquire the lock after this client releases it).
  std::uint64_t notify(std::uint64_t n = 1) const {
    const Reply r = call(Op::cond_notify, [&](auto& w) { w.u64(n); });
    check(r);
    return take_u64(r);
  }
  std::uint64_t notify_all() const { return notify(std::numeric_limits<std::uint64_t>::max()); }
};

// A counting semaphore. Permits held by a client that dies are returned.
class Semaphore : public detail::ManagerObject {
 public:
  Semaphore(std::shared_ptr<detail::ManagerClient> client, std::string_view name,
            std::uint64_t initial)
      : ManagerObject(std::move(client), name, detail::wire::ObjectKind::semaphore, "semaphore",
                      initial) {}
  void acquire() const { acquire_as(Op::sem_acquire, true); }
  bool try_acquire() const { return acquire_as(Op::sem_acquire, false); }
  template <class Rep, class Period>
  bool acquire_for(std::chrono::duration<Rep, Period> timeout) const {
    return acquire_as(Op::sem_acquire, true, detail::deadline_after(timeout));
  }
  void release(std::uint64_t n = 1) const {
    check(call(Op::sem_release, [&](auto& w) { w.u64(n); }));
  }
  std::int64_t value() const {
    const Reply r = call(Op::sem_value);
    check(r);
    return static_cast<std::int64_t>(take_u64(r));
  }
};

// Python's Event.
class Event : public detail::ManagerObject {
 public:
  Event(std::shared_ptr<detail::ManagerClient> client, std::string_view name)
      : ManagerObject(std::move(client), name, detail::wire::ObjectKind::event, "event") {}
  void set() const { check(call(Op::event_set)); }
  void clear() const { check(call(Op::event_clear)); }
  bool is_set() const { return check(call(Op::event_is_set)); }
  void wait() const { check_wait(call(Op::event_wait)); }
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) const {
    return check_wait(call(Op::event_wait, detail::deadline_after(timeout)));
  }
};

// Python's Barrier(parties). wait() returns the arrival index 0..parties-1; a broken barrier
// (abort(), a timed-out wait, a waiter that died, reset() under waiters) throws
// Error(std::errc::operation_canceled).
class Barrier : public detail::ManagerObject {
 public:
  Barrier(std::shared_ptr<detail::ManagerClient> client, std::string_view name,
          std::uint64_t parties)
      : ManagerObject(std::move(client), name, detail::wire::ObjectKind::barrier, "barrier",
                      parties) {}
  std::uint64_t wait() const { return index_of(call(Op::barrier_wait)); }
  template <class Rep, class Period>
  std::uint64_t wait_for(std::chrono::duration<Rep, Period> timeout) const {
    return index_of(call(Op::barrier_wait, detail::deadline_after(timeout)));
  }
  void reset() const { check(call(Op::barrier_reset)); }
  void abort() const { check(call(Op::barrier_abort)); }
  std::uint64_t parties() const { return state().parties; }
  std::uint64_t n_waiting() const { return state().waiting; }
  bool broken() const { return state().broken; }

 private:
  struct State {
    std::uint64_t parties = 0;
    std::uint64_t waiting = 0;
    bool broken = false;
  };
  State state() const;
  std::uint64_t index_of(const Reply& r) const {
    if (r.code == Code::broken || r.code == Code::timeout) broken_barrier();
    return take_u64(expect(r));
  }
};

class Manager {
 public:
  // Creates the manager `name` and forks its server. Throws Error(already_exists) if the name is
  // taken (Manager::remove clears what a dead manager left). The returned handle owns the server:
  // its destruction (in the creating process) shuts the server down.
  static Manager create(std::string_view name, const ManagerOptions& options = {});
  // Connects to the running manager `name`.
  static Manager open(std::string_view name, const ManagerOptions& options = {});
  // Runs a server for `name` in this process until shutdown() (or SIGTERM/SIGINT): creates the
  // manager if absent, adopts it if its server died. Throws Error if it has a live server.
  static void serve(std::string_view name, const ManagerOptions& options = {});
  // Unlinks every name the manager uses. Returns whether the manager existed.
  static bool remove(std::string_view name);

  Manager() noexcept = default;
  Manager(Manager&& other) noexcept;
  Manager& operator=(Manager&& other) noexcept;
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;
  ~Manager();

  // Stops the server (every client's later calls throw not_connected) and, for the creator,
  // waits for its process to end.
  void shutdown();
  bool server_alive() const { return client_ && client_->server_alive(); }
  const std::string& name() const;
  // The pid of the server process this handle started (create()), or -1.
  pid_t server_pid() const noexcept { return server_pid_; }

  template <Codable K, Codable V>
  Dict<K, V> dict(std::string_view name) const {
    return Dict<K, V>(connection(), name);
  }
  template <Codable T>
  List<T> list(std::string_view name) const {
    return List<T>(connection(), name);
  }
  // `initial` is used only if the value does not exist yet.
  template <Codable T>
  Value<T> value(std::string_view name, const T& initial = T{}) const {
    return Value<T>(connection(), name, initial);
  }
  Lock lock(std::string_view name) const { return Lock(connection(), name); }
  RLock rlock(std::string_view name) const { return RLock(connection(), name); }
  Condition condition(std::string_view name) const { return Condition(connection(), name); }
  Semaphore semaphore(std::string_view name, std::uint64_t initial = 1) const {
    return Semaphore(connection(), name, initial);
  }
  Event event(std::string_view name) const { return Event(connection(), name); }
  Barrier barrier(std::string_view name, std::uint64_t parties) const {
    return Barrier(connection(), name, parties);
  }
  // A shmq::Queue<T> named "<manager>.q.<name>", created on first use with `options` and
  // removed when the manager shuts down. An existing one made with other options is refused
  // (Errc::options_mismatch); the overload without options takes it as it is.
  template <detail::QueueElement T>
  Queue<T> queue(std::string_view name, const QueueOptions& options) const {
    register_queue(name);
    return Queue<T>::open_or_create(detail::manager_queue_name(this->name(), name), options);
  }
  // The queue `name` as it was made, or made now with the default options: what a worker that
  // only needs the queue asks for (Python's proxy carries no options either).
  template <detail::QueueElement T>
  Queue<T> queue(std::string_view name) const {
    register_queue(name);
    const std::string full = detail::manager_queue_name(this->name(), name);
    for (;;) {
      try {
        return Queue<T>::open(full);
      } catch (const Error& e) {
        if (e.code() != make_error_code(Errc::not_found)) throw;
      }
      try {
        return Queue<T>::create(full);
      } catch (const Error& e) {
        if (e.code() != make_error_code(Errc::already_exists)) throw;  // made meanwhile: open it
      }
    }
  }

 private:
  std::shared_ptr<detail::ManagerClient> connection() const;
  void register_queue(std::string_view name) const;

  std::shared_ptr<detail::ManagerClient> client_;
  pid_t server_pid_ = -1;
  pid_t owner_pid_ = -1;  // the process that created the server
};

}  // namespace shmq
