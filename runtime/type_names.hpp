// Type names as C++ reads them, from typeid names (runtime-private).
#pragma once

#include <string>
#include <string_view>

namespace shmq::detail {

// A tag of typeid names, comma-separated ("K,V"), as a user wrote the types: std::string, not
// NSt7__cxx11…. Tags may come from other processes: only short ones of [A-Za-z0-9_,] are
// demangled (the demangler's work grows with its input); anything else is shown as it is.
std::string readable_type_names(std::string_view tag);

}  // namespace shmq::detail
