// The per-process logs of a run: one file per producer or consumer incarnation, made of 16-byte
// records at 16-byte offsets (docs/stress.md, "Logs").
//
// What a SIGKILL loses: only what the process had not yet handed to write(). Records reach the
// file through pwrite(); a record never straddles a page, so the kernel stores it whole or not
// at all, and a killed writer leaves a file of whole records that ends with its last flush.
// A writer holds at most `batch` record updates in memory, so a killed process takes at most
// `batch` log entries with it (one message each): that is the in-doubt bound per kill.
//
// Both logs are compressed in place: the last record of the file stays open and is rewritten
// (same offset) while it can absorb the next event, so a consumer that reads one producer's
// messages in a row writes one record, not one per message.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace shmq::stress {

// Producer log: after `committed` puts had returned ok (seqs 0 .. committed-1), at `t_ns`
// (CLOCK_MONOTONIC) — which is before put number `committed` was called. A new record is started
// every kCheckpointSpacingNs; in between the open one is updated.
struct Checkpoint {
  std::uint64_t committed = 0;
  std::uint64_t t_ns = 0;
};
inline constexpr std::uint64_t kCheckpointSpacingNs = 1'000'000;

// Consumer log: messages first_seq .. first_seq + count - 1 of `producer`, got in that order and
// intact. A record with kDamaged set in `count` is one damaged message: the low bits are its
// VerifyFlag bits, `producer` and `first_seq` are what its header said.
struct Run {
  std::uint64_t first_seq = 0;
  std::uint32_t producer = 0;
  std::uint32_t count = 0;
};
inline constexpr std::uint32_t kDamaged = 1U << 31;
inline constexpr std::uint32_t kMaxRun = kDamaged - 1;

static_assert(sizeof(Checkpoint) == 16 && sizeof(Run) == 16, "records are 16 bytes");

// Writes 16-byte records with pwrite(), holding at most `batch` updates in memory.
// Throws std::system_error if the file cannot be created or written.
class LogFile {
 public:
  LogFile(const std::string& path, unsigned batch);
  ~LogFile();
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;

  // The open (last) record; call touched() after changing it.
  void* back() noexcept { return &buf_.back(); }
  bool empty() const noexcept { return buf_.empty(); }
  void touched();
  void append(const void* record);
  void flush();

 private:
  struct Raw {
    std::uint64_t a = 0;
    std::uint64_t b = 0;
  };
  int fd_ = -1;
  unsigned batch_;
  unsigned dirty_ = 0;
  std::uint64_t first_index_ = 0;  // file index of buf_[0]
  std::vector<Raw> buf_;
  std::string path_;
};

class ProducerLog {
 public:
  ProducerLog(const std::string& path, unsigned batch, std::uint64_t start_ns);
  // `committed` puts have returned ok; now is `t_ns`.
  void committed(std::uint64_t committed, std::uint64_t t_ns);
  void flush() { file_.flush(); }

 private:
  LogFile file_;
  std::uint64_t open_since_ns_ = 0;
};

class ConsumerLog {
 public:
  ConsumerLog(const std::string& path, unsigned batch) : file_(path, batch) {}
  void got(std::uint32_t producer, std::uint64_t seq);
  void damaged(std::uint32_t producer, std::uint64_t seq, std::uint32_t flags);
  void flush() { file_.flush(); }

 private:
  LogFile file_;
};

// Reads a whole log. `torn_bytes` counts a trailing partial record (possible only if a
// multi-page write was cut short by a kill); it is ignored.
template <class Record>
struct LoadedLog {
  std::vector<Record> records;
  std::uint64_t torn_bytes = 0;
  bool exists = false;
};
LoadedLog<Checkpoint> load_producer_log(const std::string& path);
LoadedLog<Run> load_consumer_log(const std::string& path);

}  // namespace shmq::stress
