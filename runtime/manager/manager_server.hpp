// The Manager's server loop (runtime-private). See shmq/manager.hpp for the contract and
// docs/manager.md for the design.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "manager_control.hpp"
#include "manager_store.hpp"
#include "shmq/detail/segment.hpp"
#include "shmq/options.hpp"

namespace shmq::detail {

struct ServerConfig {
  ManagerConfig manager;
  std::uint32_t mode = 0600;
  WaitPolicy wait{};
  std::chrono::milliseconds housekeeping{20};
  bool handle_signals = true;
};

// Serves `name` in this process until a client asks for shutdown (or, with handle_signals,
// SIGTERM/SIGINT arrives). `segment`: the manager segment if the caller created it (fresh);
// otherwise the server opens N and adopts it (replaying its journal), or creates it if absent.
// `on_ready` runs once the server serves. Throws Error if N has a live server already.
void run_server(std::string_view name, const ServerConfig& config, Segment* segment,
                const std::function<void()>& on_ready = {});

// The most clients a server tracks at once (each has reassembly state, a reply queue handle and an
// outbox). A client beyond it is refused (RequestSink::refuse) until a tracked client is found
// dead. Only forged client ids can reach it: every connection holds one of N.req's
// kRegistryCapacity registry entries, and a dead client's state is reclaimed before anyone is
// refused.
inline constexpr std::size_t kMaxManagerClients = std::size_t{1} << 14;

// A client's request arriving in several frames (kFrameMore), being put back together.
struct PartialRequest {
  std::uint64_t request = 0;
  wire::Op op = wire::Op::ping;
  std::uint32_t epoch = 0;
  bool active = false;
  std::string bytes;
};

// What the request path needs from the server around it: the server's per-client state and its
// effects (the Server in manager_server.cpp; a fake in fuzz/manager_request_fuzz.cpp).
class RequestSink {
 public:
  virtual ~RequestSink() = default;
  // The reassembly state of `client`, whose registry token in N.req is `token`; admits a new
  // client. nullptr when there is no room for another client (kMaxManagerClients).
  virtual PartialRequest* admit(std::uint64_t client, std::uint64_t token) = 0;
  // Answers `request` of a client that admit() refused with Code::refused: the server keeps no
  // state for it, so this reply is its only trace. Once per request, at its last frame.
  virtual void refuse(std::uint64_t client, std::uint64_t request) = 0;
  // Sends a reply to `client` if it is still known.
  virtual void reply(std::uint64_t client, std::uint64_t request, wire::Code code,
                     std::string_view body) = 0;
  // Makes a request that changed the Store durable; runs before its replies are sent.
  virtual void journal(wire::Op op, std::string_view body) = 0;
  // Runs after the replies of a request that changed the Store.
  virtual void changed() = 0;
  virtual void malformed() = 0;  // a frame or request that does not decode
  virtual void applied() = 0;    // a request the Store applied
  virtual void stop() = 0;       // a shutdown request
};

// The server's handling of one frame taken from N.req: decodes the header, puts multi-frame
// requests back together, answers requests sent to another epoch with stale_epoch (not applied),
// refuses the requests of a client that cannot be admitted, and applies whole requests to
// `store` (ping, shutdown and cancel it handles itself). Any bytes are a
// valid input: what does not decode is counted as malformed and, where there is a client to
// answer, answered with an error. Every effect goes through `sink`.
void dispatch_frame(std::string_view frame, std::uint32_t epoch, mgr::Store& store,
                    RequestSink& sink);

// Asks a server running in this process (run_server) to stop, from a signal handler or thread.
void request_server_stop() noexcept;

// Unlinks every name a manager derives (N, N.req, N.c<id>, N.q.*, N.journal). Returns whether N
// existed. Safe while nobody serves N; a live server's clients then see it as gone.
bool remove_manager_names(std::string_view name);

}  // namespace shmq::detail
