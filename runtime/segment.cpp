#include "shmq/detail/segment.hpp"
#include "shmq/detail/shm_access.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "fork_list.hpp"
#include "shmq/detail/crash_point.hpp"
#include "shmq/detail/wait/event_count.hpp"
#include "shmq/detail/wait/futex.hpp"
#include "shmq/error.hpp"

namespace shmq::detail {

namespace {

std::uint64_t unix_now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

// "N attachments are open" for an error message; empty when it cannot tell.
std::string attached_note(std::string_view name) {
  try {
    const Segment seg = Segment::observe(name, std::chrono::milliseconds(50));
    std::uint32_t alive = 0;
    for (std::uint32_t i = 0; i < kRegistryCapacity; ++i)
      alive += seg.entry_alive(i) ? 1U : 0U;
    return fmt::format(", {} attachment{} open (handles, in any process)", alive,
                       alive == 1 ? " is" : "s are");
  } catch (...) {
    return {};
  }
}

// `attaching`: the error goes to a program that opens the segment to use it (not an observer,
// such as the CLI): a missing name gets a hint on waiting for its creator.
[[noreturn]] void throw_errno(std::string_view name, std::string_view call, int err,
                              bool attaching = false) {
  if (err == ENOENT) {
    throw Error(Errc::not_found, name,
                attaching ? "no such segment (to wait for its creator, open it with a timeout, "
                            "e.g. Queue<T>::open(name, 10s))"
                          : "no such segment");
  }
  if (err == EACCES || err == EPERM) {
    throw Error(Errc::permission_denied, name, fmt::format("{}: {}", call, std::strerror(err)));
  }
  if (err == EEXIST) {
    throw Error(Errc::already_exists, name,
                fmt::format("already exists{} (use open_or_create() to share it, or remove it: "
                            "shmq rm {})",
                            attached_note(name), name));
  }
  throw Error(std::error_code(err, std::generic_category()), name,
              fmt::format("{}: {}", call, std::strerror(err)));
}

[[noreturn]] void throw_registry_full(std::string_view name) {
  throw Error(Errc::registry_full, name,
              fmt::format("all {} registry entries are held by live processes", kRegistryCapacity));
}

}  // namespace

// OFD byte-range locks: owned by the open file description, dropped by the kernel when the last
// descriptor of it closes, in particular when the process dies.
bool ofd_try_lock(int fd, std::uint64_t byte, short type) noexcept {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = static_cast<off_t>(byte);
  fl.l_len = 1;
  return fcntl(fd, F_OFD_SETLK, &fl) == 0;
}

short ofd_lock_type(int fd, std::uint64_t byte) noexcept {
  struct flock fl {};
  fl.l_type = F_WRLCK;  // probe with a write lock: any lock held by another description conflicts
  fl.l_whence = SEEK_SET;
  fl.l_start = static_cast<off_t>(byte);
  fl.l_len = 1;
  if (fcntl(fd, F_OFD_GETLK, &fl) != 0) return F_WRLCK;  // cannot tell: alive (conservative)
  return fl.l_type;
}

// Whether another open file description holds a lock on `byte`.
bool ofd_is_locked(int fd, std::uint64_t byte) noexcept {
  return ofd_lock_type(fd, byte) != F_UNLCK;
}

namespace {

// Clears entry `index`'s waiters bit in every eventcount of a segment of `kind` (layout.hpp).
void clear_waiters_bit(std::byte* base, SegmentKind kind, std::uint32_t index) noexcept {
  const EventCountOffsets ecs = eventcount_offsets(kind);
  for (std::uint32_t k = 0; k < ecs.count; ++k) {
    auto& ec = *reinterpret_cast<EventCountData*>(base + ecs.at[k]);
    // relaxed: the bit only gates wakes; the caller holds entry `index`'s lock, so its owner (if
    // any) is dead and nobody can register with this bit meanwhile (INV-E1).
    shm_fetch_and(ec.waiters, ~(1ULL << index), std::memory_order_relaxed);
  }
}

}  // namespace

const char* kind_name(std::uint32_t kind) noexcept {
  switch (static_cast<SegmentKind>(kind)) {
    case SegmentKind::queue:
      return "queue";
    case SegmentKind::pipe:
      return "pipe";
    case SegmentKind::manager:
      return "manager";
  }
  return "unknown";
}

struct Segment::Impl {
  std::string name;
  int fd_ = -1;
  void* map = nullptr;  // the whole file, mapped shared
  std::size_t map_bytes = 0;
  SegmentKind kind = SegmentKind::queue;
  // The handle's identity: `initial` until a Segment adopts this Impl, then the Segment's own
  // copy (Segment::id_, read inline on the hot path; moves re-point this).
  Identity initial;
  Identity* id = &initial;
  SleepGate gate;         // this handle's sleepers (event_count.hpp)
  bool observer = false;  // observe(): read-only, not in the registry
  // fork(): the entry taken for the child in the prepare handler (its own open file description,
  // whose lock the child inherits), or child_fd < 0.
  int child_fd = -1;
  Identity child_id;
  Impl* prev = nullptr;  // the process-wide list of attached handles, for the fork handler
  Impl* next = nullptr;

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() {
    if (map != nullptr) ::munmap(map, map_bytes);
    if (fd_ >= 0) ::close(fd_);
  }

