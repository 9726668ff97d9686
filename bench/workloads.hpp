// The measuring loops, shared by every peer so that every peer is timed by the same code.
//
// A peer supplies endpoints; the loops are templates, so there is no virtual call per message:
//   sender:   void send(const Msg<N>&)                      blocks until the message is taken in
//             void send_many(const Msg<N>*, std::size_t n)   optional: all n, in order
//   receiver: std::size_t recv(Msg<N>* out, std::size_t max) blocks until >= 1 message; <= max
//
// Every message carries a sequence word in its first 8 bytes: (producer << 48) | counter, or
// kStop. Consumers check it (exact sequence on SPSC, increasing per producer otherwise) and the
// runner checks that as many messages were taken as were sent: a benchmark that loses a message
// fails instead of printing a number.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "runner.hpp"
#include "shmq/detail/wait/event_count.hpp"

namespace shmq_bench {

// The body of every busy-poll loop in the peers: the library's own pause.
using shmq::detail::cpu_relax;

template <std::size_t N>
struct alignas(8) Msg {
  static_assert(N >= 8, "a message holds at least its sequence word");
  std::byte bytes[N];
};

inline constexpr std::uint64_t kStop = ~std::uint64_t{0};
inline constexpr int kProducerShift = 48;
inline constexpr std::uint64_t kCounterMask = (std::uint64_t{1} << kProducerShift) - 1;

template <std::size_t N>
std::uint64_t seq_of(const Msg<N>& m) noexcept {
  std::uint64_t v;
  std::memcpy(&v, m.bytes, sizeof v);
  return v;
}
template <std::size_t N>
void set_seq(Msg<N>& m, std::uint64_t v) noexcept {
  std::memcpy(m.bytes, &v, sizeof v);
}
// The last byte of every payload longer than the sequence word: a cheap check that the whole
// message arrived, not only its first line.
template <std::size_t N>
constexpr std::byte kTrailer = static_cast<std::byte>((N * 31U + 7U) & 0xFFU);
template <std::size_t N>
void fill(Msg<N>& m) noexcept {
  for (std::size_t i = 0; i < N; ++i)
    m.bytes[i] = static_cast<std::byte>(i & 0xFFU);
  m.bytes[N - 1] = kTrailer<N>;
  set_seq(m, 0);
}

// Calls f.template operator()<N>() with N the compile-time message size equal to `bytes`.
template <class F>
decltype(auto) with_size(std::size_t bytes, F&& f) {
  switch (bytes) {
    case 8:
      return f.template operator()<8>();
    case 64:
      return f.template operator()<64>();
    case 1024:
      return f.template operator()<1024>();
    case 65536:
      return f.template operator()<65536>();
    default:
      throw std::invalid_argument(fmt::format("no workload for {}-byte messages", bytes));
  }
}

namespace detail {

template <std::size_t N, class Tx>
void send_n(Tx& tx, const Msg<N>* m, std::size_t n) {
  if constexpr (requires { tx.send_many(m, n); }) {
    if (n > 1) {
      tx.send_many(m, n);
      return;
    }
  }
  for (std::size_t i = 0; i < n; ++i)
    tx.send(m[i]);
}

inline double percentile(const std::vector<std::uint32_t>& sorted, std::size_t n, double q) {
  // Nearest rank: the smallest sample with at least q·n samples at or below it.
  if (n == 0) return 0;
  auto rank = static_cast<std::size_t>(q * static_cast<double>(n) + 0.999999);
  rank = std::clamp<std::size_t>(rank, 1, n);
  return sorted[rank - 1];
}

}  // namespace detail

// Round trip, measuring side: send, wait for the echo, one timestamp per round trip (the round
// trip is the difference of consecutive timestamps, so each costs one clock read).
template <std::size_t N, class Tx, class Rx>
void ping(ChildContext& ctx, Tx& tx, Rx& rx) {
  // Allocated and touched before the barrier: no page fault inside the window.
  std::vector<std::uint32_t> samples(ctx.samples_cap(), 0);
  Msg<N> out;
  Msg<N> in;
  fill(out);
  ctx.start_barrier();
  const std::int64_t cpu0 = cpu_self_ns();
  const std::int64_t win = ctx.window_start_ns();
  const std::int64_t end = ctx.end_ns();
  ChildResult& r = ctx.result();

  std::uint64_t seq = 0;
  std::size_t n = 0;
  bool in_window = false;
  std::int64_t prev = now_ns();
  for (;;) {
    set_seq(out, seq);
    tx.send(out);
    if (rx.recv(&in, 1) != 1) throw std::runtime_error("ping: recv returned no message");
    if (seq_of(in) != seq) {
      throw std::runtime_error(
          fmt::format("ping: sent message #{}, got #{} back", seq, seq_of(in)));
    }
    if constexpr (N > 8) {
      if (in.bytes[N - 1] != kTrailer<N>) throw std::runtime_error("ping: echo payload damaged");
    }
    ++seq;
    const std::int64_t t = now_ns();
    if (in_window) {
      const std::int64_t d = t - prev;
      samples[n++] = static_cast<std::uint32_t>(std::min<std::int64_t>(d, UINT32_MAX));
      if (t >= end || n == samples.size()) break;
    } else if (t >= win) {
      in_window = true;
      r.window_start_ns = t;
    }
    prev = t;
  }
  r.window_end_ns = prev;
  r.msgs_window = n;
  r.msgs_total = seq;
  set_seq(out, kStop);
  tx.send(out);
  r.cpu_ns = cpu_self_ns() - cpu0;

  std::sort(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(n));
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i)
    sum += samples[i];
  r.samples = n;
  r.p50_ns = detail::percentile(samples, n, 0.50);
  r.p99_ns = detail::percentile(samples, n, 0.99);
  r.p999_ns = detail::percentile(samples, n, 0.999);
  r.max_ns = n ? samples[n - 1] : 0;
  r.mean_ns = n ? sum / static_cast<double>(n) : 0;
}

