// shmq::Pipe and shmq::Connection: a two-ended message pipe in a named shared-memory segment —
// Python's multiprocessing.Pipe, natively.
//
//   auto [a, b] = shmq::Pipe::create("jobs");            // duplex: a <-> b
//   a.send(std::string_view("hello"));  b.recv(text);
//   auto c = shmq::Connection::open("jobs", shmq::End::second);   // an unrelated process
//
// Each direction is an SPSC byte ring (detail/ring/byte_ring.hpp) of PipeOptions::capacity_bytes.
// A message of any size (up to max_message) works: one larger than the ring streams through it in
// chunks and is reassembled whole; recv returns whole messages only. duplex = false gives a
// one-way pipe where, as in Python's Pipe(duplex=False), the first end only receives and the
// second only sends.
//
// Ends and holders. A process holds an end from create/open until close() (or the Connection's
// destruction, or its death). A second open of an end while a live process holds it throws
// Error(role_taken); an end whose holders all died may be opened again. A Connection inherited
// across fork() is held by the child as well (like a file descriptor): close the copies you do
// not use, as in Python, so that the peer sees end-of-file when the user of an end goes away.
//
// End-of-file. When no live process holds the other end (it closed, or died) — and it was held
// once: an end nobody has opened yet is pending, not closed — recv returns the messages already
// sent, then Status::closed (Python's EOFError); a message cut short by a dying sender is
// dropped, never delivered in part. send to such an end returns Status::closed: at once
// after a close(); after a death, as soon as the death is seen — every send checks at most about
// once a millisecond (and every blocked send in each sleep slice), so a busy pipe makes no
// syscalls. A blocked recv or send notices a dead peer within one sleep slice (≤ 250 ms).
//
// Verbs return shmq::Status and never throw: ok, closed (see above; also a closed handle, or the
// direction this end does not have), too_large (send: over max_message; recv: the message does
// not fit the buffer, maxlength or T — it is left in the pipe for a bigger recv), corrupt (the
// shared state failed validation), timeout (the *_for forms). Setup (create/open) throws Error.
//
// Memory ordering: everything a sender wrote before send() returned ok is visible to the
// receiver after the recv() that returns that message. A recv that returns Status::closed has
// seen every message the closed or dead end completed.
//
// A Connection is move-only and not thread-safe, except that one thread may send while another
// receives on the same duplex Connection (the two directions share no process-local state).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "shmq/detail/wait/deadline.hpp"
#include "shmq/options.hpp"
#include "shmq/status.hpp"

namespace shmq {

enum class End : std::uint8_t { first = 0, second = 1 };

namespace detail {
struct PipeAccess;  // detail/access.hpp
}

struct PipeOptions {
  bool duplex = true;
  // Bytes per direction; rounded up to a power of two, at least 256, at most 1 GiB.
  std::uint64_t capacity_bytes = std::uint64_t{64} * 1024;
  std::uint32_t mode = 0600;  // permissions of the segment file
  // Largest message in bytes (0: the format's limit, 2^40 - 1). Larger sends get too_large.
  std::uint64_t max_message = 0;
  WaitPolicy wait{};
};

// What send(const T&) / recv(T&) carry as sizeof(T) raw bytes: trivially copyable values that do
// not look like a view of other memory (pointers, arrays, spans and string views are refused;
// send those with send(std::string_view) / send_bytes()).
template <class T>
concept PipeValue = std::is_trivially_copyable_v<T> && !std::is_pointer_v<T> &&
                    !std::is_array_v<T> && !std::is_convertible_v<const T&, std::string_view> &&
                    !std::is_convertible_v<const T&, std::span<const std::byte>>;

class Connection {
 public:
  static constexpr std::size_t npos = std::numeric_limits<std::size_t>::max();

  // Creates the pipe `name` holding only `end`; the other end is pending until a process opens
  // it: until then recv waits and send fills the ring (then waits), instead of seeing
  // end-of-file. For meeting an unrelated process. Throws as Pipe::create.
  static Connection create(std::string_view name, End end, const PipeOptions& options = {});
  // Takes `end` of an existing pipe. Throws Error: not_found, wrong_kind, corrupt, role_taken
  // (a live process holds the end), ...
  static Connection open(std::string_view name, End end, const WaitPolicy& wait = {});
  // As open(), but joins `end` even while a live process holds it, as a fork() would: for
  // handing an end to a process that cannot inherit it (a Python Connection pickled into a
  // spawned child). The holders share the end as a parent and its forked child do: use it from
  // one of them at a time, and the peer sees end-of-file once every holder has gone.
  static Connection open_shared(std::string_view name, End end, const WaitPolicy& wait = {});
  // As open(), waiting up to `appear_within` for a creator to make `name` first.
  template <class Rep, class Period>
  static Connection open(std::string_view name, End end,
                         std::chrono::duration<Rep, Period> appear_within,
                         const WaitPolicy& wait = {}) {
    return open_waiting(name, end, detail::whole_milliseconds(appear_within), wait);
  }

