#include "type_names.hpp"

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace shmq::detail {

namespace {

// A character of a typeid name (Itanium mangling of ordinary names).
bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

}  // namespace

std::string readable_type_names(std::string_view tag) {
  // Only what typeid names look like: short, and [A-Za-z0-9_,] (anything else is shown raw).
  const bool plausible =
      std::all_of(tag.begin(), tag.end(), [](char c) { return name_char(c) || c == ','; });
  if (tag.size() > 128 || !plausible) return std::string(tag);
  std::string out;
  std::size_t at = 0;
  while (at <= tag.size()) {
    const std::size_t comma = std::min(tag.find(',', at), tag.size());
    const std::string part(tag.substr(at, comma - at));
    int status = -1;
    char* plain = abi::__cxa_demangle(part.c_str(), nullptr, nullptr, &status);
    if (!out.empty() || at != 0) out += ", ";
    std::string name = status == 0 && plain != nullptr ? plain : part;
    // The spelling a user wrote: std::string, not its template's expansion.
    constexpr std::string_view kLong =
        "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >";
    for (std::size_t p = name.find(kLong); p != std::string::npos; p = name.find(kLong, p))
      name.replace(p, kLong.size(), "std::string");
    out += name;
    std::free(plain);  // NOLINT(cppcoreguidelines-no-malloc): __cxa_demangle's contract
    at = comma + 1;
  }
  return out;
}

std::string stored_type_name(std::span<const char> field) {
  std::vector<char> copy(field.begin(), field.end());  // one read of each byte
  const std::string_view name(copy.data(), strnlen(copy.data(), copy.size()));
  const bool plain = std::all_of(name.begin(), name.end(), name_char);
  return plain ? std::string(name) : std::string();
}

}  // namespace shmq::detail
