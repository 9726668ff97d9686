// Endpoints over a file descriptor, shared by the kernel peers: byte streams (a pipe, a Unix
// stream socket) and Unix seqpacket sockets. A message is N bytes written in one write() call
// (looping on short writes, which a seqpacket socket never makes); a stream receiver reads as many
// whole messages as are there, up to its batch; a seqpacket receiver takes up to its batch of
// packets with one recvmmsg(). Spinning, the descriptor is O_NONBLOCK and EAGAIN is retried with a
// pause; sleeping, the calls block in the kernel. Messages are read straight into the caller's
// buffer: one copy out of the kernel, as every other peer makes one copy out of its ring.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <vector>

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

// Receives whole packets from a SOCK_SEQPACKET socket: one recvmmsg() takes up to `max`.
template <std::size_t N>
class SeqpacketRx {
 public:
  explicit SeqpacketRx(int fd) : fd_(fd), hdrs_(kBatch), iovs_(kBatch) {}
  std::size_t recv(Msg<N>* out, std::size_t max) {
    max = std::min(max, hdrs_.size());
    for (std::size_t i = 0; i < max; ++i) {
      iovs_[i] = {out[i].bytes, N};
      hdrs_[i] = {};
      hdrs_[i].msg_hdr.msg_iov = &iovs_[i];
      hdrs_[i].msg_hdr.msg_iovlen = 1;
    }
    for (;;) {
      // MSG_WAITFORONE: block (when blocking) for the first packet only, then take what is there.
      const int r =
          ::recvmmsg(fd_, hdrs_.data(), static_cast<unsigned>(max), MSG_WAITFORONE, nullptr);
      if (r > 0) {
        const auto got = static_cast<std::size_t>(r);
        for (std::size_t i = 0; i < got; ++i) {
          if (hdrs_[i].msg_len == 0) throw std::runtime_error("recvmmsg: the other end closed");
          if (hdrs_[i].msg_len != N || (hdrs_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0) {
            throw std::runtime_error(fmt::format("recvmmsg: a {}-byte packet", hdrs_[i].msg_len));
          }
        }
        return got;
      }
      if (r == 0) throw std::runtime_error("recvmmsg: the other end closed");
      if (errno == EAGAIN) {
        cpu_relax();
      } else if (errno != EINTR) {
        throw std::system_error(errno, std::generic_category(), "recvmmsg");
      }
    }
  }

 private:
  int fd_;
  std::vector<mmsghdr> hdrs_;
  std::vector<iovec> iovs_;
};

// socketpair(AF_UNIX, type), made before the fork so that every child inherits both ends; closed
// when destroyed. O_NONBLOCK when spinning.
class SocketPair {
 public:
  SocketPair(int type, bool nonblock) {
    if (::socketpair(AF_UNIX, type | (nonblock ? SOCK_NONBLOCK : 0), 0, sv_) != 0) {
      throw std::system_error(errno, std::generic_category(), "socketpair");
    }
  }
  ~SocketPair() {
    ::close(sv_[0]);
    ::close(sv_[1]);
  }
  SocketPair(const SocketPair&) = delete;
  SocketPair& operator=(const SocketPair&) = delete;
  // Direction 0 (ping -> pong, producer -> consumer) is written to end 0 and read from end 1;
  // direction 1 comes back.
  int tx(int direction) const noexcept { return sv_[direction == 0 ? 0 : 1]; }
  int rx(int direction) const noexcept { return sv_[direction == 0 ? 1 : 0]; }

 private:
  int sv_[2] = {-1, -1};
};

// The variants of a kernel stream peer.
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
    case Figure::mpmc:  // a byte stream splits messages between concurrent readers
    case Figure::manager:
      return {};
  }
  return {};
}

}  // namespace shmq_bench
