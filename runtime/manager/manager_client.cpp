#include "shmq/detail/manager/manager_client.hpp"

#include <unistd.h>

#include <algorithm>
#include <thread>

#include <fmt/format.h>

#include "fork_list.hpp"
#include "manager_control.hpp"
#include "shmq/detail/access.hpp"
#include "shmq/error.hpp"

namespace shmq::detail {

using wire::Code;
using wire::Op;

std::string manager_request_name(std::string_view manager) {
  return fmt::format("{}.req", manager);
}
std::string manager_reply_name(std::string_view manager, std::uint64_t client_id) {
  return fmt::format("{}.c{}", manager, client_id);
}
std::string manager_queue_name(std::string_view manager, std::string_view queue) {
  return fmt::format("{}.q.{}", manager, queue);
}
std::string manager_journal_path(std::string_view manager) {
  return segment_path(fmt::format("{}.journal", manager));
}

void validate_manager_name(std::string_view name) {
  validate_name(name);
  if (name.size() > kMaxManagerName) {
    throw Error(Errc::invalid_name, name.substr(0, 32),
                fmt::format("a manager name has at most {} characters", kMaxManagerName));
  }
}

ManagerClient::ManagerClient(std::string_view name, const WaitPolicy& wait,
                             std::chrono::milliseconds start_timeout)
    : name_(name), wait_(wait) {
  validate_manager_name(name);
  segment_ = Segment::open(name, SegmentKind::manager);
  const ManagerConfig cfg = validate_manager_control(segment_);
  max_message_ = cfg.max_message;
  reply_capacity_ = cfg.reply_capacity;
  // Wait (bounded) for a server that is starting; refuse a dead one at once.
  const auto deadline = std::chrono::steady_clock::now() + start_timeout;
  for (;;) {
    // [A10] see the server's published token; pairs with [R10] in the server's start.
    const std::uint64_t server = control().server_token.load(std::memory_order_acquire);
    if (control().state.load(std::memory_order_acquire) == kManagerStateShutDown) {
      throw Error(std::make_error_code(std::errc::not_connected), name_,
                  "the manager was shut down");
    }
    if (server != 0 && segment_.is_alive(server)) break;
    if (server != 0) {
      // Dead. A new server that has claimed the manager and is replaying will publish soon.
      // acquire: as [A10].
      const std::uint64_t claim = control().claim_token.load(std::memory_order_acquire);
      if (claim == server || claim == 0 || !segment_.is_alive(claim)) throw_server_gone(server);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw Error(Errc::not_ready, name_, "no server started within the start timeout");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  requests_ = Queue<std::string>::open(manager_request_name(name_), wait_);
  make_reply_queue();
}

ManagerClient::~ManagerClient() {
  if (pid_ == getpid() && client_id_ != 0) {
    Queue<std::string>::remove(manager_reply_name(name_, client_id_));
  }
}

const ManagerControl& ManagerClient::control() const noexcept {
  return *reinterpret_cast<const ManagerControl*>(segment_.base() + kBodyOffset);
}

void ManagerClient::make_reply_queue() {
  auto& ctl = *reinterpret_cast<ManagerControl*>(segment_.base() + kBodyOffset);
  // relaxed: a unique number is all that is needed; nothing is published through it.
  client_id_ = detail::shm_fetch_add(ctl.next_client_id, 1, std::memory_order_relaxed) + 1;
  QueueOptions q;
  q.capacity = reply_capacity_;
  q.producers = Producers::one;
  q.consumers = Consumers::one;
  q.max_message = max_message_;
  q.wait = wait_;
  const std::string reply_name = manager_reply_name(name_, client_id_);
  Queue<std::string>::remove(reply_name);  // a leftover of a dead process with our id: not ours
  replies_ = Queue<std::string>::create(reply_name, q);
  replies_.claim_consumer();
  pid_ = getpid();
  fork_generation_ = fork_generation();
  next_request_ = 1;
}

void ManagerClient::ensure_own() {
  if (fork_generation_ == fork_generation()) return;  // no getpid() per call
  // Forked: the inherited reply queue is the parent's. Let go of it without unlinking it.
  { Queue<std::string> parents = std::move(replies_); }
  make_reply_queue();
}

bool ManagerClient::server_alive() const {
  // [A10] as in the constructor.
  const std::uint64_t server = control().server_token.load(std::memory_order_acquire);
  return server != 0 && segment_.is_alive(server);
}

void ManagerClient::throw_server_gone(std::uint64_t server) const {
  if (control().state.load(std::memory_order_acquire) == kManagerStateShutDown) {
    throw Error(std::make_error_code(std::errc::not_connected), name_, "the manager was shut down");
  }
  const std::uint32_t index = token_index(server);
  if (index >= kRegistryCapacity) {
    throw Error(std::make_error_code(std::errc::owner_dead), name_, "the manager's server died");
  }
  // The entry's pid is the dead server's only while no one has taken the entry over since (then
  // it would name the new owner): read it between two reads of the generation ([A3] acquire).
  const RegistryEntry& e = segment_.entry(index);
  const std::uint64_t before = e.generation.load(std::memory_order_acquire);
  const std::uint32_t pid = e.pid.load(std::memory_order_relaxed);  // relaxed: for the message
  const std::uint64_t after = e.generation.load(std::memory_order_acquire);
  if (before != after || make_token(index, before) != server) {
    throw Error(std::make_error_code(std::errc::owner_dead), name_,
                "the manager's server died (its registry entry has another owner since)");
  }
  throw Error(std::make_error_code(std::errc::owner_dead), name_,
              fmt::format("the manager's server (pid {}) died", pid));
}

void ManagerClient::send(const wire::FrameHeader& header, std::string_view body,
                         std::uint64_t server) {
  const std::size_t room = max_message_ - wire::kFrameHeaderBytes;
  std::size_t at = 0;
  do {
    const std::size_t n = std::min(room, body.size() - at);
    wire::FrameHeader h = header;
    h.flags = at + n < body.size() ? wire::kFrameMore : 0;
    frame_.resize(wire::kFrameHeaderBytes);
    wire::put_header(h, frame_.data());
    frame_.append(body.substr(at, n));
    for (;;) {
      const Status s = requests_.put_for(frame_, wait_.sleep_slice);
      if (s == Status::ok) break;
      // interrupted: Manager calls are not interruptible (include/shmq/interrupt.hpp); wait on.
      if (s != Status::timeout && s != Status::interrupted) {
        if (s == Status::closed) throw_server_gone(server);
        throw Error(Errc::corrupt, requests_.name(),
                    fmt::format("request queue: {}", shmq::to_string(s)));
      }
      if (!segment_.is_alive(server)) throw_server_gone(server);
    }
    at += n;
  } while (at < body.size());
}

ManagerClient::Reply ManagerClient::call(Op op, std::string_view body, Deadline deadline) {
  if (body.size() > wire::kMaxMessageBytes) {
    throw Error(
        Errc::invalid_argument, name_,
        fmt::format("request of {} bytes, at most {}", body.size(), wire::kMaxMessageBytes));
  }
  ensure_own();
  for (int attempt = 0;; ++attempt) {
    // [A10] the server and its epoch, read before sending: the reply must come from it.
    const std::uint64_t server = control().server_token.load(std::memory_order_acquire);
    const std::uint32_t epoch = control().epoch.load(std::memory_order_acquire);
    // A server that answered the last call is not re-checked here (one fcntl less per call): if
    // it died since, the wait below notices within a slice.
    if (server == 0 || (server != server_seen_ && !segment_.is_alive(server))) {
      throw_server_gone(server);
    }
    wire::FrameHeader h;
    h.op = op;
    h.epoch = epoch;
    h.client_id = client_id_;
    h.request_id = next_request_++;
    h.token = core_of(requests_).segment().self_token();
    send(h, body, server);
    await_reply(h, server, deadline);
    wire::Reader in(message_);
    Reply reply;
    reply.code = static_cast<Code>(in.u8());
    if (!in.ok()) throw Error(Errc::corrupt, replies_.name(), "empty reply");
    if (reply.code == Code::stale_epoch && attempt < 3) continue;  // not applied: send again
    server_seen_ = server;
    reply.body.assign(std::string_view(message_).substr(1));
    return reply;
  }
}

void ManagerClient::await_reply(const wire::FrameHeader& h, std::uint64_t server,
                                Deadline deadline) {
  bool cancelled = false;
  bool in_message = false;
  message_.clear();
  std::string frame;
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    const auto until = cancelled || deadline == Deadline::max()
                           ? now + wait_.sleep_slice
                           : std::min(deadline, now + wait_.sleep_slice);
    const Status s = replies_.get_until(frame, until);
    if (s == Status::ok) {
      wire::FrameHeader r;
      if (!wire::get_header(frame, r) || r.op != Op::reply) continue;  // not a reply: skip
      if (r.request_id != h.request_id) continue;  // a stale reply to an abandoned request
      message_.append(std::string_view(frame).substr(wire::kFrameHeaderBytes));
      in_message = true;
      if ((r.flags & wire::kFrameMore) != 0) continue;
      break;
    }
    if (s != Status::timeout && s != Status::interrupted) {
      throw Error(Errc::corrupt, replies_.name(),
                  fmt::format("reply queue: {}", shmq::to_string(s)));
    }
    if (!segment_.is_alive(server)) throw_server_gone(server);
    if (!cancelled && !in_message && std::chrono::steady_clock::now() >= deadline) {
      std::string cancel_body;
      wire::Writer(cancel_body).u64(h.request_id);
      wire::FrameHeader c = h;
      c.op = Op::cancel;
      c.request_id = next_request_++;
      send(c, cancel_body, server);
      cancelled = true;  // the server answers the original request either way
    }
  }
}

void ManagerClient::raise(const Reply& reply, std::string_view object) const {
  wire::Reader in(reply.body);
  std::string_view message = in.bytes();
  if (!in.ok()) message = "no detail";
  const std::string what = fmt::format("object '{}': {}", object, message);
  switch (reply.code) {
    case Code::wrong_kind:
      throw Error(Errc::wrong_kind, name_, what);
    case Code::type_mismatch:
      throw Error(Errc::type_mismatch, name_, what);
    case Code::not_found:
      throw Error(Errc::not_found, name_, what);
    case Code::not_owner:
      throw Error(std::make_error_code(std::errc::operation_not_permitted), name_,
                  fmt::format("object '{}': released by a process that does not hold it", object));
    case Code::shutting_down:
      throw Error(std::make_error_code(std::errc::not_connected), name_,
                  "the manager was shut down");
    case Code::too_large:
      throw Error(Errc::invalid_argument, name_, what);
    case Code::refused:
      throw Error(std::make_error_code(std::errc::connection_refused), name_, what);
    default:
      throw Error(Errc::corrupt, name_,
                  fmt::format("object '{}': unexpected reply {} ({})", object,
                              static_cast<int>(reply.code), message));
  }
}

void ManagerClient::shutdown() {
  if (!server_alive()) return;
  try {
    call(Op::shutdown, {});
  } catch (const Error& e) {
    // The server may exit before its reply is read: that is a shutdown too.
    if (e.code() != std::make_error_code(std::errc::not_connected) &&
        e.code() != std::make_error_code(std::errc::owner_dead)) {
      throw;
    }
  }
}

}  // namespace shmq::detail
