// The Manager's wire protocol: the bytes of one request or reply message, carried by shmq's own
// Queue<std::string> (requests: N.req, MPSC; replies: N.c<id>, SPSC).
//
// Every message starts with a 32-byte frame header (little-endian, packed by hand):
//
//   0  u8  op          Op; Op::reply for replies
//   1  u8  flags       kFrameMore: another part of the same message follows
//   2  u16 version     kProtocolVersion
//   4  u32 epoch       the server epoch the client believes in (requests only)
//   8  u64 client_id   who asks (requests) / who is answered (replies)
//  16  u64 request_id  per client, increasing; a reply carries its request's id
//  24  u64 token       the client's registry token in N.req (requests only): its liveness
//
// A message larger than one queue slot is sent as several frames with kFrameMore on all but the
// last; frames of one message are contiguous per sender (a queue is FIFO per producer), and the
// receiver reassembles them before acting: a request is applied whole or not at all.
//
// Bodies are sequences of fields read with Reader, which checks every length against what is
// left and never reads out of bounds: a hostile body makes `ok()` false, nothing else.
//   request body: object name (bytes), object kind (u8), then the op's arguments
//   reply body:   Code (u8), then the op's results
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace shmq::detail::wire {

inline constexpr std::uint16_t kProtocolVersion = 1;
inline constexpr std::size_t kFrameHeaderBytes = 32;
inline constexpr std::uint8_t kFrameMore = 1U << 0;
// A reassembled message may not exceed this (a hostile client must not exhaust the server).
inline constexpr std::size_t kMaxMessageBytes = 64U << 20;
inline constexpr std::size_t kMaxObjectName = 1024;

enum class Op : std::uint8_t {
  reply = 0,
  attach = 1,  // name, kind, tag (bytes), param (u64), initial (bytes): create or check
  shutdown = 2,
  cancel = 3,  // target request id (u64), no object: give up a blocking wait; never answered
  ping = 4,
  dict_get = 16,         // key -> ok value | absent
  dict_set = 17,         // key, value
  dict_erase = 18,       // key -> ok | absent
  dict_contains = 19,    // key -> ok | absent
  dict_size = 20,        // -> u64
  dict_items = 21,       // -> u64 n, n × (key, value)
  dict_update = 22,      // u64 n, n × (key, value)
  dict_clear = 23,       //
  dict_setdefault = 24,  // key, value -> the value now stored
  dict_pop = 25,         // key -> ok value | absent
  list_append = 32,      // value
  list_extend = 33,      // u64 n, n × value
  list_get = 34,         // i64 index -> value | index_error
  list_set = 35,         // i64 index, value
  list_insert = 36,      // i64 index, value (Python's clamping)
  list_pop = 37,         // i64 index -> value | index_error
  list_size = 38,        // -> u64
  list_items = 39,       // -> u64 n, n × value
  list_clear = 40,       //
  list_remove = 41,      // value -> ok | absent (first equal element)
  value_get = 48,        // -> value
  value_set = 49,        // value
  value_cas = 50,        // expected, desired -> ok | absent (then the current value)
  lock_acquire = 64,     // u8 blocking -> ok | absent (would block) | timeout (cancelled)
  lock_release = 65,     // -> ok | not_owner
  lock_locked = 66,      // -> ok (locked) | absent
  sem_acquire = 72,      // u8 blocking -> as lock_acquire
  sem_release = 73,      // u64 n
  sem_value = 74,        // -> i64
  event_set = 80,        //
  event_clear = 81,      //
  event_is_set = 82,     // -> ok | absent
  event_wait = 83,       // -> ok | timeout
  barrier_wait = 88,     // -> ok u64 index | broken
  barrier_reset = 89,    //
  barrier_abort = 90,    //
  barrier_state = 91,    // -> u64 parties, u64 waiting, u8 broken
  cond_wait = 96,        // -> ok | timeout (the lock is held again either way) | not_owner
  cond_notify = 97,      // u64 n (UINT64_MAX: all) -> u64 woken
};

enum class Code : std::uint8_t {
  ok = 0,
  absent = 1,  // no such key / false / would block
  timeout = 2,
  malformed = 3,
  wrong_kind = 4,
  type_mismatch = 5,
  index_error = 6,
  not_owner = 7,
  broken = 8,
  stale_epoch = 9,
  shutting_down = 10,
  not_found = 11,
  too_large = 12,
  refused = 13,  // the server tracks as many clients as it may (not applied; try again later)
};

enum class ObjectKind : std::uint8_t {
  dict = 1,
  list = 2,
  value = 3,
  lock = 4,
  rlock = 5,
  semaphore = 6,
  event = 7,
  barrier = 8,
  condition = 9,
  queue = 10,
};

struct FrameHeader {
  Op op = Op::reply;
  std::uint8_t flags = 0;
  std::uint16_t version = kProtocolVersion;
  std::uint32_t epoch = 0;
  std::uint64_t client_id = 0;
  std::uint64_t request_id = 0;
  std::uint64_t token = 0;
};

inline void put_header(const FrameHeader& h, char* out) noexcept {
  out[0] = static_cast<char>(h.op);
  out[1] = static_cast<char>(h.flags);
  std::memcpy(out + 2, &h.version, 2);
  std::memcpy(out + 4, &h.epoch, 4);
  std::memcpy(out + 8, &h.client_id, 8);
  std::memcpy(out + 16, &h.request_id, 8);
  std::memcpy(out + 24, &h.token, 8);
}

// False if the message is too short or of another protocol version.
inline bool get_header(std::string_view in, FrameHeader& h) noexcept {
  if (in.size() < kFrameHeaderBytes) return false;
  h.op = static_cast<Op>(in[0]);
  h.flags = static_cast<std::uint8_t>(in[1]);
  std::memcpy(&h.version, in.data() + 2, 2);
  std::memcpy(&h.epoch, in.data() + 4, 4);
  std::memcpy(&h.client_id, in.data() + 8, 8);
  std::memcpy(&h.request_id, in.data() + 16, 8);
  std::memcpy(&h.token, in.data() + 24, 8);
  return h.version == kProtocolVersion && (h.flags & ~kFrameMore) == 0;
}

// Appends fields to a body.
class Writer {
 public:
  explicit Writer(std::string& out) noexcept : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u64(std::uint64_t v) { out_.append(reinterpret_cast<const char*>(&v), 8); }
  void i64(std::int64_t v) { out_.append(reinterpret_cast<const char*>(&v), 8); }
  void bytes(std::string_view v) {
    const auto n = static_cast<std::uint32_t>(v.size());
    out_.append(reinterpret_cast<const char*>(&n), 4);
    out_.append(v);
  }
  // A length-prefixed field filled in place by `fill(std::string&)` (no intermediate copy).
  template <class Fill>
  void field(Fill&& fill) {
    const std::size_t at = out_.size();
    out_.append(4, '\0');
    fill(out_);
    const auto n = static_cast<std::uint32_t>(out_.size() - at - 4);
    std::memcpy(out_.data() + at, &n, 4);
  }

 private:
  std::string& out_;
};

// Reads fields from a body; any overrun makes ok() false and returns zeros / empty views.
class Reader {
 public:
  explicit Reader(std::string_view in) noexcept : in_(in) {}
  bool ok() const noexcept { return ok_; }
  bool done() const noexcept { return ok_ && in_.empty(); }
  std::size_t left() const noexcept { return in_.size(); }
  void fail() noexcept { ok_ = false; }

  std::uint8_t u8() noexcept {
    if (!need(1)) return 0;
    const auto v = static_cast<std::uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return v;
  }
  std::uint64_t u64() noexcept {
    std::uint64_t v = 0;
    if (!need(8)) return 0;
    std::memcpy(&v, in_.data(), 8);
    in_.remove_prefix(8);
    return v;
  }
  std::int64_t i64() noexcept { return static_cast<std::int64_t>(u64()); }
  std::string_view bytes() noexcept {
    std::uint32_t n = 0;
    if (!need(4)) return {};
    std::memcpy(&n, in_.data(), 4);
    if (n > in_.size() - 4) {  // checked against what is left, once
      ok_ = false;
      return {};
    }
    const std::string_view v = in_.substr(4, n);
    in_.remove_prefix(4 + std::size_t{n});
    return v;
  }
  // A count of items that each take at least `min_item_bytes`: bounded by what is left.
  std::uint64_t count(std::size_t min_item_bytes) noexcept {
    const std::uint64_t n = u64();
    if (ok_ && n > in_.size() / (min_item_bytes == 0 ? 1 : min_item_bytes)) ok_ = false;
    return ok_ ? n : 0;
  }

 private:
  bool need(std::size_t n) noexcept {
    if (!ok_ || in_.size() < n) {
      ok_ = false;
      return false;
    }
    return true;
  }
  std::string_view in_;
  bool ok_ = true;
};

}  // namespace shmq::detail::wire
