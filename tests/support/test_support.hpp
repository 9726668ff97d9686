// Shared test helpers: unique segment names, RAII cleanup, seeded randomness, forked children.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
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
  std::fprintf(stderr, "[seed] %s: SHMQ_SEED=%llu\n", what, static_cast<unsigned long long>(seed));
  return seed;
}

// A forked child running `body`; its return value is the exit code. Killed if still running when
// the handle is destroyed, so a failing test never leaves processes behind.
class Child {
 public:
  explicit Child(const std::function<int()>& body) {
    std::fflush(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
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
  }
  Child(Child&& o) noexcept : pid_(o.pid_), status_(o.status_) { o.pid_ = -1; }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid_ > 0 && status_ < 0) {
      ::kill(pid_, SIGKILL);
      wait();
    }
  }
  pid_t pid() const { return pid_; }
  // Waits up to `timeout`; returns the exit code, 128+signal if killed, or -1 on timeout.
  int wait(std::chrono::milliseconds timeout = std::chrono::minutes(5)) {
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
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  void kill(int sig = SIGKILL) {
    if (pid_ > 0 && status_ < 0) ::kill(pid_, sig);
  }

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

}  // namespace shmq::test
