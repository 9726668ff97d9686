// Helpers for the Manager tests: a manager that never outlives its test.
#pragma once

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>

#include "shmq/inspect.hpp"
#include "shmq/manager.hpp"
#include "support/test_support.hpp"

namespace shmq::test {

// Options for tests: short sleep slices, so that deaths are noticed quickly.
inline ManagerOptions fast_options() {
  ManagerOptions o;
  o.wait.spin_iterations = 200;
  o.wait.sleep_slice = std::chrono::milliseconds(10);
  o.housekeeping = std::chrono::milliseconds(10);
  return o;
}

// Unlinks every name the manager derives before and after the test; kills its server if the
// test failed before shutting it down.
class ScopedManagerName {
 public:
  explicit ScopedManagerName(const std::string& prefix) : name_(unique_name(prefix)) {
    Manager::remove(name_);
  }
  ~ScopedManagerName() { Manager::remove(name_); }
  ScopedManagerName(const ScopedManagerName&) = delete;
  ScopedManagerName& operator=(const ScopedManagerName&) = delete;
  const std::string& str() const { return name_; }
  operator std::string_view() const { return name_; }

 private:
  std::string name_;
};

// The put position of manager `name`'s request queue (`NAME.req`, docs/manager.md): every request
// a client sends advances it. A test that knows no other client is sending can tell from it that
// a blocking call was sent, so the server applies it before any request sent afterwards.
inline std::uint64_t request_tail(std::string_view name) {
  return inspect(std::string(name) + ".req").queue.value().tail;
}
// Waits (bounded, generously) until a request was sent after the request tail was `tail`.
inline bool request_sent_after(std::string_view name, std::uint64_t tail,
                               std::chrono::milliseconds timeout = kChildWait) {
  return wait_until([&] { return request_tail(name) != tail; }, timeout);
}

// Opens `name` once a new server serves it (it may still be starting: Manager::serve reports to
// nobody).
// The bound is for a server that never comes, not a speed claim: an adopter replaying a large
// journal on a loaded machine took over 10 s (two of nine loaded runs of the compaction scenario).
inline Manager open_when_served(std::string_view name,
                                std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    try {
      return Manager::open(name, fast_options());
    } catch (const shmq::Error&) {
      if (std::chrono::steady_clock::now() >= deadline) throw;
    }
    // deliberate-sleep: the retry interval of a bounded wait for the new server.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// A server process that is SIGKILLed (and reaped) when the guard goes, pass or fail.
class ServerGuard {
 public:
  explicit ServerGuard(pid_t pid) : pid_(pid) {}
  ~ServerGuard() { kill(); }
  ServerGuard(const ServerGuard&) = delete;
  ServerGuard& operator=(const ServerGuard&) = delete;
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int st = 0;
    waitpid(pid_, &st, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_;
};

}  // namespace shmq::test
