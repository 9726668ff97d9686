// One accessor for every load the library makes from shared memory (the rings, the eventcount,
// the queue core, the registry, the pipe control block). Elsewhere it is the plain atomic load.
// In fuzz builds (SHMQ_FUZZ_HOOKS, the fuzz preset) a fuzzer may install a hook that replaces the
// value read: a hostile peer rewriting shared state between any two instructions. The library
// must then return an error status — never read or write out of bounds, never loop forever
// (fuzz/shm_hook_fuzz.cpp).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace shmq::detail {

#ifdef SHMQ_FUZZ_HOOKS
// Gets the address read, the value the load returned (zero-extended) and its size in bytes;
// returns the value the library will see (truncated to the size).
using ShmLoadHook = std::uint64_t (*)(const void* where, std::uint64_t value, std::size_t size);
inline ShmLoadHook shm_load_hook = nullptr;  // process-local; set by the fuzzer only
#endif

template <class T>
inline T shm_load(const std::atomic<T>& a, std::memory_order order) noexcept {
  static_assert(std::is_integral_v<T> && sizeof(T) <= sizeof(std::uint64_t));
  T v = a.load(order);
#ifdef SHMQ_FUZZ_HOOKS
  if (shm_load_hook != nullptr) {
    v = static_cast<T>(shm_load_hook(&a, static_cast<std::uint64_t>(v), sizeof(T)));
  }
#endif
  return v;
}

// A plain 8-byte word in a shared data area (a pipe record header), read once.
inline std::uint64_t shm_load_word(const std::byte* where) noexcept {
  std::uint64_t v = 0;
  std::memcpy(&v, where, sizeof(v));
#ifdef SHMQ_FUZZ_HOOKS
  if (shm_load_hook != nullptr) v = shm_load_hook(where, v, sizeof(v));
#endif
  return v;
}

}  // namespace shmq::detail
