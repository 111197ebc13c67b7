// Google Benchmark program for the experiment suite's int8 points: the suite's ScalarQuantize
// method in both forms (Fit once, Apply timed) against a standalone oneDNN int8 product of the
// same shape, in the same run, single thread. The standalone product is the yardstick of issue 22
// ("within 1.5x of a standalone oneDNN quantize + u8 x s8 matmul"); it is written here on its own,
// with no code shared with the method:
//   - quantize: oneDNN reorder f32 -> u8 of all of A with one scale and zero point (static
//     quantization: the scale comes from A's range, computed once outside the timed loop);
//   - matmul: oneDNN u8 x s8 with the source zero point and per-column output scales, writing
//     float32 (de-quantization inside the matmul), B quantized per column and pre-packed.
// Int8Method times the method with A quantized per row, Int8MethodStatic with static per-tensor
// quantization (scale and zero point calibrated in Fit, as the yardstick's). Int8Matmul times the
// matmul alone (u8 codes ready, s32 output), for reference.
//
//   taskset -c 1 build/bench/maddness_int8_bench --benchmark_filter='/10000/784/10$'
//
// Arguments of every benchmark: N, D, M (the suite's timed shapes, docs/results.md). A holds
// values in [-0.5, 1) (so that the yardstick's zero point is not 0), B values in [-1, 1); the
// speed does not depend on them. Int8Method's label names its path (the method's params) and the
// SIMD target of its loops; Int8OneDnn's counter `nmse` is its error against float64 on the
// first 256 rows (a check that it computes A*B).
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <random>
#include <vector>

#include "bench/experiment/baselines/int8_kernels.h"
#include "bench/experiment/baselines/methods.h"
#include "src/common/targets.h"

namespace maddness {

struct Inputs {
  std::vector<float> a, b;
};

Inputs MakeInputs(std::size_t n, std::size_t d, std::size_t m) {
  std::mt19937_64 generator(7);
  std::uniform_real_distribution<float> unit(-0.5f, 1.0f), centered(-1.0f, 1.0f);
  Inputs inputs;
  inputs.a.resize(n * d);
  inputs.b.resize(d * m);
  for (float& value : inputs.a) value = unit(generator);
  for (float& value : inputs.b) value = centered(generator);
  return inputs;
}

std::size_t Arg(const benchmark::State& state, int index) {
  return static_cast<std::size_t>(state.range(index));
}

// The standalone oneDNN path: reorder (quantize A) + matmul (u8 x s8 -> f32, de-quantized).
void Int8OneDnn(benchmark::State& state) {
  using dnnl::memory;
  const std::size_t n = Arg(state, 0), d = Arg(state, 1), m = Arg(state, 2);
  const Inputs inputs = MakeInputs(n, d, m);
  omp_set_num_threads(1);
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);

  // A: u8 = round(a * scale) + zero_point over A's range.
  const auto [low, high] = std::minmax_element(inputs.a.begin(), inputs.a.end());
  const float a_scale = *high > *low ? 255.0f / (*high - *low) : 1.0f;
  const auto a_zero = static_cast<std::int32_t>(std::lround(-*low * a_scale));
  // B: s8 = round(b / step), step = max|b[:, col]| / 127 per column.
  std::vector<std::int8_t> b_codes(d * m);
  std::vector<float> output_scales(m);
  for (std::size_t col = 0; col < m; ++col) {
    float largest = 0.0f;
    for (std::size_t j = 0; j < d; ++j)
      largest = std::max(largest, std::fabs(inputs.b[j * m + col]));
    const float step = largest > 0.0f ? largest / 127.0f : 1.0f;
    for (std::size_t j = 0; j < d; ++j) {
      b_codes[j * m + col] = static_cast<std::int8_t>(std::lround(inputs.b[j * m + col] / step));
    }
    output_scales[col] = step / a_scale;
  }