  int fd() const noexcept { return fd_; }
  std::byte* base() const noexcept { return static_cast<std::byte*>(map); }
  RegistryEntry* registry() const noexcept {
    return reinterpret_cast<RegistryEntry*>(base() + kRegistryOffset);
  }
  // Takes the first free registry entry with the lock of `lock_fd` and publishes `pid` in it.
  // Returns the entry's identity, or none if all are held by live processes.
  std::optional<Identity> take_entry(int lock_fd, std::uint32_t pid, std::uint32_t roles) noexcept;
  bool attach() noexcept {
    const std::optional<Identity> got = take_entry(fd(), static_cast<std::uint32_t>(getpid()), 0);
    if (got) *id = *got;
    return got.has_value();
  }
  // Whether the name still refers to the inode we have open.
  bool still_named() const noexcept {
    struct stat by_name {};
    struct stat by_fd {};
    return ::stat(segment_path(name).c_str(), &by_name) == 0 && ::fstat(fd(), &by_fd) == 0 &&
           by_name.st_ino == by_fd.st_ino && by_name.st_dev == by_fd.st_dev;
  }
};

namespace {

// A new open file description of the same file (its own OFD locks), close-on-exec.
int reopen(int fd, int flags) noexcept {
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  return ::open(path, flags | O_CLOEXEC);
}

// fork(), in the parent before it forks: take the child's registry entry now, with a new open
// file description the child inherits, and mark in it the pipe ends this handle holds. So the
// child holds its entry (and its ends) from its first instruction: a parent that closes its copy
// of an end right after fork() never leaves the end without a holder, and parent and child
// never share one lock. Where that fails (registry full), the child tries again itself.
void prepare_child_entry(Segment::Impl& impl) noexcept {
  impl.child_fd = reopen(impl.fd(), O_RDWR);
  if (impl.child_fd < 0) return;
  // relaxed: our own entry, written only by this process.
  const std::uint32_t roles =
      impl.registry()[impl.id->self_index].roles.load(std::memory_order_relaxed) &
      (kRolePipeFirst | kRolePipeSecond);
  const std::optional<Segment::Identity> got = impl.take_entry(impl.child_fd, 0, roles);
  if (!got) {
    ::close(impl.child_fd);
    impl.child_fd = -1;
    return;
  }
  impl.child_id = *got;
}

// fork(), in the parent after it: the child has its copy of child_fd (or fork failed: then
// closing it frees the entry).
void forget_child_entry(Segment::Impl& impl) noexcept {
  if (impl.child_fd >= 0) ::close(impl.child_fd);
  impl.child_fd = -1;
}

// fork(), in the child: make the prepared entry ours (its descriptor replaces the parent's, so
// every lock we take from now on is the child's own); drop the roles held by the parent's handle.
void adopt_child_entry(Segment::Impl& impl) noexcept {
  impl.gate.reset_in_child();
  impl.id->held_roles = 0;
  if (impl.child_fd >= 0) {
    // dup3 keeps O_CLOEXEC (dup2 would clear it: an exec'd program would inherit the segment).
    if (::dup3(impl.child_fd, impl.fd(), O_CLOEXEC) < 0) {
      std::fprintf(stderr, "shmq: segment \"%s\": cannot take the child's entry after fork: %s\n",
                   impl.name.c_str(), std::strerror(errno));
      std::abort();
    }
    ::close(impl.child_fd);
    impl.child_fd = -1;
    *impl.id = impl.child_id;
    // relaxed: our entry; its identity was published by the parent ([R3]).
    shm_store(impl.registry()[impl.id->self_index].pid, static_cast<std::uint32_t>(getpid()),
              std::memory_order_relaxed);
    return;
  }
  const int fresh = reopen(impl.fd(), O_RDWR);
  if (fresh < 0 || ::dup3(fresh, impl.fd(), O_CLOEXEC) < 0) {
    std::fprintf(stderr, "shmq: segment \"%s\": cannot re-open after fork: %s\n", impl.name.c_str(),
                 std::strerror(errno));
    std::abort();
  }
  ::close(fresh);
  if (!impl.attach()) {
    std::fprintf(stderr,
                 "shmq: segment \"%s\": registry full after fork: all %u entries are held, and a "
                 "forked child needs one for each handle it inherits; aborting the child\n",
                 impl.name.c_str(), kRegistryCapacity);
    std::abort();
  }
}

// Every attached Segment::Impl of this process (observers are not in it).
using AttachedSegments =
    ForkList<Segment::Impl, adopt_child_entry, prepare_child_entry, forget_child_entry>;

}  // namespace

std::string_view bare_name(std::string_view name) noexcept {
  if (!name.empty() && name.front() == '/') name.remove_prefix(1);
  return name;
}

void validate_name(std::string_view name) {
  name = bare_name(name);
  if (name.empty()) throw Error(Errc::invalid_name, name, "the name is empty");
  if (name.size() > kMaxNameLength) {
    throw Error(Errc::invalid_name, name.substr(0, 32),
                fmt::format("the name has {} characters, at most {} are allowed", name.size(),
                            kMaxNameLength));
  }
  if (name.front() == '.') throw Error(Errc::invalid_name, name, "the name starts with '.'");
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      throw Error(
          Errc::invalid_name, name,
          fmt::format("the name has character {:?}, which is not allowed (use [A-Za-z0-9._-])", c));
    }
  }
}

