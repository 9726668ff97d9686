// Type names as C++ reads them, from typeid names (runtime-private).
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace shmq::detail {

// A tag of typeid names, comma-separated ("K,V"), as a user wrote the types: std::string, not
// NSt7__cxx11…. Tags may come from other processes: only short ones of [A-Za-z0-9_,] are
// demangled (the demangler's work grows with its input); anything else is shown as it is.
std::string readable_type_names(std::string_view tag);

// A typeid name another process stored in a NUL-padded `field` of shared memory: up to its NUL,
// never past the field; empty unless it is a plain name of [A-Za-z0-9_] (nothing else is echoed).
std::string stored_type_name(std::span<const char> field);

}  // namespace shmq::detail
