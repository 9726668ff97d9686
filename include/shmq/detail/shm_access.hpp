// One accessor for every access the library makes to shared memory (the rings, the eventcount,
// the queue core, the registry, the pipe and manager control blocks).
// - Loads (shm_load): in fuzz builds (SHMQ_FUZZ_HOOKS, the fuzz preset) a fuzzer may install a
//   hook that replaces the value read: a hostile peer rewriting shared state between any two
//   instructions. The library must then return an error status — never read or write out of
//   bounds, never loop forever (fuzz/shm_hook_fuzz.cpp).
// - Stores and read-modify-writes (shm_store, shm_exchange, shm_fetch_*, shm_cas_*; failed CASes
//   included): in crash-point builds (SHMQ_CRASH_POINTS) each call site is a crash site by itself,
//   named by its file and line (__builtin_FILE/__builtin_LINE): a test can kill (or stop) a process
//   right before the n-th time it passes any site, and a sweep discovers the sites a workload
//   passes and kills at each of them (tests/crash_sweep_test.cpp; detail/crash_point.hpp). No list
//   to keep: a new store is a new site the day it is written. Elsewhere they are the plain atomic
//   operations. Statistics counters (event_count.hpp's bump) are the one exception: a kill
//   between two of them loses a count, nothing else.
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

#ifdef SHMQ_CRASH_POINTS
// crash_point.cpp: counts a pass of the site and kills or stops the process if it is armed there.
void crash_site_hit(const char* file, std::uint32_t line) noexcept;
inline void crash_site(const char* file, unsigned line) noexcept {
  crash_site_hit(file, static_cast<std::uint32_t>(line));
}
#else
inline void crash_site(const char*, unsigned) noexcept {}
#endif

// Each accessor's last two parameters default to its caller's file and line (__builtin_FILE and
// __builtin_LINE, which gcc and clang evaluate at the call site; __builtin_FILE/__builtin_LINE is
// not available to clang 14 with libstdc++ 12): they name the crash site.
template <class T>
inline void shm_store(std::atomic<T>& a, std::type_identity_t<T> v, std::memory_order order,
                      const char* file = __builtin_FILE(),
                      unsigned line = __builtin_LINE()) noexcept {
  crash_site(file, line);
  a.store(v, order);
}
template <class T>
inline T shm_exchange(std::atomic<T>& a, std::type_identity_t<T> v, std::memory_order order,
                      const char* file = __builtin_FILE(),
                      unsigned line = __builtin_LINE()) noexcept {
  crash_site(file, line);
  return a.exchange(v, order);
}
template <class T>
inline T shm_fetch_add(std::atomic<T>& a, std::type_identity_t<T> v, std::memory_order order,
                       const char* file = __builtin_FILE(),
                       unsigned line = __builtin_LINE()) noexcept {
  crash_site(file, line);
  return a.fetch_add(v, order);
}
template <class T>
inline T shm_fetch_sub(std::atomic<T>& a, std::type_identity_t<T> v, std::memory_order order,
                       const char* file = __builtin_FILE(),
                       unsigned line = __builtin_LINE()) noexcept {
  crash_site(file, line);
  return a.fetch_sub(v, order);
}
template <class T>
inline T shm_fetch_or(std::atomic<T>& a, std::type_identity_t<T> v, std::memory_order order,
                      const char* file = __builtin_FILE(),
                      unsigned line = __builtin_LINE()) noexcept {
  crash_site(file, line);
  return a.fetch_or(v, order);
}
template <class T>
inline T shm_fetch_and(std::atomic<T>& a, std::type_identity_t<T> v, std::memory_order order,
                       const char* file = __builtin_FILE(),
                       unsigned line = __builtin_LINE()) noexcept {
  crash_site(file, line);
  return a.fetch_and(v, order);
}
// A compare-exchange, strong; `expected` is updated on failure as by the atomic's own.
template <class T>
inline bool shm_cas_strong(std::atomic<T>& a, T& expected, std::type_identity_t<T> desired,
                           std::memory_order success, std::memory_order failure,
                           const char* file = __builtin_FILE(),
                           unsigned line = __builtin_LINE()) noexcept {
  crash_site(file, line);
  return a.compare_exchange_strong(expected, desired, success, failure);
}
template <class T>
inline bool shm_cas_weak(std::atomic<T>& a, T& expected, std::type_identity_t<T> desired,
                         std::memory_order success, std::memory_order failure,
                         const char* file = __builtin_FILE(),
                         unsigned line = __builtin_LINE()) noexcept {
  crash_site(file, line);
  return a.compare_exchange_weak(expected, desired, success, failure);
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
