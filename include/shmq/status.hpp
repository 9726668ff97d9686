// shmq::Status: what a hot-path call did. Never thrown.
#pragma once

#include <cstdint>
#include <ostream>
#include <string_view>

namespace shmq {

enum class [[nodiscard]] Status : std::uint8_t{
    ok = 0,
    empty,        // try_get*: nothing to read now; PutClaim::commit of a claim holding nothing
    full,         // try_put*/claim: no free slot now
    timeout,      // a bounded wait expired
    closed,       // put after close(); get on a closed and drained queue
    too_large,    // the message is larger than max_message
    corrupt,      // shared state failed validation (a hostile or broken peer); nothing was read
    role_taken,   // a single-producer/consumer role is held by another live attachment
    busy,         // this handle already holds an open claim on a packed queue (one at a time)
    interrupted,  // a blocking call ended by shmq::interrupt() (a signal handler); nothing done
};

constexpr std::string_view to_string(Status s) noexcept {
  switch (s) {
    case Status::ok:
      return "ok";
    case Status::empty:
      return "empty";
    case Status::full:
      return "full";
    case Status::timeout:
      return "timeout";
    case Status::closed:
      return "closed";
    case Status::too_large:
      return "too_large";
    case Status::corrupt:
      return "corrupt";
    case Status::role_taken:
      return "role_taken";
    case Status::busy:
      return "busy";
    case Status::interrupted:
      return "interrupted";
  }
  return "unknown";
}

inline std::ostream& operator<<(std::ostream& os, Status s) {
  return os << to_string(s);
}

}  // namespace shmq
