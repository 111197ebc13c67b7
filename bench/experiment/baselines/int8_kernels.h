// The SIMD loops of the int8 baseline (ScalarQuantize in methods.cc): per-row or static
// (per-tensor) quantization of A to uint8 codes and de-quantization of the int32 sums to
// float32. Compiled once per Highway target and chosen at run time like the library's kernels
// (src/common/targets.h; MADDNESS_TARGET applies).
#ifndef MADDNESS_BENCH_EXPERIMENT_BASELINES_INT8_KERNELS_H_
#define MADDNESS_BENCH_EXPERIMENT_BASELINES_INT8_KERNELS_H_

#include <cstddef>
#include <cstdint>

namespace maddness::baselines {

// Quantizes `rows` rows of A (row-major, d >= 1 columns, a[r * d + j]) to codes[r * d + j]:
// per row, offset[r] = min, step[r] = (max - min) / levels (1 when max == min) and
// code = min(levels, trunc((a - min) * (1 / step) + 1/2)), i.e. rounded to the nearest level.
// `levels` is 127 or 255.
void QuantizeRowsU8(const float* a, std::size_t rows, std::size_t d, float levels,
                    std::uint8_t* codes, float* offset, float* step);

// Quantizes `count` values of A with one scale and zero point (static quantization):
// codes[i] = min(levels, max(0, round(a[i] * scale) + zero_point)), computed in float32
// (a[i] * scale rounded to float, then to the nearest integer, halves to even). `zero_point` is
// an integer in [0, levels]; values outside the calibrated range clamp to 0 or `levels`.
void QuantizeStaticU8(const float* a, std::size_t count, float scale, float zero_point,
                      float levels, std::uint8_t* codes);

// De-quantizes `rows` rows of int32 sums acc[r * m + col] of the codes of A times the int8
// codes of B into out[r * m + col] = b_step[col] * (a_step[r] * acc + a_offset[r] *
// b_code_sums[col]) (float32, in that order of operations).
void DequantizeRows(const std::int32_t* acc, std::size_t rows, std::size_t m, const float* a_offset,
                    const float* a_step, const float* b_step, const float* b_code_sums, float* out);

// The Highway target that these loops run on now (a target bit, see SimdTargetName).
std::int64_t Int8KernelTarget();

}  // namespace maddness::baselines

#endif  // MADDNESS_BENCH_EXPERIMENT_BASELINES_INT8_KERNELS_H_
