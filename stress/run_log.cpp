#include "run_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace shmq::stress {

namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

template <class Record>
LoadedLog<Record> load(const std::string& path) {
  LoadedLog<Record> out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return out;
    throw_errno("open " + path);
  }
  out.exists = true;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    throw_errno("stat " + path);
  }
  const auto bytes = static_cast<std::uint64_t>(st.st_size);
  out.records.resize(bytes / sizeof(Record));
  out.torn_bytes = bytes % sizeof(Record);
  auto* p = reinterpret_cast<char*>(out.records.data());
  std::uint64_t want = out.records.size() * sizeof(Record);
  std::uint64_t done = 0;
  while (done < want) {
    const ssize_t n = ::pread(fd, p + done, want - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      throw_errno("read " + path);
    }
    done += static_cast<std::uint64_t>(n);
  }
  ::close(fd);
  return out;
}

}  // namespace

LogFile::LogFile(const std::string& path, unsigned batch)
    : batch_(batch == 0 ? 1 : batch), path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd_ < 0) throw_errno("create " + path);
  buf_.reserve(batch_ + 1);
}

LogFile::~LogFile() {
  if (fd_ >= 0) ::close(fd_);
}

void LogFile::touched() {
  if (++dirty_ >= batch_) flush();
}

void LogFile::append(const void* record) {
  Raw r;
  std::memcpy(&r, record, sizeof r);
  buf_.push_back(r);
  touched();
}

void LogFile::flush() {
  if (dirty_ == 0 || buf_.empty()) return;
  const auto* p = reinterpret_cast<const char*>(buf_.data());
  const std::size_t want = buf_.size() * sizeof(Raw);
  const auto at = static_cast<off_t>(first_index_ * sizeof(Raw));
  std::size_t done = 0;
  while (done < want) {
    const ssize_t n = ::pwrite(fd_, p + done, want - done, at + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw_errno("write " + path_);
    done += static_cast<std::size_t>(n);
  }
  // Keep the open record: later updates rewrite it in place.
  first_index_ += buf_.size() - 1;
  buf_.erase(buf_.begin(), buf_.end() - 1);
  dirty_ = 0;
}

ProducerLog::ProducerLog(const std::string& path, unsigned batch, std::uint64_t start_ns)
    : file_(path, batch), open_since_ns_(start_ns) {
  const Checkpoint first{0, start_ns};
  file_.append(&first);
  file_.flush();
}

void ProducerLog::committed(std::uint64_t committed, std::uint64_t t_ns) {
  const Checkpoint c{committed, t_ns};
  if (t_ns - open_since_ns_ >= kCheckpointSpacingNs) {
    open_since_ns_ = t_ns;
    file_.append(&c);
    return;
  }
  std::memcpy(file_.back(), &c, sizeof c);
  file_.touched();
}

void ConsumerLog::got(std::uint32_t producer, std::uint64_t seq) {
  if (!file_.empty()) {
    Run r;
    std::memcpy(&r, file_.back(), sizeof r);
    if (r.producer == producer && r.count != 0 && r.count < kMaxRun &&
        r.first_seq + r.count == seq) {
      ++r.count;
      std::memcpy(file_.back(), &r, sizeof r);
      file_.touched();
      return;
    }
  }
  const Run r{seq, producer, 1};
  file_.append(&r);
}

void ConsumerLog::damaged(std::uint32_t producer, std::uint64_t seq, std::uint32_t flags) {
  const Run r{seq, producer, kDamaged | flags};
  file_.append(&r);
}

LoadedLog<Checkpoint> load_producer_log(const std::string& path) {
  return load<Checkpoint>(path);
}
LoadedLog<Run> load_consumer_log(const std::string& path) {
  return load<Run>(path);
}

}  // namespace shmq::stress
