// Shared test helpers: unique segment names, RAII cleanup, seeded randomness, forked children.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "shmq/detail/segment.hpp"

namespace shmq::test {

// A name no other test (or concurrent ctest job) uses: prefix-pid-counter.
inline std::string unique_name(const std::string& prefix) {
  static int counter = 0;
  return prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
}

// Unlinks the segment name when the test ends, pass or fail.
class ScopedName {
 public:
  explicit ScopedName(std::string prefix) : name_(unique_name(prefix)) {
    shmq::detail::Segment::remove(name_);
  }
  ~ScopedName() { shmq::detail::Segment::remove(name_); }
  ScopedName(const ScopedName&) = delete;
  ScopedName& operator=(const ScopedName&) = delete;
  const std::string& str() const { return name_; }
  operator const std::string&() const { return name_; }

 private:
  std::string name_;
};

// The run's seed: $SHMQ_SEED if set, else from the clock. Printed, so a failure can be replayed.
inline std::uint64_t test_seed(const char* what) {
  std::uint64_t seed = 0;
  if (const char* env = std::getenv("SHMQ_SEED")) {
    seed = std::strtoull(env, nullptr, 0);
  } else {
    seed = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }
  std::fprintf(stderr, "[seed] %s: SHMQ_SEED=%llu%s\n", what, static_cast<unsigned long long>(seed),
               std::getenv("SHMQ_SEED") != nullptr ? " (pinned by the exported SHMQ_SEED)" : "");
  return seed;
}

// How long a test waits, by default, for a child to end or to report: generous (a loaded machine,
// ASan), and still well under ctest's TIMEOUT (300 s, tests/CMakeLists.txt), so a stuck child
// fails its test instead of outliving it.
inline constexpr std::chrono::milliseconds kChildWait = std::chrono::seconds(60);

// The state letter of /proc/PID/stat (or /proc/self/task/TID/stat): 'R', 'S', 'D', 'T', 'Z'...;
// '?' if it cannot be read (the process is gone).
inline char proc_state(const std::string& stat_path) {
  std::ifstream in(stat_path);
  std::string line;
  std::getline(in, line);
  const auto paren = line.rfind(')');
  return paren == std::string::npos || paren + 2 >= line.size() ? '?' : line[paren + 2];
}
inline char process_state(pid_t pid) {
  return proc_state("/proc/" + std::to_string(pid) + "/stat");
}
// A thread of this process, by its gettid().
inline char thread_state(pid_t tid) {
  return proc_state("/proc/self/task/" + std::to_string(tid) + "/stat");
}

// Polls `cond` every millisecond until it holds or `timeout` passes; returns whether it held.
// For states that have no event to wait on (a process state, a counter in shared memory).
inline bool wait_until(const std::function<bool()>& cond,
                       std::chrono::milliseconds timeout = kChildWait) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    // deliberate-sleep: the poll interval of a bounded wait on a state.
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

namespace child_detail {
// This process's ends of the pipes to its parent, when it is a Child: [0] reads go(), [1] reports.
inline int child_fds[2] = {-1, -1};

inline bool write_all(int fd, const void* bytes, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(bytes);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// Reads one u64 from `fd`, waiting at most `timeout`. False on timeout, end-of-file or error.
inline bool read_u64(int fd, std::uint64_t& value, std::chrono::milliseconds timeout) {
  auto* out = reinterpret_cast<unsigned char*>(&value);
  std::size_t got = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (got < sizeof value) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    const ssize_t n = ::read(fd, out + got, sizeof value - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    got += static_cast<std::size_t>(n);
  }
  return true;
}
}  // namespace child_detail

// In a Child's body: tells the parent "I am there" (Child::wait_ready), with a value if it has one
// to say. Each call is one event; the parent reads them in order.
inline bool report_ready(std::uint64_t value = 0) {
  return child_detail::child_fds[1] >= 0 &&
         child_detail::write_all(child_detail::child_fds[1], &value, sizeof value);
}

// In a Child's body: waits for the parent's Child::go(); returns its value. Throws if the parent
// did not say go within `timeout` (or is gone): the child then exits 99.
inline std::uint64_t wait_go(std::chrono::milliseconds timeout = kChildWait) {
  std::uint64_t value = 0;
  if (child_detail::child_fds[0] < 0 ||
      !child_detail::read_u64(child_detail::child_fds[0], value, timeout)) {
    throw std::runtime_error("no go() from the parent");
  }
  return value;
}

// A forked child running `body`; its return value is the exit code. Killed if still running when
// the handle is destroyed, so a failing test never leaves processes behind; killed by the kernel
// (PR_SET_PDEATHSIG) if the test process dies first. The child and the parent meet by events:
// the child calls report_ready() when it reached a point, the parent waits for it with
// wait_ready(); the parent calls go(), the child waits for it with wait_go().
// Create it on the test's main thread: the death signal follows the thread that forked.
class Child {
 public:
  explicit Child(const std::function<int()>& body) {
    int up[2] = {-1, -1};
    int down[2] = {-1, -1};
    if (::pipe2(up, O_CLOEXEC) != 0 || ::pipe2(down, O_CLOEXEC) != 0) {
      std::perror("Child: pipe2");
      std::abort();
    }
    const pid_t parent = getpid();
    std::fflush(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(98);  // the parent died before the prctl
      ::close(up[0]);
      ::close(down[1]);
      child_detail::child_fds[0] = down[0];
      child_detail::child_fds[1] = up[1];
      int rc = 99;
      try {
        rc = body();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "child %d: %s\n", getpid(), e.what());
      } catch (...) {
        std::fprintf(stderr, "child %d: unknown exception\n", getpid());
      }
      std::fflush(nullptr);
      _exit(rc);
    }
    ::close(up[1]);
    ::close(down[0]);
    ready_fd_ = up[0];
    go_fd_ = down[1];
    if (pid_ < 0) {
      std::perror("Child: fork");
      std::abort();
    }
  }
  Child(Child&& o) noexcept
      : pid_(o.pid_), status_(o.status_), ready_fd_(o.ready_fd_), go_fd_(o.go_fd_) {
    o.pid_ = -1;
    o.ready_fd_ = -1;
    o.go_fd_ = -1;
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid_ > 0 && status_ < 0) {
      ::kill(pid_, SIGKILL);
      wait();
    }
    if (ready_fd_ >= 0) ::close(ready_fd_);
    if (go_fd_ >= 0) ::close(go_fd_);
  }
  pid_t pid() const { return pid_; }