// Round trip, echoing side.
template <std::size_t N, class Tx, class Rx>
void pong(ChildContext& ctx, Tx& tx, Rx& rx) {
  Msg<N> m;
  ctx.start_barrier();
  const std::int64_t cpu0 = cpu_self_ns();
  std::uint64_t echoed = 0;
  for (;;) {
    if (rx.recv(&m, 1) != 1) throw std::runtime_error("pong: recv returned no message");
    if (seq_of(m) == kStop) break;
    tx.send(m);
    ++echoed;
  }
  ChildResult& r = ctx.result();
  r.msgs_total = echoed;
  r.cpu_ns = cpu_self_ns() - cpu0;
}

// One-way, sending side: as fast as the endpoint takes messages, until end_ns. The last producer
// to finish sends one stop per consumer, after every producer's last message.
template <std::size_t N, class Tx>
void produce(ChildContext& ctx, Tx& tx, std::size_t batch) {
  std::vector<Msg<N>> buf(std::max<std::size_t>(batch, 1));
  for (auto& m : buf)
    fill(m);
  ctx.start_barrier();
  const std::int64_t cpu0 = cpu_self_ns();
  const std::int64_t win = ctx.window_start_ns();
  const std::int64_t end = ctx.end_ns();
  ChildResult& r = ctx.result();
  const std::uint64_t tag = static_cast<std::uint64_t>(ctx.index()) << kProducerShift;

  std::uint64_t counter = 0;
  std::uint64_t at_window = 0;
  bool in_window = false;
  r.window_start_ns = now_ns();
  for (std::uint64_t iter = 1;; ++iter) {
    if ((iter & 63U) == 0) {
      const std::int64_t t = now_ns();
      if (t >= end) break;
      if (!in_window && t >= win) {
        in_window = true;
        at_window = counter;
        r.window_start_ns = t;
      }
    }
    for (auto& m : buf)
      set_seq(m, tag | counter++);
    detail::send_n<N>(tx, buf.data(), buf.size());
  }
  r.window_end_ns = now_ns();
  r.msgs_total = counter;
  r.msgs_window = counter - at_window;
  if (ctx.last_producer_done()) {
    Msg<N> stop = buf[0];
    set_seq(stop, kStop);
    for (int c = 0; c < ctx.consumers(); ++c)
      tx.send(stop);
  }
  r.cpu_ns = cpu_self_ns() - cpu0;
}

