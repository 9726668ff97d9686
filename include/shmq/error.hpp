// shmq::Error: the one exception type of shmq, thrown only by setup calls (create, open, attach,
// role claims). The hot path returns shmq::Status instead and never throws.
#pragma once

#include <string>
#include <string_view>
#include <system_error>

namespace shmq {

enum class Errc {
  invalid_name = 1,   // empty, too long, or characters outside [A-Za-z0-9._-] (one leading
                      // '/' is allowed and dropped: "/jobs" is "jobs")
  already_exists,     // create() found the name taken
  not_found,          // open() found no such segment
  permission_denied,  // the file is not ours, or its mode refuses us
  not_a_segment,      // the file is not a regular file, too small, or has a foreign magic
  version_mismatch,   // written by another layout version
  wrong_kind,         // a pipe opened as a queue, etc.
  type_mismatch,      // another element kind or size (Queue<int> opened as Queue<std::string>),
                      // or a fixed-size element of another C++ type: Queue<std::uint64_t>
                      // opened as Queue<double> (docs/queue.md, "Layout").
  corrupt,            // sizes or offsets that do not fit
  not_ready,          // the creator has not finished (or died) within the open timeout
  registry_full,      // every registry entry is held by a live process
  role_taken,         // a single-producer/consumer role is held by another live attachment
  invalid_argument,   // bad options (capacity, message size, ...)
  system,             // an OS call failed; the message names it
  options_mismatch,   // open_or_create() found the name made with other options (named in what())
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

// what() reads `segment "jobs": layout version 3, this library reads 1` — the segment and the
// cause, once (std::system_error would append the category's message to it).
class Error : public std::system_error {
 public:
  Error(Errc code, std::string_view segment, std::string_view what);
  Error(std::error_code code, std::string_view segment, std::string_view what);

  const char* what() const noexcept override { return message_.c_str(); }
  const std::string& segment() const noexcept { return segment_; }

 private:
  std::string segment_;
  std::string message_;
};

}  // namespace shmq

template <>
struct std::is_error_code_enum<shmq::Errc> : std::true_type {};
