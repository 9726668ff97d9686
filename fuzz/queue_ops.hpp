// What the queue fuzz targets share: queue options decoded from one input byte, fuzzer-made
// values, and the queue operations a hostile-state target runs between (or during) its attacks.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <type_traits>

#include "shmq/shmq.hpp"

namespace shmq::fuzz {

// shape: bit 1 multi-producer, bit 2 multi-consumer, bits 3-4 log2(capacity), bit 7 start
// `back_from_wrap` positions below 2^64 (through the wrap). No spinning, 1 ms sleep slices.
inline shmq::QueueOptions queue_options(std::uint8_t shape, std::uint32_t max_message,
                                        std::uint64_t back_from_wrap) {
  shmq::QueueOptions opt;
  opt.producers = (shape & 2) ? shmq::Producers::many : shmq::Producers::one;
  opt.consumers = (shape & 4) ? shmq::Consumers::many : shmq::Consumers::one;
  opt.capacity = 1ULL << ((shape >> 3) & 3);
  opt.max_message = max_message;
  opt.wait = shmq::WaitPolicy{0, std::chrono::milliseconds(1)};
  opt.start_position = (shape & 0x80) ? ~0ULL - back_from_wrap : 0;
  return opt;
}

template <class T>
T make(std::uint8_t n) {
  if constexpr (std::is_same_v<T, std::string>) {
    return std::string(n % 40, static_cast<char>('a' + n % 26));
  } else {
    return static_cast<T>(n);
  }
}

// Runs queue operation `which` (0 .. kQueueOps - 1) with values made from `op`; blocking forms
// wait at most `block`. Statuses are ignored: the targets look for crashes, UB and hangs.
inline constexpr unsigned kQueueOps = 10;
template <class T>
void queue_op(shmq::Queue<T>& q, unsigned which, std::uint8_t op, std::chrono::milliseconds block) {
  T out{};
  std::array<T, 4> batch{};
  switch (which % kQueueOps) {
    case 0:
      (void)q.try_put(make<T>(op));
      break;
    case 1:
      (void)q.try_get(out);
      break;
    case 2:
      (void)q.put_for(make<T>(op), block);
      break;
    case 3:
      (void)q.get_for(out, block);
      break;
    case 4: {
      typename shmq::Queue<T>::PutClaim c;
      if (q.try_claim(c) == shmq::Status::ok && (op & 0x10)) (void)c.commit(op % 8);
      break;
    }
    case 5: {
      typename shmq::Queue<T>::GetClaim c;
      if (q.try_peek(c) == shmq::Status::ok) (void)c.data();
      break;
    }
    case 6: {
      const std::array<T, 3> items{make<T>(op), make<T>(op + 1), make<T>(op + 2)};
      (void)q.try_put_many(items);
      break;
    }
    case 7:
      (void)q.try_get_many(batch);
      break;
    case 8:
      (void)q.size();
      (void)q.empty();
      (void)q.full();
      break;
    case 9:
      if ((op & 0x70) == 0x70) q.close();
      break;
  }
}

}  // namespace shmq::fuzz