  Connection() noexcept;
  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();  // close()

  // ---- sending: block while the ring is full ----

  // sizeof(T) bytes of `value`.
  template <PipeValue T>
  Status send(const T& value) {
    return send_bytes(std::as_bytes(std::span<const T, 1>(&value, 1)));
  }
  Status send(std::string_view bytes) { return send_bytes(std::as_bytes(std::span(bytes))); }
  // bytes [offset, offset + size) of `buffer` (size npos: to the end). A range outside the
  // buffer gets too_large.
  Status send_bytes(std::span<const std::byte> buffer, std::size_t offset = 0,
                    std::size_t size = npos);
  // As send_bytes(), giving up after `timeout`: Status::timeout, and a message cut short is
  // dropped by the receiver.
  template <class Rep, class Period>
  Status send_bytes_for(std::span<const std::byte> buffer,
                        std::chrono::duration<Rep, Period> timeout) {
    return send_until(buffer, detail::deadline_after(timeout));
  }

  // ---- receiving: block until a whole message, or end-of-file ----

  // The next message, if it is at most `maxlength` bytes.
  Status recv_bytes(std::string& out, std::size_t maxlength = npos);
  Status recv_bytes(std::vector<std::byte>& out, std::size_t maxlength = npos);
  // Into buffer[offset...]: `received` is the message's size.
  Status recv_bytes_into(std::span<std::byte> buffer, std::size_t& received,
                         std::size_t offset = 0);
  // A message of exactly sizeof(T) bytes.
  template <PipeValue T>
  Status recv(T& out) {
    return recv_exact(std::as_writable_bytes(std::span<T, 1>(&out, 1)));
  }
  Status recv(std::string& out) { return recv_bytes(out); }
  Status recv(std::vector<std::byte>& out) { return recv_bytes(out); }

  // Whether recv() would return at once: a message has started to arrive, or the other end is
  // gone (recv then returns Status::closed), or this handle cannot receive. Waits up to `timeout`.
  bool poll() { return poll_until(std::chrono::steady_clock::now()); }
  template <class Rep, class Period>
  bool poll(std::chrono::duration<Rep, Period> timeout) {
    return poll_until(detail::deadline_after(timeout));
  }

  // Gives this end up: the peer sees end-of-file once no other process holds it. Idempotent.
  void close() noexcept;

  bool closed() const noexcept { return impl_ == nullptr; }
  End end() const noexcept;
  bool readable() const noexcept;  // this end can receive
  bool writable() const noexcept;  // this end can send
  const std::string& name() const noexcept;
  void set_wait_policy(const WaitPolicy& wait) noexcept;

 private:
  struct Impl;                       // runtime/pipe.cpp
  friend struct detail::PipeAccess;  // detail/access.hpp: what tests reach below the surface
  explicit Connection(std::unique_ptr<Impl> impl) noexcept;

  static Connection open_end(std::string_view name, End end, const WaitPolicy& wait, bool shared);
  static Connection open_waiting(std::string_view name, End end,
                                 std::chrono::milliseconds appear_within, const WaitPolicy& wait);
  Status send_until(std::span<const std::byte> bytes,
                    std::chrono::steady_clock::time_point deadline);
  Status recv_exact(std::span<std::byte> out);
  bool poll_until(std::chrono::steady_clock::time_point deadline);

  std::unique_ptr<Impl> impl_;
};

class Pipe {
 public:
  // Creates the pipe `name` and returns its two ends, both held by this process.
  // Throws Error: invalid_name, already_exists, invalid_argument, ...
  static std::pair<Connection, Connection> create(std::string_view name,
                                                  const PipeOptions& options = {});
  // Unlinks the name; returns whether it existed. Connected processes keep working.
  static bool remove(std::string_view name);
};

}  // namespace shmq
