// shmq::Manager: create (fork the server), open, serve, shutdown, remove; the object handles'
// non-template parts.
#include "shmq/manager.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include <fmt/format.h>

#include "manager_control.hpp"
#include "manager_server.hpp"

namespace shmq {

namespace detail {

namespace {

ManagerConfig config_of(const ManagerOptions& o) {
  ManagerConfig c;
  c.request_capacity = o.request_capacity;
  c.reply_capacity = o.reply_capacity;
  c.max_message = o.max_message;
  return c;
}

ServerConfig server_config(const ManagerOptions& o) {
  ServerConfig s;
  s.manager = config_of(o);
  s.mode = o.mode;
  s.wait = o.wait;
  s.housekeeping = std::max(o.housekeeping, std::chrono::milliseconds(1));
  s.handle_signals = o.handle_signals;
  return s;
}

// Waits for the server child to end; SIGKILLs it after `grace`.
void reap(pid_t pid, std::chrono::milliseconds grace) {
  const auto deadline = std::chrono::steady_clock::now() + grace;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace

ManagerObject::ManagerObject(std::shared_ptr<ManagerClient> client, std::string_view name,
                             wire::ObjectKind kind, std::string_view tag, std::uint64_t param,
                             std::string_view initial)
    : client_(std::move(client)), name_(name) {
  if (name.empty() || name.size() > wire::kMaxObjectName) {
    throw Error(Errc::invalid_argument, client_->name(),
                fmt::format("object names have 1..{} bytes", wire::kMaxObjectName));
  }
  wire::Writer w(prefix_);
  w.bytes(name);
  w.u8(static_cast<std::uint8_t>(kind));
  const Reply r = call(Op::attach, [&](wire::Writer& a) {
    a.bytes(tag);
    a.u64(param);
    a.bytes(initial);
  });
  if (r.code != Code::ok) raise(r);
}

void ManagerObject::undecodable() const {
  throw Error(
      Errc::corrupt, client_->name(),
      fmt::format("object '{}': a reply that does not decode as the handle's types", name_));
}

void ManagerObject::broken_barrier() const {
  throw Error(std::make_error_code(std::errc::operation_canceled), client_->name(),
              fmt::format("barrier '{}' is broken", name_));
}

void ManagerObject::index_error() const {
  throw std::out_of_range(fmt::format("list '{}': index out of range", name_));
}

}  // namespace detail

Barrier::State Barrier::state() const {
  const Reply r = call(Op::barrier_state);
  if (r.code != Code::ok) raise(r);
  detail::wire::Reader in(r.body);
  State s;
  s.parties = in.u64();
  s.waiting = in.u64();
  s.broken = in.u8() != 0;
  if (!in.done()) undecodable();
  return s;
}

Manager Manager::create(std::string_view name, const ManagerOptions& options) {
  detail::validate_manager_name(name);
  const detail::ServerConfig config = detail::server_config(options);
  detail::Segment segment = detail::create_manager_segment(name, config.manager, options.mode);
  std::fflush(nullptr);  // the child must not flush the parent's buffered output again
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    detail::Segment::remove(name);
    throw Error(std::error_code(err, std::generic_category()), name, "fork");
  }
  if (pid == 0) {
    int rc = 0;
    try {
      detail::ServerConfig child = config;
      child.handle_signals = true;  // SIGTERM: shut down cleanly (also the parent-death signal)
      struct sigaction sa {};
      sa.sa_handler = [](int) { detail::request_server_stop(); };
      sigemptyset(&sa.sa_mask);
      sigaction(SIGTERM, &sa, nullptr);
      if (options.exit_with_parent) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) detail::request_server_stop();  // it died before prctl
      }
      detail::run_server(name, child, &segment);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "shmq: manager \"%.*s\" server: %s\n", static_cast<int>(name.size()),
                   name.data(), e.what());
      rc = 1;
    }
    std::fflush(nullptr);
    _exit(rc);
  }
  Manager m;
  m.server_pid_ = pid;
  m.owner_pid_ = parent;
  try {
    m.client_ = std::make_shared<detail::ManagerClient>(name, options.wait, options.start_timeout);
  } catch (...) {
    ::kill(pid, SIGKILL);
    detail::reap(pid, std::chrono::milliseconds(0));
    m.server_pid_ = -1;
    detail::remove_manager_names(name);
    throw;
  }
  return m;
}

Manager Manager::open(std::string_view name, const ManagerOptions& options) {
  Manager m;
  m.client_ = std::make_shared<detail::ManagerClient>(name, options.wait, options.start_timeout);
  return m;
}

void Manager::serve(std::string_view name, const ManagerOptions& options) {
  detail::run_server(name, detail::server_config(options), nullptr);
}

bool Manager::remove(std::string_view name) {
  return detail::remove_manager_names(name);
}

Manager::Manager(Manager&& other) noexcept
    : client_(std::move(other.client_)),
      server_pid_(std::exchange(other.server_pid_, -1)),
      owner_pid_(std::exchange(other.owner_pid_, -1)) {}

Manager& Manager::operator=(Manager&& other) noexcept {
  if (this != &other) {
    Manager dying(std::move(*this));
    client_ = std::move(other.client_);
    server_pid_ = std::exchange(other.server_pid_, -1);
    owner_pid_ = std::exchange(other.owner_pid_, -1);
  }
  return *this;
}

Manager::~Manager() {
  if (server_pid_ > 0 && owner_pid_ == getpid()) {
    try {
      shutdown();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "shmq: manager shutdown: %s\n", e.what());
      ::kill(server_pid_, SIGKILL);
      detail::reap(server_pid_, std::chrono::milliseconds(0));
    }
  }
}

void Manager::shutdown() {
  if (client_) client_->shutdown();
  if (server_pid_ > 0 && owner_pid_ == getpid()) {
    detail::reap(server_pid_, std::chrono::seconds(5));
    server_pid_ = -1;
  }
}

const std::string& Manager::name() const {
  static const std::string none;
  return client_ ? client_->name() : none;
}

std::shared_ptr<detail::ManagerClient> Manager::connection() const {
  if (!client_) throw Error(Errc::invalid_argument, "", "an empty Manager handle");
  return client_;
}

void Manager::register_queue(std::string_view queue) const {
  detail::validate_name(detail::manager_queue_name(name(), queue));
  struct Registrar : detail::ManagerObject {
    Registrar(std::shared_ptr<detail::ManagerClient> c, std::string_view n)
        : ManagerObject(std::move(c), n, detail::wire::ObjectKind::queue, "queue") {}
  };
  Registrar(connection(), queue);
}

}  // namespace shmq
