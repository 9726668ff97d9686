// The Manager server's objects, in the server's own memory (runtime-private).
//
// The Store applies one whole request at a time (the server is single-threaded): a request either
// runs to completion or is rejected before it changes anything — every argument is decoded and
// checked before the first mutation. Keys and values are opaque bytes (the clients' Codecs).
//
// Determinism: applying the same sequence of committed requests to an empty Store gives the same
// state. The journal relies on it: it records each request that changed an object (`changed`)
// and a new server replays them (runtime/manager/manager_journal.hpp). Blocking objects (locks,
// semaphores, barriers, conditions) are journaled only by their creation: their holders and
// waiters belonged to the dead server's epoch.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "shmq/detail/manager/manager_protocol.hpp"

namespace shmq::detail::mgr {

using wire::Code;
using wire::ObjectKind;
using wire::Op;

// A reply the server must send (to the caller, or to a waiter that was woken).
struct Reply {
  std::uint64_t client = 0;
  std::uint64_t request = 0;
  Code code = Code::ok;
  std::string body;  // results after the code
};

// What applying one request did.
struct Effects {
  std::vector<Reply> replies;
  bool changed = false;  // journal the request
};

// Who is asking; client 0 is the journal replaying.
struct Caller {
  std::uint64_t client = 0;
  std::uint64_t request = 0;
};

// What a sync request does now: a code to reply with at once, or kParked: the caller waits as a
// Waiter and gets its one reply later (granted, cancelled at its deadline, or its barrier broken).
using SyncReply = std::optional<Code>;
inline constexpr std::nullopt_t kParked = std::nullopt;

struct Waiter {
  std::uint64_t client = 0;
  std::uint64_t request = 0;
  std::uint32_t count = 1;  // rlock/condition: the recursion level to restore when granted
  Code code = Code::ok;     // condition: what the wait returns once the lock is re-acquired
  bool reacquire = false;   // a condition wait re-acquiring its lock (not cancellable)
};

// Heterogeneous lookup: find a std::string key by std::string_view without a copy.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

struct DictData {
  using Items = std::list<std::pair<std::string, std::string>>;  // insertion order
  Items items;
  StringMap<Items::iterator> index;
};
struct ListData {
  std::vector<std::string> items;
};
struct ValueData {
  std::string bytes;
};
struct LockData {  // lock, rlock, and a condition's lock
  std::uint64_t owner = 0;
  std::uint32_t count = 0;
  std::deque<Waiter> waiters;
};
struct SemaphoreData {
  std::int64_t value = 0;
  std::deque<Waiter> waiters;
  std::unordered_map<std::uint64_t, std::uint64_t> held;  // permits per client, for crashes
};
struct EventData {
  bool set = false;
  std::vector<Waiter> waiters;
};
struct BarrierData {
  std::uint64_t parties = 1;
  bool broken = false;
  std::vector<Waiter> waiters;
};
struct ConditionData {
  LockData lock;
  std::deque<Waiter> waiters;
};

struct Object {
  ObjectKind kind = ObjectKind::dict;
  std::string tag;          // the clients' type signature
  std::uint64_t param = 0;  // semaphore value, barrier parties
  std::string initial;      // value: the initial bytes
  DictData dict;
  ListData list;
  ValueData value;
  LockData lock;
  SemaphoreData sem;
  EventData event;
  BarrierData barrier;
  ConditionData cond;
};

class Store {
 public:
  // Applies one request whose body starts with the object's name and kind. Malformed bodies and
  // type errors give an error reply and change nothing.
  void apply(const Caller& caller, Op op, std::string_view body, Effects& fx);
  // The client gave up its blocking wait `request` (its deadline passed).
  void cancel(std::uint64_t client, std::uint64_t request, Effects& fx);
  // The client is dead: release what it holds, drop its waits, break the barriers it was in.
  void drop_client(std::uint64_t client, Effects& fx);
  // Every waiter, with `code` (shutdown).
  void fail_all_waiters(Code code, Effects& fx);
  // Names of queues handed out by queue<T>(name), to unlink at shutdown.
  const std::vector<std::string>& queues() const noexcept { return queues_; }
  // A sequence of requests that rebuilds the current state (journal compaction).
  void snapshot(const std::function<void(Op, std::string_view)>& emit) const;
  std::size_t objects() const noexcept { return objects_.size(); }

 private:
  void attach(const Caller& caller, std::string_view name, ObjectKind kind, wire::Reader& in,
              Effects& fx);
  Code apply_dict(DictData& d, Op op, wire::Reader& in, Effects& fx, std::string& out);
  Code apply_list(ListData& l, Op op, wire::Reader& in, Effects& fx, std::string& out);
  Code apply_value(ValueData& v, Op op, wire::Reader& in, Effects& fx, std::string& out);
  // Sync objects may answer later: kParked when the caller now waits (see SyncReply).
  SyncReply apply_sync(const Caller& caller, const std::string& name, Object& o, Op op,
                       wire::Reader& in, Effects& fx, std::string& out);
  SyncReply apply_lock(const Caller& caller, const std::string& name, Object& o, Op op,
                       wire::Reader& in, Effects& fx);
  SyncReply apply_condition(const Caller& caller, const std::string& name, Object& o, Op op,
                            wire::Reader& in, Effects& fx, std::string& out);
  SyncReply apply_semaphore(const Caller& caller, const std::string& name, Object& o, Op op,
                            wire::Reader& in, Effects& fx, std::string& out);
  SyncReply apply_event(const Caller& caller, const std::string& name, EventData& e, Op op,
                        Effects& fx);
  SyncReply apply_barrier(const Caller& caller, const std::string& name, BarrierData& b, Op op,
                          Effects& fx, std::string& out);
  SyncReply lock_acquire(const Caller& caller, LockData& l, bool recursive, bool blocking);
  Code sem_release(const Caller& caller, SemaphoreData& s, std::uint64_t n, Effects& fx);
  void release_barrier(const Caller& caller, BarrierData& b, Effects& fx, std::string& out);
  Code lock_release(const Caller& caller, LockData& l, bool recursive, Effects& fx);
  void grant_lock(LockData& l, Effects& fx);
  void grant_semaphore(SemaphoreData& s, Effects& fx);
  void break_barrier(BarrierData& b, Effects& fx);
  void involve(std::uint64_t client, const std::string& name);
  // The objects `client` holds something or waits in (from involved_).
  std::vector<Object*> involved_objects(std::uint64_t client) const;
  bool cancel_in(Object& o, std::uint64_t client, std::uint64_t request, Effects& fx);
  bool cancel_condition_wait(ConditionData& c, std::uint64_t client, std::uint64_t request,
                             Effects& fx);
  void release_all(Object& o, std::uint64_t client, Effects& fx);

  StringMap<std::unique_ptr<Object>> objects_;
  std::vector<std::string> order_;  // creation order, for snapshots
  std::vector<std::string> queues_;
  // Objects in which a client holds something or waits: where drop_client/cancel look.
  std::unordered_map<std::uint64_t, std::unordered_set<std::string>> involved_;
};

// Python's list index rules: negative counts from the end. False if out of range.
bool normalize_index(std::int64_t index, std::size_t size, std::size_t& out) noexcept;

}  // namespace shmq::detail::mgr
