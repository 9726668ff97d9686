#include "manager_journal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/crc.hpp>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "shmq/detail/crash_point.hpp"
#include "shmq/error.hpp"

namespace shmq::detail::mgr {

namespace {

constexpr std::size_t kRecordHeader = 8;
constexpr std::uint32_t kMaxRecord = static_cast<std::uint32_t>(wire::kMaxMessageBytes) + 1;
constexpr std::uint64_t kCompactFloor = 4U << 20;

std::uint32_t crc_of(std::string_view bytes) {
  boost::crc_32_type crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

[[noreturn]] void fail(const std::string& path, std::string_view call) {
  const int err = errno;
  throw Error(std::error_code(err, std::generic_category()), path,
              fmt::format("journal: {}: {}", call, std::strerror(err)));
}

bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

bool read_all(int fd, char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

std::string record(wire::Op op, std::string_view body) {
  std::string rec(kRecordHeader, '\0');
  rec.push_back(static_cast<char>(op));
  rec.append(body);
  const auto len = static_cast<std::uint32_t>(rec.size() - kRecordHeader);
  const std::uint32_t crc = crc_of(std::string_view(rec).substr(kRecordHeader));
  std::memcpy(rec.data(), &len, 4);
  std::memcpy(rec.data() + 4, &crc, 4);
  return rec;
}

int open_file(const std::string& path, int flags, std::uint32_t mode) {
  const int fd = ::open(path.c_str(), flags | O_RDWR | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) fail(path, "open");
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
    ::close(fd);
    throw Error(Errc::permission_denied, path, "journal: not a regular file of ours");
  }
  return fd;
}

}  // namespace

Journal::Journal(std::string path, bool fresh, std::uint32_t mode)
    : path_(std::move(path)), mode_(mode) {
  fd_ = open_file(path_, O_CREAT | (fresh ? O_TRUNC : 0), mode_);
  const off_t size = ::lseek(fd_, 0, SEEK_END);
  if (size < 0) fail(path_, "lseek");
  if (size == 0) {
    if (!write_all(fd_, kJournalMagic, sizeof(kJournalMagic))) fail(path_, "write");
    bytes_ = sizeof(kJournalMagic);
  } else {
    bytes_ = static_cast<std::uint64_t>(size);
  }
}

Journal::Journal(Journal&& o) noexcept
    : path_(std::move(o.path_)),
      fd_(std::exchange(o.fd_, -1)),
      mode_(o.mode_),
      bytes_(o.bytes_),
      snapshot_bytes_(o.snapshot_bytes_) {}

Journal& Journal::operator=(Journal&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(o.path_);
    fd_ = std::exchange(o.fd_, -1);
    mode_ = o.mode_;
    bytes_ = o.bytes_;
    snapshot_bytes_ = o.snapshot_bytes_;
  }
  return *this;
}

Journal::~Journal() {
  if (fd_ >= 0) ::close(fd_);
}

std::uint64_t Journal::replay(const Emit& apply) {
  if (::lseek(fd_, 0, SEEK_SET) != 0) fail(path_, "lseek");
  char magic[sizeof(kJournalMagic)];
  if (!read_all(fd_, magic, sizeof(magic)) ||
      std::memcmp(magic, kJournalMagic, sizeof(kJournalMagic)) != 0) {
    throw Error(Errc::corrupt, path_, "journal: bad magic");
  }
  std::uint64_t good = sizeof(kJournalMagic);
  std::uint64_t count = 0;
  std::string buf;
  struct stat st {};
  if (::fstat(fd_, &st) != 0) fail(path_, "fstat");
  const auto file_bytes = static_cast<std::uint64_t>(st.st_size);
  for (;;) {
    char head[kRecordHeader];
    if (!read_all(fd_, head, sizeof(head))) break;
    std::uint32_t len = 0;
    std::uint32_t crc = 0;
    std::memcpy(&len, head, 4);
    std::memcpy(&crc, head + 4, 4);
    // Checked before anything is allocated: a torn or garbage last header must not make an
    // adopting server allocate (and zero) up to kMaxRecord for bytes the file does not have.
    if (len == 0 || len > kMaxRecord || len > file_bytes - good - kRecordHeader) break;
    buf.resize(len);
    if (!read_all(fd_, buf.data(), len) || crc_of(buf) != crc) break;
    apply(static_cast<wire::Op>(buf[0]), std::string_view(buf).substr(1));
    good += kRecordHeader + len;
    ++count;
  }
  if (::ftruncate(fd_, static_cast<off_t>(good)) != 0) fail(path_, "ftruncate");
  if (::lseek(fd_, 0, SEEK_END) < 0) fail(path_, "lseek");
  bytes_ = good;
  snapshot_bytes_ = good;
  return count;
}

bool Journal::append(wire::Op op, std::string_view body) {
  if (body.size() + 1 > kMaxRecord) return false;
  const std::string rec = record(op, body);
  // O_APPEND is not used: the server is the only writer, and the offset is ours.
  if (!write_all(fd_, rec.data(), rec.size())) {
    // Cut a partial record off so that later appends stay readable.
    if (::ftruncate(fd_, static_cast<off_t>(bytes_)) == 0) ::lseek(fd_, 0, SEEK_END);
    return false;
  }
  bytes_ += rec.size();
  return true;
}

bool Journal::wants_compaction() const noexcept {
  return bytes_ > kCompactFloor && bytes_ > 2 * snapshot_bytes_;
}

void Journal::compact(const std::function<void(const Emit&)>& snapshot) {
  const std::string tmp = path_ + ".tmp";
  ::unlink(tmp.c_str());
  const int fd = open_file(tmp, O_CREAT | O_EXCL, mode_);
  std::uint64_t written = sizeof(kJournalMagic);
  bool ok = write_all(fd, kJournalMagic, sizeof(kJournalMagic));
  snapshot([&](wire::Op op, std::string_view body) {
    if (!ok) return;
    const std::string rec = record(op, body);
    ok = write_all(fd, rec.data(), rec.size());
    written += rec.size();
  });
  // A server killed from here to the rename leaves the old journal whole, and a stale tmp that the
  // next compaction unlinks; after the rename, the snapshot is the journal.
  if (ok) SHMQ_CRASH_POINT(compact_before_rename);
  if (!ok || ::rename(tmp.c_str(), path_.c_str()) != 0) {
    ::close(fd);
    ::unlink(tmp.c_str());
    fail(path_, "compact");
  }
  SHMQ_CRASH_POINT(compact_after_rename);
  ::close(fd_);
  fd_ = fd;
  if (::lseek(fd_, 0, SEEK_END) < 0) fail(path_, "lseek");
  bytes_ = written;
  snapshot_bytes_ = written;
}

}  // namespace shmq::detail::mgr
