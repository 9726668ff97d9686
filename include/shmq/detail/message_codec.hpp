// How a Queue<T> element becomes the bytes of one slot, and back.
// - trivially copyable T: exactly sizeof(T) bytes (a fixed-slot queue);
// - std::string and std::vector<std::byte>: their bytes, up to the queue's max_message.
#pragma once

#include <cstddef>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "shmq/detail/layout.hpp"

namespace shmq::detail {

template <class T>
struct MessageCodec;

template <class T>
requires std::is_trivially_copyable_v<T>
struct MessageCodec<T> {
  static_assert(alignof(T) <= kMaxPayloadAlign, "slot payloads are 16-byte aligned");
  static constexpr ElementKind kind = ElementKind::fixed;
  static constexpr std::uint64_t element_size = sizeof(T);
  static std::size_t size(const T&) noexcept { return sizeof(T); }
  static void encode(const T& v, std::byte* out) noexcept { std::memcpy(out, &v, sizeof(T)); }
  static bool decode(std::span<const std::byte> in, T& out) noexcept {
    if (in.size() != sizeof(T)) return false;
    std::memcpy(&out, in.data(), sizeof(T));
    return true;
  }
};

template <class Container>
struct ByteContainerCodec {
  static constexpr ElementKind kind = ElementKind::bytes;
  static constexpr std::uint64_t element_size = 0;
  static std::size_t size(const Container& v) noexcept { return v.size(); }
  static void encode(const Container& v, std::byte* out) noexcept {
    if (!v.empty()) std::memcpy(out, v.data(), v.size());
  }
  static bool decode(std::span<const std::byte> in, Container& out) {
    out.resize(in.size());  // reuses out's storage when it is large enough
    if (!in.empty()) std::memcpy(out.data(), in.data(), in.size());
    return true;
  }
};

template <>
struct MessageCodec<std::string> : ByteContainerCodec<std::string> {};
template <>
struct MessageCodec<std::vector<std::byte>> : ByteContainerCodec<std::vector<std::byte>> {};

template <class T>
concept QueueElement = requires {
  MessageCodec<T>::kind;
};

}  // namespace shmq::detail
