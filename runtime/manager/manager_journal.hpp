// The Manager server's journal: an append-only file of committed requests (runtime-private).
//
// How adoption works (docs/design.md §2, §6): the server applies each request whole to its
// in-memory Store and, if the request changed an object, appends it to N.journal (in /dev/shm) with
// one write() before replying. A new server on the same name replays the journal into an empty
// Store and so starts with every change the old server committed (the Store is deterministic).
//
// File: an 8-byte magic "SHMQJNL1", then records
//
//   u32 length   bytes of op + body (1 .. kMaxRecord)
//   u32 crc32    of op + body
//   u8  op       wire::Op
//   ...  body    the request body, as the client sent it
//
// A record is committed once its write() returned. A server killed inside write() may leave a
// torn last record: replay stops at the first record whose length or CRC does not check, and
// truncates the file there, so that record (whose client got no reply) is not applied.
// Compaction: once the file outgrows twice the size of the last snapshot (and 4 MiB), the server
// writes a snapshot of the Store to N.journal.tmp and renames it over N.journal (atomic).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "shmq/detail/manager/manager_protocol.hpp"

namespace shmq::detail::mgr {

// The first 8 bytes of every journal (and what `shmq ls` recognises one by).
inline constexpr char kJournalMagic[8] = {'S', 'H', 'M', 'Q', 'J', 'N', 'L', '1'};

class Journal {
 public:
  using Emit = std::function<void(wire::Op, std::string_view)>;

  Journal() = default;
  // Opens (creating it if absent) the journal at `path`; `fresh` empties it. Throws Error.
  Journal(std::string path, bool fresh, std::uint32_t mode);
  Journal(Journal&& o) noexcept;
  Journal& operator=(Journal&& o) noexcept;
  ~Journal();

  // Feeds every intact record to `apply`, in order; truncates a torn tail. Returns how many.
  std::uint64_t replay(const Emit& apply);
  // Appends one committed request. False if the write failed (the change is then not durable
  // across a server restart; the server counts it and goes on).
  bool append(wire::Op op, std::string_view body);
  // Whether the file has grown enough to be worth compacting.
  bool wants_compaction() const noexcept;
  // Replaces the file with the records `snapshot` emits. Throws Error if it cannot.
  void compact(const std::function<void(const Emit&)>& snapshot);

  const std::string& path() const noexcept { return path_; }
  std::uint64_t bytes() const noexcept { return bytes_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::uint32_t mode_ = 0600;
  std::uint64_t bytes_ = 0;
  std::uint64_t snapshot_bytes_ = 0;
};

}  // namespace shmq::detail::mgr
