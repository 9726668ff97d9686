// shmq::Codec<T> (codec.hpp): how the Manager's clients turn keys and values into bytes and back.
#include <string>
#include <vector>

#include "micro.hpp"
#include "shmq/codec.hpp"

namespace shmq_micro {
namespace {

// A 64-byte string: one append, one assign.
void BM_Codec_String_EncodeDecode_64B(benchmark::State& state) {
  const std::string in(64, 'x');
  std::string bytes;
  std::string out;
  for (auto _ : state) {
    bytes.clear();
    shmq::Codec<std::string>::encode(in, bytes);
    if (!shmq::Codec<std::string>::decode(bytes, out)) {
      fail(state, "decode");
      break;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Codec_String_EncodeDecode_64B);

// A list of 64 integers: a count and 64 length-prefixed fields, decoded with bounds checks.
void BM_Codec_VectorInt64_EncodeDecode_64(benchmark::State& state) {
  std::vector<std::int64_t> in(64);
  for (std::size_t i = 0; i < in.size(); ++i)
    in[i] = static_cast<std::int64_t>(i * 7919);
  std::string bytes;
  std::vector<std::int64_t> out;
  for (auto _ : state) {
    bytes.clear();
    shmq::Codec<std::vector<std::int64_t>>::encode(in, bytes);
    if (!shmq::Codec<std::vector<std::int64_t>>::decode(bytes, out)) {
      fail(state, "decode");
      break;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes.size()));
}
BENCHMARK(BM_Codec_VectorInt64_EncodeDecode_64);

// Python-style repr of a double (shortest round-trip digits): what `shmq dump` prints per value.
void BM_Codec_DoubleRepr(benchmark::State& state) {
  double v = 0.1;
  std::string out;
  for (auto _ : state) {
    out.clear();
    shmq::Codec<double>::repr(v, out);
    benchmark::DoNotOptimize(out.data());
    v += 1.25e-3;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Codec_DoubleRepr);

}  // namespace
}  // namespace shmq_micro
