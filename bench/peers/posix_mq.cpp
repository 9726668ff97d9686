// posix_mq: a POSIX message queue (mq_open) per direction — a kernel queue of whole messages,
// multi-producer, multi-consumer. Its depth and message size are capped by the kernel
// (/proc/sys/fs/mqueue/msg_max, default 10 messages; msgsize_max, default 8192 bytes) for a
// process without CAP_SYS_RESOURCE: the queue is min(capacity, msg_max) deep, and a row whose
// messages exceed msgsize_max is skipped with that reason. Spinning uses O_NONBLOCK and retries
// EAGAIN; otherwise mq_send/mq_receive block.
#include <fcntl.h>
#include <mqueue.h>

#include <cerrno>
#include <fstream>
#include <system_error>

#include "../workloads.hpp"
#include "cleanup.hpp"
#include "peers.hpp"

namespace shmq_bench {
namespace {

// A kernel limit from /proc/sys/fs/mqueue (`fallback`, the kernel's default, if unreadable).
long mqueue_limit(const char* name, long fallback) {
  std::ifstream in(std::string("/proc/sys/fs/mqueue/") + name);
  long v = 0;
  return in >> v && v > 0 ? v : fallback;
}

template <std::size_t N>
class MqTx {
 public:
  explicit MqTx(mqd_t q) : q_(q) {}
  void send(const Msg<N>& m) {
    while (mq_send(q_, reinterpret_cast<const char*>(m.bytes), N, 0) != 0) {
      if (errno == EAGAIN) {
        cpu_relax();  // O_NONBLOCK (spinning) and the queue is full
      } else if (errno != EINTR) {
        throw std::system_error(errno, std::generic_category(), "mq_send");
      }
    }
  }

 private:
  mqd_t q_;
};

template <std::size_t N>
class MqRx {
 public:
  explicit MqRx(mqd_t q) : q_(q) {}
  std::size_t recv(Msg<N>* out, std::size_t) {
    for (;;) {
      const ssize_t r = mq_receive(q_, reinterpret_cast<char*>(out->bytes), N, nullptr);
      if (r == static_cast<ssize_t>(N)) return 1;
      if (r >= 0) throw std::runtime_error(fmt::format("mq_receive: a {}-byte message", r));
      if (errno == EAGAIN) {
        cpu_relax();
      } else if (errno != EINTR) {
        throw std::system_error(errno, std::generic_category(), "mq_receive");
      }
    }
  }

 private:
  mqd_t q_;
};

// A descriptor of an open queue, closed when destroyed.
class MqHandle {
 public:
  MqHandle(const std::string& name, int flags) : q_(mq_open(name.c_str(), flags)) {
    if (q_ == static_cast<mqd_t>(-1)) throw std::system_error(errno, std::generic_category(), name);
  }
  ~MqHandle() { mq_close(q_); }
  MqHandle(const MqHandle&) = delete;
  MqHandle& operator=(const MqHandle&) = delete;
  mqd_t get() const noexcept { return q_; }

 private:
  mqd_t q_;
};

class PosixMqRun final : public Run {
 public:
  PosixMqRun(const Scenario& s, const std::string& unique) : s_(s) {
    const long size_max = mqueue_limit("msgsize_max", 8192);
    if (static_cast<long>(s.bytes) > size_max) {
      throw Unavailable(
          fmt::format("{}-byte messages exceed fs.mqueue.msgsize_max = {}", s.bytes, size_max));
    }
    mq_attr attr{};
    attr.mq_maxmsg =
        std::min<long>(static_cast<long>(capacity_for(s.bytes)), mqueue_limit("msg_max", 10));
    attr.mq_msgsize = static_cast<long>(s.bytes);
    const int queues = s.figure == Figure::roundtrip ? 2 : 1;
    for (int i = 0; i < queues; ++i) {
      names_.push_back(fmt::format("/{}-{}", unique, i));
      cleanup_.add([name = names_.back()] { mq_unlink(name.c_str()); });
      const mqd_t q = mq_open(names_.back().c_str(), O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
      if (q == static_cast<mqd_t>(-1)) {
        throw std::system_error(errno, std::generic_category(),
                                fmt::format("mq_open {} ({} messages of {} bytes)", names_.back(),
                                            attr.mq_maxmsg, attr.mq_msgsize));
      }
      mq_close(q);  // the children open the name
    }
  }
  void child(ChildContext& ctx) override {
    const int flags = O_RDWR | (s_.wait == Wait::spin ? O_NONBLOCK : 0);
    std::vector<std::unique_ptr<MqHandle>> open;
    for (const std::string& n : names_)
      open.push_back(std::make_unique<MqHandle>(n, flags));
    with_size(s_.bytes, [&]<std::size_t N>() {
      run_role<N>(
          ctx, 1, 1, [&](int d) { return MqTx<N>(open[d]->get()); },
          [&](int d) { return MqRx<N>(open[d]->get()); });
    });
  }

 private:
  Scenario s_;
  std::vector<std::string> names_;
  Cleanup cleanup_;
};

class PosixMqPeer final : public Peer {
 public:
  std::string_view name() const override { return "posix_mq"; }
  std::string_view description() const override {
    return "POSIX message queue (mq_open), one per direction";
  }
  std::vector<Variant> variants(const Scenario& s) const override {
    const long depth =
        std::min<long>(static_cast<long>(capacity_for(s.bytes)), mqueue_limit("msg_max", 10));
    switch (s.figure) {
      case Figure::roundtrip:
        if (s.wait == Wait::spin) {
          return {{"nonblock", "2 queues, O_NONBLOCK mq_send/mq_receive retried"}};
        }
        return {{"blocking", "2 queues, blocking mq_send/mq_receive"}};
      case Figure::throughput:
        return {
            {"nonblock",
             fmt::format("O_NONBLOCK mq_send/mq_receive, 1 msg/call, {} deep (msg_max)", depth)}};
      case Figure::mpmc:
        return {{"blocking", fmt::format("blocking mq_send/mq_receive, {} deep (msg_max)", depth)}};
      case Figure::manager:
        return {};
    }
    return {};
  }
  std::unique_ptr<Run> prepare(const Scenario& s, const Variant&,
                               const std::string& unique) override {
    return std::make_unique<PosixMqRun>(s, unique);
  }
};

}  // namespace

std::unique_ptr<Peer> make_posix_mq_peer() {
  return std::make_unique<PosixMqPeer>();
}

}  // namespace shmq_bench
