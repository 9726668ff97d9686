// shmq::Codec<T>: how a Manager key or value becomes bytes, comes back, and prints.
//
// The Manager's server stores keys and values as opaque bytes; clients encode and decode them
// with Codec<T>, and print them with Codec<T>::repr in Python's form (`'text'`, `22`, `1.5`,
// `True`, `[1, 2]`). Built in:
// - std::string: its bytes; repr as Python's str repr (single quotes, escapes);
// - arithmetic types: their object representation (sizeof(T) bytes); repr as Python prints
//   numbers (`bool` as True/False, `char` as a one-character str, floats in Python's repr form);
// - std::vector<std::byte>: its bytes; repr as Python's bytes (`b'\x01a'`);
// - std::vector<T> of any codable T: a count and length-prefixed elements; repr `[a, b]`;
// - any other trivially copyable T: its object representation; repr through `operator<<` if T
//   has one, else `<N bytes: hex>`. (Padding bytes are compared too: give such keys no padding.
//   decode() takes any bytes of the right size: a T with members that not every byte pattern is
//   — bool, an enum without a fixed underlying type — needs a Codec of its own that checks them,
//   as Codec<bool> does.)
//
// Anything else: specialize shmq::Codec for it, with three static functions —
//
//   template <> struct shmq::Codec<Reading> {
//     static void encode(const Reading& v, std::string& out) {      // append v's bytes to out
//       shmq::encode_field(v.sensor, out);
//       shmq::encode_field(v.samples, out);
//     }
//     static bool decode(std::string_view in, Reading& v) {         // false: malformed bytes
//       return shmq::decode_field(in, v.sensor) && shmq::decode_field(in, v.samples) && in.empty();
//     }
//     static void repr(const Reading& v, std::string& out) { ... }  // append Python-style text
//   };
//
// Keys compare by their encoded bytes: encode equal keys to equal bytes.
// decode() must accept any bytes without undefined behaviour (they come from another process).
#pragma once

#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace shmq {

template <class T, class Enable = void>
struct Codec;  // specialize for your types

template <class T>
concept Codable = requires(const T& v, std::string& out, std::string_view in, T& o) {
  Codec<T>::encode(v, out);
  { Codec<T>::decode(in, o) } -> std::convertible_to<bool>;
  Codec<T>::repr(v, out);
};

// Python-style text of `v`.
template <Codable T>
std::string repr(const T& v) {
  std::string out;
  Codec<T>::repr(v, out);
  return out;
}

// Fields inside a composite encoding: a 4-byte little-endian length, then the field's bytes.
template <Codable T>
void encode_field(const T& v, std::string& out) {
  const std::size_t at = out.size();
  out.append(4, '\0');
  Codec<T>::encode(v, out);
  const auto n = static_cast<std::uint32_t>(out.size() - at - 4);
  std::memcpy(out.data() + at, &n, 4);
}
// Reads one field from the front of `in` and advances it. False if `in` is too short or the
// field does not decode.
template <Codable T>
bool decode_field(std::string_view& in, T& v) {
  std::uint32_t n = 0;
  if (in.size() < 4) return false;
  std::memcpy(&n, in.data(), 4);
  if (n > in.size() - 4) return false;
  const std::string_view field = in.substr(4, n);
  in.remove_prefix(4 + std::size_t{n});
  return Codec<T>::decode(field, v);
}

