#include "shmq/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <system_error>

#include <fmt/format.h>

#include "shmq/error.hpp"

namespace shmq {

namespace {

// pidfd_open(2) (Linux 5.3): a descriptor that polls readable once the child has ended, so
// join(timeout) sleeps in the kernel instead of polling waitpid(). -1 where unsupported.
int open_pidfd(pid_t pid) noexcept {
#ifdef SYS_pidfd_open
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));  // O_CLOEXEC is implied
#else
  (void)pid;
  return -1;
#endif
}

// Runs in the child after fork(); never returns.
[[noreturn]] void run_child(detail::ProcessTarget& target) noexcept {
  int code = 1;
  try {
    code = target.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "shmq::Process %d: uncaught exception: %s\n", static_cast<int>(getpid()),
                 e.what());
  } catch (...) {
    std::fprintf(stderr, "shmq::Process %d: uncaught exception of unknown type\n",
                 static_cast<int>(getpid()));
  }
  std::fflush(nullptr);  // _exit() does not flush stdio
  _exit(code & 0xFF);
}

int decode_status(int status) noexcept {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1;
}

}  // namespace

Process::Process(Process&& other) noexcept
    : target_(std::move(other.target_)),
      pid_(std::exchange(other.pid_, 0)),
      parent_(std::exchange(other.parent_, 0)),
      pidfd_(std::exchange(other.pidfd_, -1)),
      exitcode_(std::exchange(other.exitcode_, std::nullopt)),
      daemon_(other.daemon_) {}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    release();
    target_ = std::move(other.target_);
    pid_ = std::exchange(other.pid_, 0);
    parent_ = std::exchange(other.parent_, 0);
    pidfd_ = std::exchange(other.pidfd_, -1);
    exitcode_ = std::exchange(other.exitcode_, std::nullopt);
    daemon_ = other.daemon_;
  }
  return *this;
}

Process::~Process() {
  release();
}

void Process::release() noexcept {
  if (owned_here() && !exitcode_) {
    if (daemon_) signal(SIGTERM);
    try {
      reap(true);
    } catch (...) {  // reap() does not throw; keep the destructor noexcept regardless
    }
  }
  if (pidfd_ >= 0 && parent_ == getpid()) ::close(pidfd_);
  pidfd_ = -1;
  pid_ = 0;
  parent_ = 0;
}

bool Process::owned_here() const noexcept {
  return pid_ > 0 && parent_ == getpid();
}

void Process::start() {
  if (pid_ != 0 || exitcode_)
    throw Error(Errc::invalid_argument, "", "Process::start(): already started");
  if (!target_) throw Error(Errc::invalid_argument, "", "Process::start(): no target");
  // Unflushed stdio would otherwise be written twice: once by each process.
  std::fflush(nullptr);
  // The child reports through this pipe that fork()'s handlers have run in it: its inherited
  // segment handles have their own registry entries and hold the pipe ends the parent's held.
  // Until then the parent must not return: a parent that closed its copy of an end right after
  // start() could otherwise leave the end briefly unheld, and its peer would see end-of-file.
  int ready[2] = {-1, -1};
  if (::pipe2(ready, O_CLOEXEC) != 0) {
    const int err = errno;
    throw Error(std::error_code(err, std::generic_category()), "",
                fmt::format("Process::start(): pipe2: {}", std::strerror(err)));
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(ready[0]);
    ::close(ready[1]);
    throw Error(std::error_code(err, std::generic_category()), "",
                fmt::format("Process::start(): fork: {}", std::strerror(err)));
  }
  if (pid == 0) {
    ::close(ready[0]);
    const char byte = 1;
    while (::write(ready[1], &byte, 1) < 0 && errno == EINTR) {
    }
    ::close(ready[1]);
    run_child(*target_);
  }
  ::close(ready[1]);
  char byte = 0;
  while (::read(ready[0], &byte, 1) < 0 && errno == EINTR) {  // 0 (EOF): the child died early
  }
  ::close(ready[0]);
  pid_ = pid;
  parent_ = getpid();
  pidfd_ = open_pidfd(pid);  // safe: an unreaped child's pid cannot be reused
  // The child has its own copies now: drop the parent's (Python's start() deletes target and
  // args too), so that an end moved into the Process is held by the child alone.
  target_.reset();
}

bool Process::reap(bool block) {
  if (exitcode_) return true;
  if (!owned_here()) return false;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
    if (r == pid_) {
      exitcode_ = decode_status(status);
      return true;
    }
    if (r == 0) return false;
    if (errno == EINTR) continue;
    // ECHILD: someone else reaped it (SIGCHLD ignored, or a waitpid(-1) elsewhere): it has ended
    // and its status is lost. Reported as 0, as with SIGCHLD = SIG_IGN no status exists.
    exitcode_ = 0;
    return true;
  }
}

bool Process::join() {
  if (!owned_here() && !exitcode_) return false;
  return reap(true);
}

bool Process::join_for(std::chrono::nanoseconds timeout) {
  if (!owned_here() && !exitcode_) return false;
  if (reap(false)) return true;
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::max(timeout, std::chrono::nanoseconds::zero());
  for (;;) {
    const auto left = deadline - clock::now();
    if (left <= left.zero()) return reap(false);
    // Round up so that a sub-millisecond remainder still sleeps, and cap each sleep.
    const auto ms =
        std::min<std::int64_t>(std::chrono::ceil<std::chrono::milliseconds>(left).count(), 100);
    if (pidfd_ >= 0) {
      pollfd pfd{pidfd_, POLLIN, 0};
      ::poll(&pfd, 1, static_cast<int>(ms));  // EINTR and timeouts: re-check below
    } else {
      ::usleep(static_cast<useconds_t>(std::min<std::int64_t>(ms, 1)) * 1000);
    }
    if (reap(false)) return true;
  }
}

bool Process::is_alive() {
  return owned_here() && !reap(false);
}

std::optional<int> Process::exitcode() {
  reap(false);
  return exitcode_;
}

void Process::signal(int sig) noexcept {
  // An unreaped child's pid cannot be reused, so this never signals a stranger.
  if (owned_here() && !exitcode_) ::kill(pid_, sig);
}

void Process::terminate() noexcept {
  signal(SIGTERM);
}

void Process::kill() noexcept {
  signal(SIGKILL);
}

void Process::detach() noexcept {
  if (pidfd_ >= 0 && parent_ == getpid()) ::close(pidfd_);
  pidfd_ = -1;
  pid_ = 0;
  parent_ = 0;
}

}  // namespace shmq
