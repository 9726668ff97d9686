// Below the public surface of Queue<T> and Pipe, for the code that must reach it: the tests, the
// fuzzers and the stress harness (counters, control block, a ring started near the 2^64 wrap),
// and the Manager's runtime (the registry token of its request queue). Not for users: what is
// here may change with any release, and nothing here is needed to use shmq.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>

#include "shmq/detail/queue_core.hpp"
#include "shmq/options.hpp"
#include "shmq/pipe.hpp"
#include "shmq/queue.hpp"

namespace shmq::detail {

// The friend of Queue<T> that the functions below go through.
struct QueueAccess {
  template <QueueElement T>
  static const QueueCore& core(const Queue<T>& q) noexcept {
    return q.core_;
  }
  template <QueueElement T>
  static Queue<T> create(std::string_view name, const QueueOptions& options,
                         std::uint64_t start_position) {
    return Queue<T>(QueueCore::create(name, options, Queue<T>::element_info(), start_position));
  }
  // Blocks on the eventcount of `side` until `attempt(bool sleeping)` returns other than the
  // side's would-block status (full for producers, empty for consumers), `deadline` passes
  // (timeout) or shmq::interrupt() runs (interrupted): the Python module's bounded waits, whose
  // attempts are a put under Python's maxsize and a zero-copy get (python/module.cpp).
  template <QueueElement T, class Attempt>
  static Status wait(Queue<T>& q, QueueCore::Side side, Deadline deadline, Attempt&& attempt) {
    return q.core_.wait(side, deadline, std::forward<Attempt>(attempt));
  }
};

// The type-independent core of `q`: its segment (registry, counters), control block and ring.
template <QueueElement T>
const QueueCore& core_of(const Queue<T>& q) noexcept {
  return QueueAccess::core(q);
}

// Queue<T>::create(name, options) with the ring's first position at `start_position` instead of
// 0: tests start just below the 2^64 wrap, so that position arithmetic runs across it.
template <QueueElement T>
Queue<T> create_queue_at(std::string_view name, const QueueOptions& options,
                         std::uint64_t start_position) {
  return QueueAccess::create<T>(name, options, start_position);
}

// The friend of Connection that create_pipe_at goes through (runtime/pipe.cpp), and the name
// under which runtime/pipe.cpp's helpers reach the private Connection::Impl.
struct PipeAccess {
  using Impl = Connection::Impl;
  static std::pair<Connection, Connection> create(std::string_view name, const PipeOptions& options,
                                                  std::uint64_t start_position);
};

// Pipe::create(name, options) with both rings' first position at `start_position` (aligned down
// to 8, INV-B2), as create_queue_at.
inline std::pair<Connection, Connection> create_pipe_at(std::string_view name,
                                                        const PipeOptions& options,
                                                        std::uint64_t start_position) {
  return PipeAccess::create(name, options, start_position);
}

}  // namespace shmq::detail
