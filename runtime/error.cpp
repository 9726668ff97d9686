#include "shmq/error.hpp"

#include <fmt/format.h>

namespace shmq {

namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "shmq"; }
  std::string message(int code) const override {
    switch (static_cast<Errc>(code)) {
      case Errc::invalid_name:
        return "invalid segment name";
      case Errc::already_exists:
        return "segment already exists";
      case Errc::not_found:
        return "no such segment";
      case Errc::permission_denied:
        return "permission denied";
      case Errc::not_a_segment:
        return "not a shmq segment";
      case Errc::version_mismatch:
        return "layout version mismatch";
      case Errc::wrong_kind:
        return "wrong segment kind";
      case Errc::type_mismatch:
        return "element type mismatch";
      case Errc::corrupt:
        return "corrupt segment";
      case Errc::not_ready:
        return "segment not ready";
      case Errc::registry_full:
        return "registry full";
      case Errc::role_taken:
        return "role taken";
      case Errc::invalid_argument:
        return "invalid argument";
      case Errc::system:
        return "system error";
      case Errc::options_mismatch:
        return "options mismatch";
    }
    return "unknown shmq error";
  }
};

std::string describe(std::string_view segment, std::string_view what) {
  if (segment.empty()) return std::string(what);  // not about a segment (Process)
  return fmt::format("segment \"{}\": {}", segment, what);
}

}  // namespace

const std::error_category& error_category() noexcept {
  static const Category category;
  return category;
}

Error::Error(Errc code, std::string_view segment, std::string_view what)
    : Error(make_error_code(code), segment, what) {}

Error::Error(std::error_code code, std::string_view segment, std::string_view what)
    : std::system_error(code, describe(segment, what)),
      segment_(segment),
      message_(describe(segment, what)) {}

}  // namespace shmq