std::string segment_path(std::string_view name) {
  return fmt::format("/dev/shm/{}", bare_name(name));
}

bool wait_for_name(std::string_view name, std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  const std::string path = segment_path(name);
  const auto deadline = Clock::now() + timeout;
  std::chrono::milliseconds pause{1};
  for (;;) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) return true;
    const auto now = Clock::now();
    if (now >= deadline) return false;
    // Polling: a creator makes the name once; a short first pause serves the common race (both
    // started together), a longer one the patient wait.
    std::this_thread::sleep_for(std::min<Clock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

void throw_not_appeared(std::string_view name, std::chrono::milliseconds timeout) {
  throw Error(Errc::not_found, name,
              fmt::format("no such segment: none of that name appeared within {} ms (is its "
                          "creator running? `shmq ls` lists what exists)",
                          timeout.count()));
}

namespace {

// Opens the file named `name` for a segment, refusing anything but a regular file without side
// effects: the name is first opened as a path only (O_PATH | O_NOFOLLOW: a FIFO does not block,
// a device is not opened, a symbolic link is not followed), its type checked, and only then is
// that very inode opened for reading (and writing). /dev/shm is writable by every local user.
int open_segment_file(std::string_view name, bool read_only) {
  const std::string path = segment_path(name);
  const int at = ::open(path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (at < 0) throw_errno(name, "open", errno, !read_only);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{at};
  struct stat st {};
  if (::fstat(at, &st) != 0) throw_errno(name, "fstat", errno);
  if (!S_ISREG(st.st_mode)) {
    const char* what = S_ISLNK(st.st_mode)    ? "a symbolic link"
                       : S_ISDIR(st.st_mode)  ? "a directory"
                       : S_ISFIFO(st.st_mode) ? "a FIFO"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                                              : "a device or other special file";
    throw Error(Errc::not_a_segment, name, fmt::format("{}, not a regular file", what));
  }
  const int fd = reopen(at, read_only ? O_RDONLY : O_RDWR);
  if (fd < 0) throw_errno(name, "open", errno);
  return fd;
}

// A first look at a segment file's header through read() (the mapping re-reads `ready` with
// acquire): whether the magic is there, and whether `ready` is. Throws for a foreign magic or a
// garbage `ready` word.
struct HeaderLook {
  bool magic = false;
  bool ready = false;
};
HeaderLook look_at_header(std::string_view name, int fd, const struct stat& st) {
  HeaderLook look;
  std::uint64_t magic = 0;
  if (static_cast<std::uint64_t>(st.st_size) >= sizeof(magic) &&
      pread(fd, &magic, sizeof(magic), offsetof(SegmentHeader, magic)) ==
          static_cast<ssize_t>(sizeof(magic))) {
    if (magic != 0 && magic != kMagic) {
      throw Error(Errc::not_a_segment, name,
                  fmt::format("magic {:#018x}, expected {:#018x}", magic, kMagic));
    }
    look.magic = magic == kMagic;
  }
  std::uint32_t ready = 0;
  if (static_cast<std::uint64_t>(st.st_size) >= sizeof(SegmentHeader) &&
      pread(fd, &ready, sizeof(ready), offsetof(SegmentHeader, ready)) ==
          static_cast<ssize_t>(sizeof(ready))) {
    if (ready != 0 && ready != kReadyValue) {
      throw Error(Errc::corrupt, name, fmt::format("ready word {:#x}", ready));
    }
    look.ready = ready == kReadyValue;
  }
  return look;
}

}  // namespace

Segment::Segment() noexcept = default;
// The identity's copy and the Impl's pointer to it change together, with the fork list's mutex
// held: a fork() in another thread sees the identity in one place, never half moved. A moved-from
// Segment keeps no identity (it holds no role: its copy of the ring must not look like a holder).
Segment::Segment(Segment&& other) noexcept
    : impl_(std::move(other.impl_)),
      base_(std::exchange(other.base_, nullptr)),
      info_(other.info_) {
  AttachedSegments::locked([&] {
    id_ = std::exchange(other.id_, Identity{});
    if (impl_) impl_->id = &id_;
  });
}

Segment& Segment::operator=(Segment&& other) noexcept {
  if (this != &other) {
    Segment dying(std::move(*this));
    impl_ = std::move(other.impl_);
    AttachedSegments::locked([&] {
      id_ = std::exchange(other.id_, Identity{});
      if (impl_) impl_->id = &id_;
    });
    base_ = std::exchange(other.base_, nullptr);
    info_ = other.info_;
  }
  return *this;
}

Segment::Segment(std::unique_ptr<Impl> impl, std::byte* base, const SegmentInfo& info)
    : impl_(std::move(impl)), base_(base), info_(info) {
  AttachedSegments::locked([&] {
    id_ = *impl_->id;
    impl_->id = &id_;
  });
}

Segment::~Segment() {
  if (!impl_ || base_ == nullptr || impl_->observer) return;
  AttachedSegments::erase(impl_.get());
  RegistryEntry& me = self();
  // [R13'] release: a getter that sees the producer bit gone (QueueCore::count_producers, [A13])
  // sees what this attachment put; a relaxed store would not continue [R13]'s release.
  shm_store(me.roles, 0, std::memory_order_release);
  ofd_try_lock(impl_->fd(), kRegistryLockBase + id_.self_index, F_UNLCK);
}

const std::string& Segment::name() const noexcept {
  static const std::string none;
  return impl_ ? impl_->name : none;
}

namespace {

void validate_create_spec(std::string_view name, const Segment::CreateSpec& spec) {
  validate_name(name);
  if (spec.total_bytes < kBodyOffset + spec.body_bytes) {
    throw Error(Errc::invalid_argument, name, "total size smaller than header and body");
  }
  if ((spec.mode & ~0777U) != 0) {
    throw Error(Errc::invalid_argument, name,
                fmt::format("mode {:o} is not a permission", spec.mode));
  }
}

// Sizes a new segment file and reserves its memory now: a file larger than what /dev/shm has
// left is a clear error here, not a SIGBUS at the first touch of a page the file system cannot
// give. ftruncate zero-fills it: every atomic starts at 0, every registry entry is free.
void size_and_reserve(std::string_view name, int fd, std::uint64_t total_bytes) {
  if (::ftruncate(fd, static_cast<off_t>(total_bytes)) != 0) throw_errno(name, "ftruncate", errno);
  if (const int err = ::posix_fallocate(fd, 0, static_cast<off_t>(total_bytes)); err != 0) {
    if (err == ENOSPC) {
      throw Error(std::error_code(err, std::generic_category()), name,
                  fmt::format("no space for {} bytes in /dev/shm (posix_fallocate)", total_bytes));
    }
    if (err != EOPNOTSUPP && err != ENOSYS) throw_errno(name, "posix_fallocate", err);
  }
}

// Maps the whole file (map_bytes of it) shared, read-only for an observer.
void map_file(std::string_view name, Segment::Impl& impl, std::size_t bytes, bool read_only) {
  impl.map_bytes = bytes;
  impl.map = ::mmap(nullptr, bytes, read_only ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED,
                    impl.fd(), 0);
  if (impl.map == MAP_FAILED) {
    impl.map = nullptr;
    throw_errno(name, "mmap", errno);
  }
}

SegmentInfo new_segment_info(const Segment::CreateSpec& spec) {
  SegmentInfo info;
  info.magic = kMagic;
  info.layout_version = kLayoutVersion;
  info.kind = static_cast<std::uint32_t>(spec.kind);
  info.total_bytes = spec.total_bytes;
  info.created_unix_ns = unix_now_ns();
  info.creator_pid = static_cast<std::uint32_t>(getpid());
  info.registry_capacity = kRegistryCapacity;
  info.registry_offset = kRegistryOffset;
  info.body_offset = kBodyOffset;
  info.body_bytes = spec.body_bytes;
  return info;
}

// The header's fields but `ready`, which is published last ([R0]).
void write_header(SegmentHeader& shared, const SegmentInfo& info) {
  shared.magic = info.magic;
  shared.layout_version = info.layout_version;
  shared.kind = info.kind;
  shared.total_bytes = info.total_bytes;
  shared.created_unix_ns = info.created_unix_ns;
  shared.creator_pid = info.creator_pid;
  shared.registry_capacity = info.registry_capacity;
  shared.registry_offset = info.registry_offset;
  shared.body_offset = info.body_offset;
  shared.body_bytes = info.body_bytes;
}

// The private copy; only it is used once it is taken.
SegmentInfo read_header(const SegmentHeader& shared) {
  SegmentInfo info;
  info.magic = shared.magic;
  info.layout_version = shared.layout_version;
  info.kind = shared.kind;
  info.total_bytes = shared.total_bytes;
  info.created_unix_ns = shared.created_unix_ns;
  info.creator_pid = shared.creator_pid;
  info.registry_capacity = shared.registry_capacity;
  info.registry_offset = shared.registry_offset;
  info.body_offset = shared.body_offset;
  info.body_bytes = shared.body_bytes;
  return info;
}

// The file must be a regular file of ours: a segment of another user is refused, not joined.
void check_file(std::string_view name, int fd, struct stat& st) {
  if (fstat(fd, &st) != 0) throw_errno(name, "fstat", errno);
  if (!S_ISREG(st.st_mode)) throw Error(Errc::not_a_segment, name, "not a regular file");
  if (st.st_uid != geteuid()) {
    throw Error(Errc::permission_denied, name,
                fmt::format("owned by uid {}, this process is uid {}", st.st_uid, geteuid()));
  }
}

// Waits (bounded) until the file is big enough and `ready` is set, or the creator is gone;
// returns the file's stat then.
// The creator takes the init lock *before* it writes the magic and releases it only after
// `ready`: magic present, lock free and not ready means the creator died (no timing involved).
// Without the magic, a free lock may be a creator between its O_EXCL open and its lock
// (preempted there for any time): that is waited for up to `ready_timeout`, never judged.
struct stat wait_until_ready(std::string_view name, int fd,
                             std::chrono::milliseconds ready_timeout) {
  const auto deadline = std::chrono::steady_clock::now() + ready_timeout;
  struct stat st {};
  for (;;) {
    check_file(name, fd, st);
    const HeaderLook look = look_at_header(name, fd, st);
    if (look.ready) return st;
    if (!ofd_is_locked(fd, kInitLockByte) && look.magic) {
      // The lock is free: re-read, for a creator that stored `ready` and unlocked meanwhile.
      if (fstat(fd, &st) != 0) throw_errno(name, "fstat", errno);
      if (look_at_header(name, fd, st).ready) return st;
      throw Error(Errc::not_ready, name, "its creator died before finishing initialisation");
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw Error(Errc::not_ready, name,
                  fmt::format("not initialised within {} ms{}", ready_timeout.count(),
                              look.magic ? ""
                                         : " (no creator holds it: it may have died right "
                                           "after creating the name; `shmq rm` removes it)"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// A header read from a file of `file_size` bytes must describe this library's layout and fit
// the file; `kind`, if given, must match (else the kind must at least be a known one).
void validate_info(std::string_view name, const SegmentInfo& info, std::optional<SegmentKind> kind,
                   std::uint64_t file_size) {
  if (info.magic != kMagic) throw Error(Errc::not_a_segment, name, "bad magic");
  if (info.layout_version != kLayoutVersion) {
    throw Error(Errc::version_mismatch, name,
                fmt::format("layout version {}, this library reads {}", info.layout_version,
                            kLayoutVersion));
  }
  if (kind && info.kind != static_cast<std::uint32_t>(*kind)) {
    throw Error(Errc::wrong_kind, name,
                fmt::format("a {} segment, expected a {}", kind_name(info.kind),
                            kind_name(static_cast<std::uint32_t>(*kind))));
  }
  if (!kind && kind_name(info.kind) == std::string_view("unknown")) {
    throw Error(Errc::corrupt, name, fmt::format("unknown segment kind {}", info.kind));
  }
  if (info.total_bytes != file_size) {
    throw Error(Errc::corrupt, name,
                fmt::format("header says {} bytes, the file has {}", info.total_bytes, file_size));
  }
  if (info.registry_capacity != kRegistryCapacity || info.registry_offset != kRegistryOffset) {
    throw Error(
        Errc::corrupt, name,
        fmt::format("registry of {} entries at {}", info.registry_capacity, info.registry_offset));
  }
  if (info.body_offset != kBodyOffset || info.body_bytes > file_size ||
      info.body_offset + info.body_bytes > file_size) {
    throw Error(Errc::corrupt, name,
                fmt::format("body of {} bytes at {} does not fit {} bytes", info.body_bytes,
                            info.body_offset, file_size));
  }
}

}  // namespace

Segment Segment::create(std::string_view name, const CreateSpec& spec, const InitBody& init) {
  validate_create_spec(name, spec);
  name = bare_name(name);
  auto impl = std::make_unique<Impl>();
  impl->name = std::string(name);
  impl->kind = spec.kind;
  const std::string path = segment_path(name);
  impl->fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                     static_cast<mode_t>(spec.mode));
  if (impl->fd_ < 0) throw_errno(name, "open(O_CREAT|O_EXCL)", errno);
  // From here on the name is ours: unlink it if anything below fails.
  struct Unlinker {
    std::string path;
    bool armed = true;
    ~Unlinker() {
      if (armed) ::unlink(path.c_str());
    }
  } unlinker{path};
  SHMQ_CRASH_POINT(create_before_lock);
  // The mode as asked, whatever the umask.
  if (::fchmod(impl->fd(), static_cast<mode_t>(spec.mode)) != 0) throw_errno(name, "fchmod", errno);

  // Held until `ready` is stored: an opener that sees neither lock nor ready knows we died.
  if (!ofd_try_lock(impl->fd(), kInitLockByte, F_WRLCK))
    throw_errno(name, "fcntl(F_OFD_SETLK)", errno);
  // The magic first, so that `shmq gc` can tell an abandoned creation from a foreign file.
  if (::pwrite(impl->fd(), &kMagic, sizeof(kMagic), 0) != static_cast<ssize_t>(sizeof(kMagic))) {
    throw_errno(name, "pwrite", errno);
  }
  size_and_reserve(name, impl->fd(), spec.total_bytes);
  map_file(name, *impl, static_cast<std::size_t>(spec.total_bytes), false);
  auto* base = impl->base();
  const SegmentInfo info = new_segment_info(spec);
  auto* shared = reinterpret_cast<SegmentHeader*>(base);
  write_header(*shared, info);
  init(base);

  if (!impl->attach()) throw_registry_full(name);
  AttachedSegments::insert(impl.get());
  Segment seg(std::move(impl), base, info);
  // [R0] publish the initialised segment; pairs with [A0] in open().
  shm_store(shared->ready, kReadyValue, std::memory_order_release);
  ofd_try_lock(seg.impl_->fd(), kInitLockByte, F_UNLCK);
  unlinker.armed = false;
  return seg;
}

Segment Segment::open(std::string_view name, SegmentKind kind,
                      std::chrono::milliseconds ready_timeout) {
  // A name unlinked (by `shmq gc` or remove()) and made again while we opened it would leave us
  // on an orphaned inode: attach, then check the name still leads to our inode; else go again.
  for (int attempt = 0;; ++attempt) {
    Segment seg = open_impl(name, kind, ready_timeout, false);
    if (seg.impl_->still_named() || attempt >= 8) return seg;
  }
}

Segment Segment::observe(std::string_view name, std::chrono::milliseconds ready_timeout) {
  return open_impl(name, std::nullopt, ready_timeout, true);
}

Segment Segment::open_impl(std::string_view name, std::optional<SegmentKind> kind,
                           std::chrono::milliseconds ready_timeout, bool observe) {
  validate_name(name);
  name = bare_name(name);
  auto impl = std::make_unique<Impl>();
  impl->name = std::string(name);
  impl->observer = observe;
  impl->fd_ = open_segment_file(name, observe);
  const struct stat st = wait_until_ready(name, impl->fd(), ready_timeout);
  map_file(name, *impl, static_cast<std::size_t>(st.st_size), observe);
  auto* base = impl->base();
  auto* shared = reinterpret_cast<SegmentHeader*>(base);
  // [A0] acquire `ready`; pairs with [R0] in create(). Everything below reads a released header.
  if (shm_load(shared->ready, std::memory_order_acquire) != kReadyValue) {
    throw Error(Errc::corrupt, name, "ready word changed while opening");
  }
  const SegmentInfo info = read_header(*shared);
  validate_info(name, info, kind, static_cast<std::uint64_t>(st.st_size));
  impl->kind = static_cast<SegmentKind>(info.kind);
  if (!observe) {
    if (!impl->attach()) throw_registry_full(name);
    AttachedSegments::insert(impl.get());
  }
  return Segment(std::move(impl), base, info);
}

bool Segment::remove(std::string_view name) {
  validate_name(name);
  return ::unlink(segment_path(name).c_str()) == 0;
}

namespace {

// Takes dead entry i over through `fd` (layout.hpp, RegistryEntry): its claim byte, then its
// byte as a read lock. False, holding nothing, if another taker has it or its owner is alive.
bool take_over_entry(int fd, std::uint32_t i) noexcept {
  if (!ofd_try_lock(fd, kRegistryClaimLockBase + i, F_WRLCK)) return false;
  if (ofd_try_lock(fd, kRegistryLockBase + i, F_RDLCK)) return true;
  ofd_try_lock(fd, kRegistryClaimLockBase + i, F_UNLCK);
  return false;
}
// Lets go of an entry taken over and not owned.
void end_take_over(int fd, std::uint32_t i) noexcept {
  ofd_try_lock(fd, kRegistryLockBase + i, F_UNLCK);
  ofd_try_lock(fd, kRegistryClaimLockBase + i, F_UNLCK);
}

}  // namespace

std::optional<Segment::Identity> Segment::Impl::take_entry(int lock_fd, std::uint32_t pid,
                                                           std::uint32_t roles) noexcept {
  auto* header = reinterpret_cast<SegmentHeader*>(base());
  // Two passes: first only entries with no pending intent (a dead owner's intent is what
  // recovery looks for first), then any free entry (recovery copes with a lost intent:
  // QueueCore::holder_dead).
  for (int pass = 0; pass < 2; ++pass) {
    for (std::uint32_t i = 0; i < kRegistryCapacity; ++i) {
      RegistryEntry& e = registry()[i];
      // acquire: pairs with the owner's release of its intent ([R8] in slot_ring.hpp).
      if (pass == 0 && shm_load(e.pending, std::memory_order_acquire) != 0) continue;
      // Take the dead entry over (layout.hpp, RegistryEntry): its claim byte (one taker at a
      // time), then its byte as a read lock, so that until the new generation is published below
      // everyone judges the last owner's token dead — not alive by a lock it no longer holds.
      if (!take_over_entry(lock_fd, i)) continue;
      SHMQ_CRASH_POINT(attach_entry_locked);
      // Entry i is ours; its previous owner (if any) is gone. Take back what it left: its
      // waiters bits, its intent, its counters.
      clear_waiters_bit(base(), kind, i);
      shm_store(e.pending, 0, std::memory_order_relaxed);  // relaxed: we hold the entry's lock
      auto* from = reinterpret_cast<std::atomic<std::uint64_t>*>(&e.counters);
      auto* to = reinterpret_cast<std::atomic<std::uint64_t>*>(&header->retired);
      for (std::size_t c = 0; c < kCounterCount; ++c) {
        // relaxed: statistics; several attachers may retire into `retired` at once.
        const std::uint64_t v = shm_exchange(from[c], 0, std::memory_order_relaxed);
        if (v != 0) shm_fetch_add(to[c], v, std::memory_order_relaxed);
      }
      // relaxed: only the lock holder writes the entry.
      const std::uint64_t generation =
          (shm_load(e.generation, std::memory_order_relaxed) + 1) & ((1ULL << 56) - 1);
      shm_store(e.pid, pid, std::memory_order_relaxed);
      shm_store(e.attached_unix_ns, unix_now_ns(), std::memory_order_relaxed);
      // [R3] publish the entry's identity (and roles: a forked child's pipe ends, before its
      // peer can look for them); pairs with [A3] in is_alive() and [A22] in pipe.cpp.
      shm_store(e.roles, roles, std::memory_order_release);
      shm_store(e.generation, generation, std::memory_order_release);
      // Own it: the read lock becomes the owner's write lock (atomically; no one else can hold
      // the byte while we hold the claim byte), after the generation store, so a judge that sees
      // the write lock sees the new generation.
      if (!ofd_try_lock(lock_fd, kRegistryLockBase + i, F_WRLCK)) {
        end_take_over(lock_fd, i);
        continue;
      }
      ofd_try_lock(lock_fd, kRegistryClaimLockBase + i, F_UNLCK);
      Identity got;
      got.self_index = i;
      got.self_token = make_token(i, generation);
      return got;
    }
  }
  return std::nullopt;
}

bool Segment::tag_dead(std::uint32_t tag) const noexcept {
  const std::uint32_t index = (tag & 0xFFU) - 1;
  if ((tag & 0xFFU) == 0 || index >= kRegistryCapacity) return false;  // not a tag: never on doubt
  if (index == id_.self_index) return tag != static_cast<std::uint32_t>(id_.self_token);
  // As in is_alive(): free or being taken over, its owner is gone.
  if (ofd_lock_type(impl_->fd(), kRegistryLockBase + index) != F_WRLCK) return true;
  // [A3] as in is_alive(): a reused entry has a newer generation.
  const std::uint64_t generation = shm_load(entry(index).generation, std::memory_order_acquire);
  return static_cast<std::uint32_t>(make_token(index, generation)) != tag;
}

Segment::PendingScan Segment::scan_pending(std::uint64_t value) const noexcept {
  PendingScan scan;
  for (std::uint32_t i = 0; i < kRegistryCapacity; ++i) {
    // [A8] see an owner's cleared intent together with the claimer stamp it wrote before
    // clearing it; pairs with [R8] in slot_ring.hpp.
    if (shm_load(entry(i).pending, std::memory_order_acquire) != value) continue;
    (entry_alive(i) ? scan.live : scan.dead) = true;
  }
  return scan;
}

void Segment::clear_dead_pending(std::uint64_t value) const noexcept {
  for (std::uint32_t i = 0; i < kRegistryCapacity; ++i) {
    auto& pending = entry(i).pending;
    // relaxed: only dead owners' intents are cleared, and only the recovery lock holder does it.
    if (shm_load(pending, std::memory_order_relaxed) != value || entry_alive(i)) continue;
    std::uint64_t expected = value;
    shm_cas_strong(pending, expected, 0, std::memory_order_relaxed, std::memory_order_relaxed);
  }
}

std::uint32_t Segment::reap_dead_sleepers() const noexcept {
  if (impl_->observer) return 0;
  const EventCountOffsets ecs = eventcount_offsets(impl_->kind);
  std::uint64_t bits = 0;
  for (std::uint32_t k = 0; k < ecs.count; ++k) {
    // relaxed: a hint; the lock below decides.
    bits |= shm_load(reinterpret_cast<EventCountData*>(base_ + ecs.at[k])->waiters,
                     std::memory_order_relaxed);
  }
  bits &= ~self_bit();
  std::uint32_t reaped = 0;
  for (; bits != 0; bits &= bits - 1) {
    const auto i = static_cast<std::uint32_t>(std::countr_zero(bits));
    if (i >= kRegistryCapacity || entry_alive(i)) continue;
    SHMQ_CRASH_POINT(reap_judged);
    // Take the dead entry over while clearing its bit: no new owner can attach to it and
    // register (with the same bit) between our verdict and our clear.
    if (!take_over_entry(impl_->fd(), i)) continue;
    clear_waiters_bit(base_, impl_->kind, i);
    end_take_over(impl_->fd(), i);
    ++reaped;
  }
  return reaped;
}

SleepGate& Segment::sleep_gate() const noexcept {
  return impl_->gate;
}

bool Segment::entry_alive(std::uint32_t index) const noexcept {
  if (index >= kRegistryCapacity) return false;
  if (index == id_.self_index) return true;
  return ofd_is_locked(impl_->fd(), kRegistryLockBase + index);
}

bool Segment::is_alive(std::uint64_t token) const noexcept {
  if ((token & 0xFFU) == 0) return false;
  const std::uint32_t index = token_index(token);
  if (index >= kRegistryCapacity) return false;
  if (index == id_.self_index) return token == id_.self_token;
  // Free: its owner is gone; read-locked: being taken over, its owner is gone (layout.hpp).
  if (ofd_lock_type(impl_->fd(), kRegistryLockBase + index) != F_WRLCK) return false;
  // [A3] pairs with [R3] in attach(): a reused entry has a newer generation.
  return (shm_load(entry(index).generation, std::memory_order_acquire) << 8) == (token & ~0xFFULL);
}

}  // namespace shmq::detail