  const auto rows = static_cast<memory::dim>(n), depth = static_cast<memory::dim>(d),
             cols = static_cast<memory::dim>(m);
  const memory::desc a_f32_desc({rows, depth}, memory::data_type::f32, memory::format_tag::ab);
  const memory::desc a_u8_desc({rows, depth}, memory::data_type::u8, memory::format_tag::ab);
  const memory::desc b_user_desc({depth, cols}, memory::data_type::s8, memory::format_tag::ab);
  const memory::desc b_any_desc({depth, cols}, memory::data_type::s8, memory::format_tag::any);
  const memory::desc c_desc({rows, cols}, memory::data_type::f32, memory::format_tag::ab);

  dnnl::primitive_attr quantize_attr;
  quantize_attr.set_output_scales(0, {a_scale});
  quantize_attr.set_zero_points(DNNL_ARG_DST, 0, {a_zero});
  const dnnl::reorder::primitive_desc quantize_desc(engine, a_f32_desc, engine, a_u8_desc,
                                                    quantize_attr);
  dnnl::primitive_attr matmul_attr;
  matmul_attr.set_zero_points(DNNL_ARG_SRC, 0, {a_zero});
  matmul_attr.set_output_scales(1 << 1, output_scales);
  const dnnl::matmul::primitive_desc matmul_desc(dnnl::matmul::desc(a_u8_desc, b_any_desc, c_desc),
                                                 matmul_attr, engine);

  std::vector<float> a_values = inputs.a;
  std::vector<std::uint8_t> a_codes(n * d);
  std::vector<float> c(n * m);
  memory a_f32(a_f32_desc, engine, a_values.data());
  memory a_u8(a_u8_desc, engine, a_codes.data());
  memory c_memory(c_desc, engine, c.data());
  memory b_user(b_user_desc, engine, b_codes.data());
  memory b_packed(matmul_desc.weights_desc(), engine);
  dnnl::reorder(b_user, b_packed).execute(stream, b_user, b_packed);
  const dnnl::reorder quantize(quantize_desc);
  const dnnl::matmul matmul(matmul_desc);
  stream.wait();

