// ManagerClient: one client's connection to a Manager's server — the manager segment (to see the
// server's liveness token and epoch), the shared request queue N.req, and this client's own reply
// queue N.c<id>. The typed object handles in shmq/manager.hpp are thin layers over call().
//
// A call sends one request (in frames of at most max_message bytes) and waits for its reply,
// sleeping in slices of WaitPolicy::sleep_slice; after each slice it checks that the server which
// was live when the request was sent is still alive (a kernel-backed registry token), so a dead
// server is reported within about one slice, never as a hang.
//
// fork(): a child that uses an inherited client gets a new id and reply queue on its first call
// (the parent's reply queue stays the parent's).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "shmq/detail/manager/manager_protocol.hpp"
#include "shmq/detail/segment.hpp"
#include "shmq/options.hpp"
#include "shmq/queue.hpp"

namespace shmq::detail {

// Names a Manager derives from its own (see detail/layout.hpp, "Manager").
std::string manager_request_name(std::string_view manager);
std::string manager_reply_name(std::string_view manager, std::uint64_t client_id);
std::string manager_queue_name(std::string_view manager, std::string_view queue);
std::string manager_journal_path(std::string_view manager);
// Manager names are segment names short enough to leave room for the suffixes.
inline constexpr std::size_t kMaxManagerName = kMaxNameLength - 40;
void validate_manager_name(std::string_view name);

class ManagerClient {
 public:
  struct Reply {
    wire::Code code = wire::Code::ok;
    std::string body;  // results after the code
  };

  // Connects to the live server of `name`; waits up to `start_timeout` for one that is starting.
  // Throws Error (not_found; std::errc::owner_dead when its server is dead).
  ManagerClient(std::string_view name, const WaitPolicy& wait,
                std::chrono::milliseconds start_timeout);
  ManagerClient(const ManagerClient&) = delete;
  ManagerClient& operator=(const ManagerClient&) = delete;
  ~ManagerClient();

  // Sends a request and waits for its reply. At `deadline` a blocking request is cancelled
  // (the server then answers it with Code::timeout unless it was granted first). Throws Error
  // when the server dies or shuts down.
  Reply call(wire::Op op, std::string_view body, Deadline deadline = Deadline::max());
  // Throws the Error that an error reply stands for, naming `object`.
  [[noreturn]] void raise(const Reply& reply, std::string_view object) const;

  // Asks the server to stop; returns once it has answered (or is already gone).
  void shutdown();
  bool server_alive() const;
  const std::string& name() const noexcept { return name_; }
  std::uint64_t client_id() const noexcept { return client_id_; }

 private:
  void ensure_own();  // after fork(): a new id and reply queue
  void make_reply_queue();
  void send(const wire::FrameHeader& header, std::string_view body, std::uint64_t server);
  // Waits for the whole reply to `request` into message_; at `deadline` asks the server to
  // cancel it (and still waits: the server answers the original request either way).
  void await_reply(const wire::FrameHeader& request, std::uint64_t server, Deadline deadline);
  [[noreturn]] void throw_server_gone(std::uint64_t server) const;
  const ManagerControl& control() const noexcept;

  std::string name_;
  WaitPolicy wait_{};
  Segment segment_;  // the manager segment
  std::uint32_t max_message_ = 0;
  std::uint32_t reply_capacity_ = 0;
  Queue<std::string> requests_;
  Queue<std::string> replies_;
  std::uint64_t client_id_ = 0;
  std::uint64_t next_request_ = 1;
  pid_t pid_ = 0;
  std::uint64_t fork_generation_ = 0;  // fork_generation() when the reply queue was made
  // The server token that answered the last call: a call to the same server does not re-check
  // its liveness before sending (a kernel call); its wait checks every slice.
  std::uint64_t server_seen_ = 0;
  std::string frame_;  // reused buffers
  std::string message_;
};

}  // namespace shmq::detail
