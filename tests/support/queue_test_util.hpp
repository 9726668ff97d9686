// Helpers of the Queue foundation's tests: a pipe to talk to forked children, raw access to a
// segment file (to corrupt it on purpose), bounded polling, and seeding of rapidcheck.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <type_traits>

#include <gtest/gtest.h>

#include "shmq/error.hpp"
#include "support/test_support.hpp"

namespace shmq::test {

// A one-way pipe for small trivially copyable records between a parent and a forked child.
class FdPipe {
 public:
  FdPipe() {
    if (::pipe(fds_) != 0) {
      fds_[0] = fds_[1] = -1;
      ADD_FAILURE() << "pipe(): " << std::strerror(errno);
    }
  }
  ~FdPipe() {
    for (int fd : fds_) {
      if (fd >= 0) ::close(fd);
    }
  }
  FdPipe(const FdPipe&) = delete;
  FdPipe& operator=(const FdPipe&) = delete;

  template <class T>
  bool write(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    return ::write(fds_[1], &v, sizeof(T)) == static_cast<ssize_t>(sizeof(T));
  }
  // Reads one record, waiting at most `timeout`. False on timeout, EOF or error.
  template <class T>
  bool read(T& v, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    static_assert(std::is_trivially_copyable_v<T>);
    auto* out = reinterpret_cast<unsigned char*>(&v);
    std::size_t got = 0;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (got < sizeof(T)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fds_[0], POLLIN, 0};
      const int r = ::poll(&p, 1, static_cast<int>(left.count()));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      const ssize_t n = ::read(fds_[0], out + got, sizeof(T) - got);
      if (n <= 0) return false;
      got += static_cast<std::size_t>(n);
    }
    return true;
  }

 private:
  int fds_[2] = {-1, -1};
};

// Writes `v` at `offset` of the segment file /dev/shm/NAME with plain pwrite().
template <class T>
void poke(const std::string& name, std::size_t offset, const T& v) {
  static_assert(std::is_trivially_copyable_v<T>);
  const std::string path = "/dev/shm/" + name;
  const int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
  const ssize_t n = ::pwrite(fd, &v, sizeof(T), static_cast<off_t>(offset));
  ::close(fd);
  ASSERT_EQ(n, static_cast<ssize_t>(sizeof(T))) << "pwrite " << path << " at " << offset;
}

template <class T>
T peek_file(const std::string& name, std::size_t offset) {
  static_assert(std::is_trivially_copyable_v<T>);
  T v{};
  const std::string path = "/dev/shm/" + name;
  const int fd = ::open(path.c_str(), O_RDONLY);
  EXPECT_GE(fd, 0) << path;
  if (fd < 0) return v;
  EXPECT_EQ(::pread(fd, &v, sizeof(T), static_cast<off_t>(offset)),
            static_cast<ssize_t>(sizeof(T)));
  ::close(fd);
  return v;
}

// Polls `cond` every millisecond until it holds or `timeout` passes; returns whether it held.
inline bool eventually(const std::function<bool()>& cond,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    // deliberate-sleep: the poll interval of a bounded wait on a state.
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// Runs `fn`, expecting shmq::Error with `code` whose message names `segment` and contains
// `contains` (if not empty).
template <class Fn>
void expect_error(Fn&& fn, shmq::Errc code, const std::string& segment,
                  const std::string& contains = {}) {
  try {
    fn();
    ADD_FAILURE() << "no shmq::Error thrown, expected " << make_error_code(code).message();
  } catch (const shmq::Error& e) {
    EXPECT_EQ(e.code(), make_error_code(code)) << e.what();
    if (!segment.empty()) {
      EXPECT_NE(std::string(e.what()).find("segment \"" + segment + "\""), std::string::npos)
          << e.what();
    }
    EXPECT_EQ(e.segment(), segment);
    if (!contains.empty()) {
      EXPECT_NE(std::string(e.what()).find(contains), std::string::npos) << e.what();
    }
  }
}

// Seeds rapidcheck from test_seed() (so the seed is printed, and SHMQ_SEED replays a run) and
// bounds the number of cases, unless the user set RC_PARAMS. Call before the first property runs
// (rapidcheck reads its configuration once, on first use): from a namespace-scope initializer.
inline bool seed_rapidcheck(const char* what, int max_success) {
  if (const char* pinned = std::getenv("RC_PARAMS")) {
    std::fprintf(stderr, "[seed] %s: RC_PARAMS=\"%s\" (pinned by the exported RC_PARAMS)\n", what,
                 pinned);
    return false;
  }
  const std::uint64_t seed = test_seed(what);
  const std::string params =
      "seed=" + std::to_string(seed) + " max_success=" + std::to_string(max_success);
  ::setenv("RC_PARAMS", params.c_str(), 0);
  return true;
}

}  // namespace shmq::test