  for (auto _ : state) {
    quantize.execute(stream, a_f32, a_u8);
    matmul.execute(stream,
                   {{DNNL_ARG_SRC, a_u8}, {DNNL_ARG_WEIGHTS, b_packed}, {DNNL_ARG_DST, c_memory}});
    stream.wait();
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  // The product's error against float32, as a check that the path computes A*B.
  double error = 0.0, norm = 0.0;
  for (std::size_t r = 0; r < std::min<std::size_t>(n, 256); ++r) {
    for (std::size_t col = 0; col < m; ++col) {
      double exact = 0.0;
      for (std::size_t j = 0; j < d; ++j)
        exact += double(inputs.a[r * d + j]) * inputs.b[j * m + col];
      error += (c[r * m + col] - exact) * (c[r * m + col] - exact);
      norm += exact * exact;
    }
  }
  state.counters["nmse"] = norm > 0.0 ? error / norm : 0.0;
}

// The matmul alone: u8 codes in, s32 sums out.
void Int8Matmul(benchmark::State& state) {
  using dnnl::memory;
  const std::size_t n = Arg(state, 0), d = Arg(state, 1), m = Arg(state, 2);
  omp_set_num_threads(1);
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const auto rows = static_cast<memory::dim>(n), depth = static_cast<memory::dim>(d),
             cols = static_cast<memory::dim>(m);
  const memory::desc a_desc({rows, depth}, memory::data_type::u8, memory::format_tag::ab);
  const memory::desc b_user_desc({depth, cols}, memory::data_type::s8, memory::format_tag::ab);
  const memory::desc b_any_desc({depth, cols}, memory::data_type::s8, memory::format_tag::any);
  const memory::desc c_desc({rows, cols}, memory::data_type::s32, memory::format_tag::ab);
  const dnnl::matmul::primitive_desc matmul_desc(dnnl::matmul::desc(a_desc, b_any_desc, c_desc),
                                                 engine);
  std::vector<std::uint8_t> a_codes(n * d);
  std::vector<std::int8_t> b_codes(d * m);
  for (std::size_t i = 0; i < a_codes.size(); ++i) a_codes[i] = static_cast<std::uint8_t>(i * 7);
  for (std::size_t i = 0; i < b_codes.size(); ++i) b_codes[i] = static_cast<std::int8_t>(i % 13);
  std::vector<std::int32_t> c(n * m);
  memory a_memory(a_desc, engine, a_codes.data());
  memory c_memory(c_desc, engine, c.data());
  memory b_user(b_user_desc, engine, b_codes.data());
  memory b_packed(matmul_desc.weights_desc(), engine);
  dnnl::reorder(b_user, b_packed).execute(stream, b_user, b_packed);
  const dnnl::matmul matmul(matmul_desc);
  stream.wait();
  for (auto _ : state) {
    matmul.execute(
        stream, {{DNNL_ARG_SRC, a_memory}, {DNNL_ARG_WEIGHTS, b_packed}, {DNNL_ARG_DST, c_memory}});
    stream.wait();
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
}

// The suite's method: Fit once (on A itself), Apply timed on one thread. Int8Method quantizes A
// per row at run time, Int8MethodStatic with one scale and zero point calibrated in Fit.
void RunMethod(benchmark::State& state, baselines::Int8Scales scales) {
  const std::size_t n = Arg(state, 0), d = Arg(state, 1), m = Arg(state, 2);
  const Inputs inputs = MakeInputs(n, d, m);
  const std::unique_ptr<baselines::Method> method =
      baselines::MakeScalarQuantize(baselines::Int8Codes::kCpu, scales);
  method->Fit(inputs.a.data(), n, inputs.b.data(), d, m, 1);
  std::vector<float> c(n * m);
  method->Apply(inputs.a.data(), n, c.data(), 1);
  for (auto _ : state) {
    method->Apply(inputs.a.data(), n, c.data(), 1);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  // The oneDNN path, and the Highway target of the quantization loops.
  state.SetLabel(method->params() + ", loops " +
                 detail::SimdTargetName(baselines::Int8KernelTarget()));
}

void Int8Method(benchmark::State& state) { RunMethod(state, baselines::Int8Scales::kPerRow); }

void Int8MethodStatic(benchmark::State& state) { RunMethod(state, baselines::Int8Scales::kStatic); }

}  // namespace maddness

// Registers the four benchmarks shape by shape, so that the yardstick and the method of one
// shape run next to each other.
int main(int argc, char** argv) {
  // The suite's timed shapes (docs/results.md): N, D, M.
  const std::vector<std::vector<std::int64_t>> shapes = {
      {10000, 784, 10},   // Fashion-MNIST
      {10000, 64, 10},    // digits
      {100000, 27, 5},    // imgfilter, B_rgb
      {100000, 27, 16},   // imgfilter, tiny_face conv0
      {100000, 27, 32},   // imgfilter, the mobilenet and face_expression filters
      {1000, 1460, 100},  // UCR ACSF1
      {1000, 251, 36},    // UCR ArrowHead
      {1000, 286, 28},    // UCR Coffee
      {1000, 150, 50},    // UCR GunPoint
      {1029, 24, 67},     // UCR ItalyPowerDemand
      {1000, 427, 200},   // UCR OSULeaf
  };
  for (const auto& shape : shapes) {
    benchmark::RegisterBenchmark("Int8OneDnn", maddness::Int8OneDnn)
        ->Args(shape)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("Int8Method", maddness::Int8Method)
        ->Args(shape)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("Int8MethodStatic", maddness::Int8MethodStatic)
        ->Args(shape)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("Int8Matmul", maddness::Int8Matmul)
        ->Args(shape)
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