  // Waits for the child's next report_ready(); false if it did not come within `timeout` or the
  // child ended first. Its value goes to `*value`.
  bool wait_ready(std::uint64_t* value = nullptr, std::chrono::milliseconds timeout = kChildWait) {
    std::uint64_t v = 0;
    if (ready_fd_ < 0 || !child_detail::read_u64(ready_fd_, v, timeout)) return false;
    if (value != nullptr) *value = v;
    return true;
  }
  bool wait_ready(std::chrono::milliseconds timeout) { return wait_ready(nullptr, timeout); }
  // Lets the child's wait_go() return `value`.
  bool go(std::uint64_t value = 0) {
    return go_fd_ >= 0 && child_detail::write_all(go_fd_, &value, sizeof value);
  }

  // Waits up to `timeout`; returns the exit code, 128+signal if killed, or -1 on timeout.
  int wait(std::chrono::milliseconds timeout = kChildWait) {
    if (pid_ <= 0) return -1;
    if (status_ >= 0) return status_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int st = 0;
      const pid_t r = waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return status_;
      }
      if (std::chrono::steady_clock::now() >= deadline) return -1;
      // deliberate-sleep: the poll interval of a bounded wait for the child's exit.
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  void kill(int sig = SIGKILL) {
    if (pid_ > 0 && status_ < 0) ::kill(pid_, sig);
  }
  // Sends SIGSTOP and waits until the kernel reports the child stopped (state 'T').
  bool stop(std::chrono::milliseconds timeout = kChildWait) {
    kill(SIGSTOP);
    return wait_until([this] { return process_state(pid_) == 'T'; }, timeout);
  }

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  int ready_fd_ = -1;
  int go_fd_ = -1;
};

}  // namespace shmq::test
