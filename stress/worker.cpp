#include "worker.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <new>
#include <span>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

#include "message.hpp"
#include "run_log.hpp"
#include "shmq/error.hpp"
#include "shmq/manager.hpp"
#include "shmq/pipe.hpp"
#include "shmq/queue.hpp"

namespace shmq::stress {

namespace {

using namespace std::chrono_literals;
using StringQueue = Queue<std::string>;

// How long a blocked put/get waits before it looks at the stop flag (or flushes its log).
constexpr auto kPollSlice = 100ms;

std::string who(const WorkerSpec& spec) {
  return fmt::format("shmq-stress: {} #{} (id {}, pid {})", to_string(spec.role), spec.slot,
                     spec.id, ::getpid());
}

WaitPolicy wait_policy(const Config& config) {
  WaitPolicy w;
  if (config.spin) w.spin_iterations = *config.spin;
  return w;
}

// What a worker puts into and gets from: one put verb, one get verb, each bounded by kPollSlice.
// put: ok, timeout (not put; try again), or a status that ends the worker.
// get: ok, timeout (nothing yet), closed (nothing more will come), corrupt, or another status.
class QueueTransport {
 public:
  QueueTransport(const Config& config, Role)
      : queue_(StringQueue::open(config.name, wait_policy(config))) {}
  Status put(const std::string& message) { return queue_.put_for(message, kPollSlice); }
  Status get(std::string& message, const SharedControl&) {
    return queue_.get_for(message, kPollSlice);
  }

 private:
  StringQueue queue_;
};

// A packed SPSC queue of fixed-size records (--kind packed): the message is copied into the
// record on put and out of it on get; a length no record can hold is the library's corruption to
// report (kLibraryCorrupt), never a read past the record.
class PackedTransport {
 public:
  PackedTransport(const Config& config, Role)
      : queue_(Queue<PackedRecord>::open(config.name, wait_policy(config))) {}
  Status put(const std::string& message) {
    record_.length = static_cast<std::uint32_t>(message.size());  // <= kPackedMessageMax (main)
    std::memcpy(record_.bytes, message.data(), message.size());
    return queue_.put_for(record_, kPollSlice);
  }
  Status get(std::string& message, const SharedControl&) {
    const Status s = queue_.get_for(record_, kPollSlice);
    if (s != Status::ok) return s;
    if (record_.length > kPackedMessageMax) return Status::corrupt;
    message.assign(record_.bytes, record_.length);
    return Status::ok;
  }

 private:
  Queue<PackedRecord> queue_;
  PackedRecord record_;
};

// A one-way pipe: the producer holds End::second (it only sends), the consumer End::first.
// While the other end has no live holder (it died and is being restarted, or has not opened
// yet) send/recv report closed: that is a pause, not the end, until the supervisor says the
// producers are done.
class PipeTransport {
 public:
  PipeTransport(const Config& config, Role role)
      : connection_(Connection::open(config.name, role == Role::producer ? End::second : End::first,
                                     wait_policy(config))) {}
  Status put(const std::string& message) {
    const Status s = connection_.send_bytes_for(std::as_bytes(std::span(message)), kPollSlice);
    if (s != Status::closed) return s;
    std::this_thread::sleep_for(kReopenPause);  // no reader now: the message was not sent
    return Status::timeout;
  }
  Status get(std::string& message, const SharedControl& control) {
    // Read before looking: end-of-file is final only if every producer had exited before it.
    // acquire: pairs with the release store of producers_done in the supervisor.
    const bool done = control.producers_done.load(std::memory_order_acquire) != 0;
    if (!connection_.poll(kPollSlice)) return Status::timeout;
    const Status s = connection_.recv_bytes(message);
    if (s != Status::closed || done) return s;
    std::this_thread::sleep_for(kReopenPause);  // the producer is being restarted
    return Status::timeout;
  }

 private:
  static constexpr auto kReopenPause = 1ms;
  Connection connection_;
};

// A list in a Manager server used as a FIFO: producers append, consumers pop(0). A list has no
// bound, so producers hold back while it has `capacity` items (checked every kSizeCheckEvery).
class ManagerTransport {
 public:
  ManagerTransport(const Config& config, Role)
      : manager_(Manager::open(config.name)),
        list_(manager_.list<std::string>(kManagerList)),
        capacity_(config.capacity) {}
  Status put(const std::string& message) {
    if (appended_ % kSizeCheckEvery == 0 && list_.size() >= capacity_) {
      std::this_thread::sleep_for(1ms);
      return Status::timeout;
    }
    list_.append(message);
    ++appended_;
    return Status::ok;
  }
  Status get(std::string& message, const SharedControl& control) {
    // acquire: pairs with the release store of producers_done; read before the pop, so that an
    // empty list after it is final.
    const bool done = control.producers_done.load(std::memory_order_acquire) != 0;
    try {
      message = list_.pop(0);
      return Status::ok;
    } catch (const std::out_of_range&) {
      if (done) return Status::closed;
      std::this_thread::sleep_for(1ms);
      return Status::timeout;
    }
  }