// One-way, receiving side: takes up to `batch` messages per call until its stop; counts what
// arrives inside the window (from the first clock read at or after window_start_ns).
template <std::size_t N, class Rx>
void consume(ChildContext& ctx, Rx& rx, std::size_t batch) {
  std::vector<Msg<N>> buf(std::max<std::size_t>(batch, 1));
  std::array<std::uint64_t, kMaxChildren> next{};  // per producer: the lowest counter expected
  const bool exact = ctx.producers() == 1 && ctx.consumers() == 1;
  ctx.start_barrier();
  const std::int64_t cpu0 = cpu_self_ns();
  const std::int64_t win = ctx.window_start_ns();
  ChildResult& r = ctx.result();

  std::uint64_t total = 0;
  std::uint64_t at_window = 0;
  bool in_window = false;
  r.window_start_ns = now_ns();
  for (std::uint64_t iter = 1;; ++iter) {
    std::size_t k = rx.recv(buf.data(), buf.size());
    if (k == 0 || k > buf.size()) throw std::runtime_error(fmt::format("consume: recv gave {}", k));
    bool stop = false;
    for (std::size_t i = 0; i < k; ++i) {
      const std::uint64_t s = seq_of(buf[i]);
      if (s == kStop) {
        if (i + 1 != k) throw std::runtime_error("consume: a message arrived after the stop");
        stop = true;
        k = i;
        break;
      }
      const auto p = static_cast<std::size_t>(s >> kProducerShift);
      const std::uint64_t c = s & kCounterMask;
      if (p >= static_cast<std::size_t>(ctx.producers()) || (exact ? c != next[p] : c < next[p])) {
        throw std::runtime_error(fmt::format(
            "consume: message {} of producer {} arrived, expected {}{}: lost, duplicated or "
            "reordered",
            c, p, exact ? "exactly " : "at least ", p < next.size() ? next[p] : 0));
      }
      next[p] = c + 1;
      if constexpr (N > 8) {
        if (buf[i].bytes[N - 1] != kTrailer<N>) {
          throw std::runtime_error(fmt::format("consume: payload of message {} damaged", c));
        }
      }
    }
    total += k;
    if (!in_window && (iter & 63U) == 0) {
      const std::int64_t t = now_ns();
      if (t >= win) {
        in_window = true;
        at_window = total;
        r.window_start_ns = t;
      }
    }
    if (stop) break;
  }
  r.window_end_ns = now_ns();
  r.msgs_total = total;
  r.msgs_window = total - at_window;  // never in the window: the whole run counts
  r.cpu_ns = cpu_self_ns() - cpu0;
  ctx.consumer_done();
}

// Manager figure, client side. `connect()` runs after the start barrier (a server serves only
// once every process is ready) and returns a connection with
//   void call(std::uint64_t i)   call number i: one request and its reply
//   void finish(std::uint64_t n) after the last of n calls: check the server's state (the oracle)
//                                and stop the server
// The client calls back to back until end_ns and counts the calls inside the window.
template <class Connect>
void client(ChildContext& ctx, Connect&& connect) {
  ctx.start_barrier();
  const std::int64_t cpu0 = cpu_self_ns();
  const std::int64_t win = ctx.window_start_ns();
  const std::int64_t end = ctx.end_ns();
  ChildResult& r = ctx.result();
  auto conn = connect();

  std::uint64_t calls = 0;
  std::uint64_t at_window = 0;
  bool in_window = false;
  r.window_start_ns = now_ns();
  for (;;) {
    // A call takes microseconds: a clock read every 8 calls costs nothing that shows.
    if ((calls & 7U) == 0) {
      const std::int64_t t = now_ns();
      if (t >= end) break;
      if (!in_window && t >= win) {
        in_window = true;
        at_window = calls;
        r.window_start_ns = t;
      }
    }
    conn.call(calls++);
  }
  r.window_end_ns = now_ns();
  r.msgs_total = calls;
  r.msgs_window = in_window ? calls - at_window : 0;
  conn.finish(calls);
  r.cpu_ns = cpu_self_ns() - cpu0;
}

// Manager figure, server side: `serve()` serves until a client stops it.
template <class Serve>
void server(ChildContext& ctx, Serve&& serve) {
  ctx.start_barrier();
  const std::int64_t cpu0 = cpu_self_ns();
  serve();
  ctx.result().cpu_ns = cpu_self_ns() - cpu0;
}

// The usual child body of a queue-like peer: `make_tx()` / `make_rx()` open this child's ends.
template <std::size_t N, class MakeTx, class MakeRx>
void run_role(ChildContext& ctx, std::size_t send_batch, std::size_t recv_batch, MakeTx&& make_tx,
              MakeRx&& make_rx) {
  switch (ctx.role()) {
    case Role::producer: {
      auto tx = make_tx(0);
      produce<N>(ctx, tx, send_batch);
      return;
    }
    case Role::consumer: {
      auto rx = make_rx(0);
      consume<N>(ctx, rx, recv_batch);
      return;
    }
    case Role::ping: {
      auto tx = make_tx(0);  // direction 0: ping -> pong
      auto rx = make_rx(1);  // direction 1: pong -> ping
      ping<N>(ctx, tx, rx);
      return;
    }
    case Role::pong: {
      auto rx = make_rx(0);
      auto tx = make_tx(1);
      pong<N>(ctx, tx, rx);
      return;
    }
    case Role::client:
    case Role::server:
      throw std::logic_error("run_role: a queue-like peer has no client or server");
  }
}

}  // namespace shmq_bench
