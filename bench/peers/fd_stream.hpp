// Endpoints over a byte-stream file descriptor (a pipe, a Unix stream socket), shared by the
// kernel peers. A message is N bytes written in one write() call (looping on short writes); a
// receiver reads as many whole messages as are there, up to its batch. Spinning, the descriptor is
// O_NONBLOCK and EAGAIN is retried with a pause; sleeping, read()/write() block in the kernel.
// Messages are read straight into the caller's buffer: one copy out of the kernel, as every other
// peer makes one copy out of its ring.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "../workloads.hpp"

namespace shmq_bench {

inline void write_all(int fd, const std::byte* p, std::size_t n) {
  while (n != 0) {
    const ssize_t r = ::write(fd, p, n);
    if (r > 0) {
      p += r;
      n -= static_cast<std::size_t>(r);
    } else if (r < 0 && errno == EAGAIN) {
      cpu_relax();  // O_NONBLOCK (spinning) and the buffer is full
    } else if (r < 0 && errno != EINTR) {
      throw std::system_error(errno, std::generic_category(), "write");
    }
  }
}

template <std::size_t N>
class FdTx {
 public:
  explicit FdTx(int fd) : fd_(fd) {}
  void send(const Msg<N>& m) { write_all(fd_, m.bytes, N); }

 private:
  int fd_;
};

template <std::size_t N>
class FdRx {
 public:
  explicit FdRx(int fd) : fd_(fd) {}
  // Reads until it holds at least one message and no partial one: the writer always completes
  // the message it started, so the tail of a split message follows at once.
  std::size_t recv(Msg<N>* out, std::size_t max) {
    auto* dst = reinterpret_cast<std::byte*>(out);
    const std::size_t room = max * N;
    std::size_t have = 0;
    while (have == 0 || have % N != 0) {
      const ssize_t r = ::read(fd_, dst + have, room - have);
      if (r > 0) {
        have += static_cast<std::size_t>(r);
      } else if (r == 0) {
        throw std::runtime_error("read: the other end closed");
      } else if (errno == EAGAIN) {
        cpu_relax();
      } else if (errno != EINTR) {
        throw std::system_error(errno, std::generic_category(), "read");
      }
    }
    return have / N;
  }

 private:
  int fd_;
};

// The variants of a kernel stream peer: `what` names the calls ("pipe", "socketpair").
inline std::vector<Variant> stream_variants(const Scenario& s) {
  switch (s.figure) {
    case Figure::roundtrip:
      if (s.wait == Wait::spin) return {{"nonblock", "O_NONBLOCK read/write retried (busy-poll)"}};
      return {{"blocking", "blocking read/write"}};
    case Figure::throughput: {
      const std::size_t rb = s.bytes <= 1024 ? kBatch : 1;
      return {
          {"nonblock", fmt::format("write 1 msg/call, read ≤{} msgs/call, O_NONBLOCK", rb), 1, rb}};
    }
    case Figure::mpmc:
      return {};
  }
  return {};
}

}  // namespace shmq_bench
