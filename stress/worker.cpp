#include "worker.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <new>
#include <string>
#include <system_error>
#include <unordered_map>

#include <fmt/format.h>

#include "message.hpp"
#include "run_log.hpp"
#include "shmq/error.hpp"
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

int produce(const Config& config, const WorkerSpec& spec, SharedControl& control) {
  const std::uint64_t start_ns = monotonic_ns();
  StringQueue queue = StringQueue::open(config.name, wait_policy(config));
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
    Status s = queue.put_for(message, kPollSlice);
    while (s == Status::timeout && control.stop_producers.load(std::memory_order_relaxed) == 0) {
      s = queue.put_for(message, kPollSlice);
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

int consume(const Config& config, const WorkerSpec& spec, SharedControl& control) {
  StringQueue queue = StringQueue::open(config.name, wait_policy(config));
  ConsumerLog log(spec.log_path, config.log_batch);
  const MessageFactory factory(config.seed, config.size_min, config.size_max);
  SlotShared& shared = control.slots[spec.slot];
  // Next seq expected from each producer, for the live violation figure only.
  std::unordered_map<std::uint32_t, std::uint64_t> next_seq;
  std::string message;
  message.reserve(config.size_max);
  for (;;) {
    const Status s = queue.get_for(message, kPollSlice);
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
    return spec.role == Role::producer ? produce(config, spec, control)
                                       : consume(config, spec, control);
  } catch (const Error& e) {
    std::fprintf(stderr, "%s: %s\n", who(spec).c_str(), e.what());
    return kWorkerSetupFailed;
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "%s: %s\n", who(spec).c_str(), e.what());
    return kWorkerLogFailed;
  }
}

}  // namespace shmq::stress