namespace detail {

// Python's str repr of UTF-8 text: single quotes unless the text has ' and no ".
void repr_str(std::string_view s, std::string& out);
// Python's bytes repr: b'...' with \xNN for non-printable bytes.
void repr_bytes(std::string_view s, std::string& out);
// Python's float repr: shortest round-trip digits, scientific below 1e-4 and from 1e16.
void repr_double(double v, std::string& out);
void repr_float(float v, std::string& out);

template <class T>
concept Streamable = requires(std::ostream& os, const T& v) {
  os << v;
};

template <class T>
struct RawCodec {
  static void encode(const T& v, std::string& out) {
    out.append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  static bool decode(std::string_view in, T& v) {
    if (in.size() != sizeof(T)) return false;
    if constexpr (std::is_same_v<T, bool>) {
      // Only the bytes 0 and 1 are bools: reading any other as one is undefined behaviour.
      const auto b = static_cast<unsigned char>(in[0]);
      if (b > 1) return false;
      v = b == 1;
    } else {
      std::memcpy(&v, in.data(), sizeof(T));
    }
    return true;
  }
};

}  // namespace detail

template <>
struct Codec<std::string> {
  static void encode(const std::string& v, std::string& out) { out.append(v); }
  static bool decode(std::string_view in, std::string& v) {
    v.assign(in);
    return true;
  }
  static void repr(const std::string& v, std::string& out) { detail::repr_str(v, out); }
};

template <>
struct Codec<std::vector<std::byte>> {
  static void encode(const std::vector<std::byte>& v, std::string& out) {
    out.append(reinterpret_cast<const char*>(v.data()), v.size());
  }
  static bool decode(std::string_view in, std::vector<std::byte>& v) {
    v.resize(in.size());
    if (!in.empty()) std::memcpy(v.data(), in.data(), in.size());
    return true;
  }
  static void repr(const std::vector<std::byte>& v, std::string& out) {
    detail::repr_bytes({reinterpret_cast<const char*>(v.data()), v.size()}, out);
  }
};

template <class T>
struct Codec<T, std::enable_if_t<std::is_arithmetic_v<T>>> : detail::RawCodec<T> {
  static void repr(const T& v, std::string& out) {
    if constexpr (std::is_same_v<T, bool>) {
      out.append(v ? "True" : "False");
    } else if constexpr (std::is_same_v<T, char>) {
      detail::repr_str(std::string_view(&v, 1), out);
    } else if constexpr (std::is_same_v<T, float>) {
      detail::repr_float(v, out);
    } else if constexpr (std::is_floating_point_v<T>) {
      detail::repr_double(static_cast<double>(v), out);
    } else {
      char buf[24];
      // Widen char-sized integers so they print as numbers.
      using Wide = std::conditional_t<std::is_signed_v<T>, long long, unsigned long long>;
      const auto r = std::to_chars(buf, buf + sizeof(buf), static_cast<Wide>(v));
      out.append(buf, r.ptr);
    }
  }
};

template <class T>
struct Codec<T, std::enable_if_t<std::is_trivially_copyable_v<T> && !std::is_arithmetic_v<T> &&
                                 !std::is_pointer_v<T>>> : detail::RawCodec<T> {
  static void repr(const T& v, std::string& out) {
    if constexpr (detail::Streamable<T>) {
      std::ostringstream os;
      os << v;
      out.append(os.str());
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out.append("<").append(std::to_string(sizeof(T))).append(" bytes: ");
      const auto* p = reinterpret_cast<const unsigned char*>(&v);
      for (std::size_t i = 0; i < sizeof(T); ++i) {
        out.push_back(kHex[p[i] >> 4]);
        out.push_back(kHex[p[i] & 0xF]);
      }
      out.append(">");
    }
  }
};

template <Codable T>
requires(!std::is_same_v<T, std::byte>) struct Codec<std::vector<T>> {
  static void encode(const std::vector<T>& v, std::string& out) {
    const auto n = static_cast<std::uint32_t>(v.size());
    out.append(reinterpret_cast<const char*>(&n), 4);
    for (const T& e : v)
      encode_field(e, out);
  }
  static bool decode(std::string_view in, std::vector<T>& v) {
    std::uint32_t n = 0;
    if (in.size() < 4) return false;
    std::memcpy(&n, in.data(), 4);
    in.remove_prefix(4);
    if (n > in.size() / 4) return false;  // every element needs at least its length
    v.clear();
    v.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i) {
      T e{};
      if (!decode_field(in, e)) return false;
      v.push_back(std::move(e));
    }
    return in.empty();
  }
  static void repr(const std::vector<T>& v, std::string& out) {
    out.push_back('[');
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i != 0) out.append(", ");
      Codec<T>::repr(v[i], out);
    }
    out.push_back(']');
  }
};

}  // namespace shmq
