// How a Queue<T> element becomes the bytes of one slot, and back.
// - trivially copyable T: exactly sizeof(T) bytes (a fixed-slot queue);
// - std::string and std::vector<std::byte>: their bytes, up to the queue's max_message;
// - any other T with a shmq::Codec<T> (codec.hpp: the Manager's codec, built in for vectors of
//   codable types, specialised by users for their own): its encoding, as a byte message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "shmq/codec.hpp"
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

// memcpy for the short messages a queue mostly carries: up to 16 bytes in two overlapping
// loads and stores of one width, no library call (the call and its dispatch cost ~12
// instructions per copy: docs/bench.md, "Instructions per call"). Never touches a byte outside
// [dst, dst + n) or [src, src + n).
inline void copy_bytes(std::byte* dst, const std::byte* src, std::size_t n) noexcept {
  const auto two_words = [&]<class W>(W) {
    W first;
    W last;
    std::memcpy(&first, src, sizeof(W));
    std::memcpy(&last, src + n - sizeof(W), sizeof(W));
    std::memcpy(dst, &first, sizeof(W));
    std::memcpy(dst + n - sizeof(W), &last, sizeof(W));
  };
  if (n >= 8 && n <= 16) {
    two_words(std::uint64_t{});
  } else if (n >= 4 && n < 8) {
    two_words(std::uint32_t{});
  } else if (n > 16) {
    std::memcpy(dst, src, n);
  } else {
    for (std::size_t i = 0; i < n; ++i)
      dst[i] = src[i];
  }
}

template <class Container>
struct ByteContainerCodec {
  static constexpr ElementKind kind = ElementKind::bytes;
  static constexpr std::uint64_t element_size = 0;
  static std::size_t size(const Container& v) noexcept { return v.size(); }
  static void encode(const Container& v, std::byte* out) noexcept {
    copy_bytes(out, reinterpret_cast<const std::byte*>(v.data()), v.size());
  }
  static bool decode(std::span<const std::byte> in, Container& out) {
    out.resize(in.size());  // reuses out's storage when it is large enough
    copy_bytes(reinterpret_cast<std::byte*>(out.data()), in.data(), in.size());
    return true;
  }
};

template <>
struct MessageCodec<std::string> : ByteContainerCodec<std::string> {};
template <>
struct MessageCodec<std::vector<std::byte>> : ByteContainerCodec<std::vector<std::byte>> {};

// A codable T (one Codec for the Manager and the Queue). size() encodes into a per-thread
// buffer that encode() then copies into the slot: Queue<T> calls the two back to back, on one
// thread, for one element. Exceptions from the user's Codec<T>::encode (bad_alloc) leave put()
// before anything was claimed. decode() gets exactly the bytes put; false: Status::corrupt.
template <class T>
requires(!std::is_trivially_copyable_v<T> && Codable<T>) struct MessageCodec<T> {
  static constexpr ElementKind kind = ElementKind::bytes;
  static constexpr std::uint64_t element_size = 0;
  static std::size_t size(const T& v) {
    std::string& s = scratch();
    s.clear();
    Codec<T>::encode(v, s);
    return s.size();
  }
  static void encode(const T&, std::byte* out) noexcept {
    const std::string& s = scratch();
    copy_bytes(out, reinterpret_cast<const std::byte*>(s.data()), s.size());
  }
  static bool decode(std::span<const std::byte> in, T& out) {
    return Codec<T>::decode({reinterpret_cast<const char*>(in.data()), in.size()}, out);
  }

 private:
  static std::string& scratch() {
    thread_local std::string buffer;
    return buffer;
  }
};

// Whether a Queue of T records T's name in the segment, so that opening it as another type is
// refused (Errc::type_mismatch): fixed-size elements, and codable types other than the raw byte
// containers (which any byte queue may be opened as).
template <class T>
inline constexpr bool kByteContainer =
    std::is_same_v<T, std::string> || std::is_same_v<T, std::vector<std::byte>>;
template <class T>
inline constexpr bool kRecordsTypeName = !kByteContainer<T>;

template <class T>
concept QueueElement = requires {
  MessageCodec<T>::kind;
};

}  // namespace shmq::detail