 private:
  static constexpr std::uint64_t kSizeCheckEvery = 16;
  Manager manager_;
  List<std::string> list_;
  std::uint64_t capacity_;
  std::uint64_t appended_ = 0;
};

template <class Transport>
int produce(const Config& config, const WorkerSpec& spec, SharedControl& control) {
  const std::uint64_t start_ns = monotonic_ns();
  Transport transport(config, Role::producer);
  ProducerLog log(spec.log_path, config.log_batch, start_ns);
  const MessageFactory factory(config.seed, config.size_min, config.size_max);
  SlotShared& shared = control.slots[spec.slot];
  std::string message;
  message.reserve(config.size_max);
  std::uint64_t seq = 0;
  for (;;) {
    // relaxed: a request to stop soon; nothing is read through it.
    if (control.stop_producers.load(std::memory_order_relaxed) != 0) break;
    // relaxed: a counter of tickets; each is handed out once.
    if (config.messages != 0 &&
        control.tickets.fetch_add(1, std::memory_order_relaxed) >= config.messages) {
      break;
    }
    factory.build(message, spec.id, seq, monotonic_ns());
    Status s = transport.put(message);
    while (s == Status::timeout && control.stop_producers.load(std::memory_order_relaxed) == 0) {
      s = transport.put(message);
    }
    if (s == Status::timeout) break;  // stopping while the queue is full: never put
    if (s != Status::ok) {
      log.flush();
      std::fprintf(stderr, "%s: put returned %s\n", who(spec).c_str(), to_string(s).data());
      return kWorkerUnexpected;
    }
    ++seq;
    log.committed(seq, monotonic_ns());
    shared.messages.fetch_add(1, std::memory_order_relaxed);  // relaxed: a progress figure
  }
  log.flush();
  return kWorkerOk;
}

template <class Transport>
int consume(const Config& config, const WorkerSpec& spec, SharedControl& control) {
  Transport transport(config, Role::consumer);
  ConsumerLog log(spec.log_path, config.log_batch);
  const MessageFactory factory(config.seed, config.size_min, config.size_max);
  SlotShared& shared = control.slots[spec.slot];
  // Next seq expected from each producer, for the live violation figure only.
  std::unordered_map<std::uint32_t, std::uint64_t> next_seq;
  std::string message;
  message.reserve(config.size_max);
  for (;;) {
    const Status s = transport.get(message, control);
    if (s == Status::ok) {
      MessageHeader header;
      const std::uint32_t flags = factory.verify(message, header);
      if (flags == 0) {
        log.got(header.producer, header.seq);
        auto [it, fresh] = next_seq.try_emplace(header.producer, 0);
        if (!fresh && header.seq < it->second) {
          shared.violations.fetch_add(1, std::memory_order_relaxed);  // relaxed: a figure
        }
        if (header.seq + 1 > it->second) it->second = header.seq + 1;
      } else {
        log.damaged(header.producer, header.seq, flags);
        shared.violations.fetch_add(1, std::memory_order_relaxed);  // relaxed: a figure
      }
      shared.messages.fetch_add(1, std::memory_order_relaxed);  // relaxed: a progress figure
    } else if (s == Status::corrupt) {
      log.damaged(0, 0, kLibraryCorrupt);
      shared.violations.fetch_add(1, std::memory_order_relaxed);  // relaxed: a figure
    } else if (s == Status::timeout) {
      log.flush();  // idle: let the log catch up
    } else if (s == Status::closed) {
      break;
    } else {
      log.flush();
      std::fprintf(stderr, "%s: get returned %s\n", who(spec).c_str(), to_string(s).data());
      return kWorkerUnexpected;
    }
  }
  log.flush();
  return kWorkerOk;
}

}  // namespace

int run_manager_server(const Config& config, pid_t supervisor) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != supervisor) return kWorkerSetupFailed;
  ::signal(SIGINT, SIG_IGN);
  ManagerOptions options;
  options.handle_signals = false;  // the supervisor stops it with shutdown()
  try {
    Manager::serve(config.name, options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "shmq-stress: manager server (pid %d): %s\n", ::getpid(), e.what());
    return kWorkerSetupFailed;
  }
  return kWorkerOk;
}

SharedControl* map_shared_control() {
  void* p = ::mmap(nullptr, sizeof(SharedControl), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    throw std::system_error(errno, std::generic_category(), "mmap of the control block");
  }
  return new (p) SharedControl{};  // the mapping is zeroed; this starts the objects' lifetime
}

void unmap_shared_control(SharedControl* control) noexcept {
  if (control != nullptr) ::munmap(control, sizeof(SharedControl));
}

int run_worker(const Config& config, const WorkerSpec& spec, SharedControl& control) {
  // Die with the supervisor; leave Ctrl-C to it (it stops the run and cleans up).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != spec.supervisor) return kWorkerSetupFailed;
  ::signal(SIGINT, SIG_IGN);
  try {
    if (config.kind == Kind::pipe) {
      return spec.role == Role::producer ? produce<PipeTransport>(config, spec, control)
                                         : consume<PipeTransport>(config, spec, control);
    }
    if (config.kind == Kind::manager) {
      return spec.role == Role::producer ? produce<ManagerTransport>(config, spec, control)
                                         : consume<ManagerTransport>(config, spec, control);
    }
    if (config.kind == Kind::packed) {
      return spec.role == Role::producer ? produce<PackedTransport>(config, spec, control)
                                         : consume<PackedTransport>(config, spec, control);
    }
    return spec.role == Role::producer ? produce<QueueTransport>(config, spec, control)
                                       : consume<QueueTransport>(config, spec, control);
  } catch (const Error& e) {
    std::fprintf(stderr, "%s: %s\n", who(spec).c_str(), e.what());
    return kWorkerSetupFailed;
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "%s: %s\n", who(spec).c_str(), e.what());
    return kWorkerLogFailed;
  }
}

}  // namespace shmq::stress
