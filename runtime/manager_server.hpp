// The Manager's server loop (runtime-private). See shmq/manager.hpp for the contract and
// docs/manager.md for the design.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>

#include "manager_control.hpp"
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

// Asks a server running in this process (run_server) to stop, from a signal handler or thread.
void request_server_stop() noexcept;

// Unlinks every name a manager derives (N, N.req, N.c<id>, N.q.*, N.journal). Returns whether N
// existed. Safe while nobody serves N; a live server's clients then see it as gone.
bool remove_manager_names(std::string_view name);

}  // namespace shmq::detail
