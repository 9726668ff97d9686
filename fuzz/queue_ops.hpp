// What the queue fuzz targets share: queue options decoded from one input byte, and the queue
// operations a hostile-state target runs between (or during) its attacks, with their values made
// and checked by a ValueOracle (segment_watch.hpp).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#include "segment_watch.hpp"
#include "shmq/detail/access.hpp"
#include "shmq/shmq.hpp"

namespace shmq::fuzz {

// shape: bit 1 multi-producer, bit 2 multi-consumer, bits 3-4 log2(capacity); bit 7: see
// start_position(). No spinning, 1 ms sleep slices.
inline shmq::QueueOptions queue_options(std::uint8_t shape, std::uint32_t max_message) {
  shmq::QueueOptions opt;
  opt.producers = (shape & 2) ? shmq::Producers::many : shmq::Producers::one;
  opt.consumers = (shape & 4) ? shmq::Consumers::many : shmq::Consumers::one;
  opt.capacity = 1ULL << ((shape >> 3) & 3);
  opt.max_message = max_message;
  opt.wait = shmq::WaitPolicy{0, std::chrono::milliseconds(1)};
  return opt;
}
// The ring's first position (detail::create_queue_at): with bit 7 of `shape`, `back_from_wrap`
// positions below 2^64 (the run goes through the wrap), else 0.
inline std::uint64_t start_position(std::uint8_t shape, std::uint64_t back_from_wrap) {
  return (shape & 0x80) ? ~0ULL - back_from_wrap : 0;
}

template <class T>
std::size_t encoded_size(const T& v) {
  if constexpr (std::is_same_v<T, std::string>) {
    return v.size();
  } else {
    return sizeof(v);
  }
}

// Runs queue operation `which` (0 .. kQueueOps - 1) with values from `oracle`, which checks every
// value and status a get returns at the trust level `trust_now()` says once the call returned;
// blocking forms wait at most `block`. Returns what the operation may have written, for a
// SegmentWatch.
inline constexpr unsigned kQueueOps = 10;
template <class T, class Duration, class TrustNow>
OpClass queue_op(shmq::Queue<T>& q, unsigned which, std::uint8_t op, Duration block,
                 ValueOracle<T>& oracle, TrustNow&& trust_now) {
  T out{};
  switch (which % kQueueOps) {
    case 0: {
      const T v = oracle.make();
      if (q.try_put(v) == shmq::Status::ok) oracle.put(v);
      return OpClass::put;
    }
    case 1: {
      const shmq::Status s = q.try_get(out);
      oracle.got(s, &out, trust_now());
      return OpClass::get;
    }
    case 2: {
      const T v = oracle.make();
      if (q.put_for(v, block) == shmq::Status::ok) oracle.put(v);
      return OpClass::put;
    }
    case 3: {
      const shmq::Status s = q.get_for(out, block);
      oracle.got(s, &out, trust_now());
      return OpClass::get;
    }
    case 4: {
      // A claim: the value is written into the buffer, then committed or dropped (a skip). A
      // fixed-size element may be committed with another size (op & 0x20): a packed queue refuses
      // it, a slotted one publishes a message that must read back as Status::corrupt.
      typename shmq::Queue<T>::PutClaim c;
      if (q.try_claim(c) != shmq::Status::ok) return OpClass::put;
      const T v = oracle.make();
      const std::size_t bytes = encoded_size(v);
      if (bytes > c.buffer().size()) return OpClass::put;  // dropped: a skip
      if constexpr (std::is_same_v<T, std::string>) {
        if (bytes != 0) std::memcpy(c.buffer().data(), v.data(), bytes);
      } else {
        std::memcpy(c.buffer().data(), &v, bytes);
      }
      if ((op & 0x10) == 0) return OpClass::put;  // dropped
      const std::size_t commit = !std::is_same_v<T, std::string> && (op & 0x20) ? op % 8 : bytes;
      if (c.commit(commit) == shmq::Status::ok) {
        if (commit == bytes) {
          oracle.put(v);
        } else {
          oracle.put_malformed();
        }
      }
      return OpClass::put;
    }
    case 5: {
      typename shmq::Queue<T>::GetClaim c;
      const shmq::Status s = q.try_get(c);
      if (s == shmq::Status::ok) {
        oracle.peeked(c.data(), trust_now());
      } else {
        oracle.got(s, nullptr, trust_now());
      }
      return OpClass::get;
    }
    case 6: {
      const std::array<T, 3> items{oracle.make(), oracle.make(), oracle.make()};
      std::size_t n = 0;
      const shmq::Status s = q.try_put_many(items, n);
      if (n > items.size()) invariant_failed("a batch put reports more than it was given");
      if ((s == shmq::Status::ok) != (n == items.size()))
        invariant_failed("a batch put's status disagrees with its count");
      for (std::size_t i = 0; i < n; ++i)
        oracle.put(items[i]);
      return OpClass::put;
    }
    case 7: {
      std::array<T, 4> batch{};
      std::size_t n = 0;
      const shmq::Status s = q.try_get_many(batch, n);
      if (n > batch.size())
        invariant_failed("a batch get returned more than it was given room for");
      // ok: some came out and nothing corrupt was met; corrupt: maybe some before it; any other
      // status: none came out.
      if (s == shmq::Status::ok ? n == 0 : (s != shmq::Status::corrupt && n != 0))
        invariant_failed("a batch get's status disagrees with its count");
      const Trust trust = trust_now();
      for (std::size_t i = 0; i < n; ++i)
        oracle.got(shmq::Status::ok, &batch[i], trust);
      if (trust == Trust::healthy && n < batch.size()) {
        // It stopped on a malformed message it consumed (corrupt), or on an empty queue.
        if (oracle.front_malformed()) {
          if (s != shmq::Status::corrupt) invariant_failed("a batch get hid a dropped message");
          oracle.drop_front();
        } else {
          oracle.got(shmq::Status::empty, nullptr, trust);
        }
      }
      return OpClass::get;
    }
    case 8:
      (void)q.size();
      (void)q.empty();
      (void)q.full();
      return OpClass::read_only;
    case 9:
      if ((op & 0x70) != 0x70) return OpClass::read_only;
      q.close();
      return OpClass::close;
  }
  return OpClass::read_only;
}

}  // namespace shmq::fuzz
