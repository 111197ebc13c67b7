// The results of a run: results.json (the settings and one object per point) and results.csv
// (the same points, one row each, the columns in the order of the JSON keys).
#ifndef MADDNESS_BENCH_EXPERIMENT_REPORT_H_
#define MADDNESS_BENCH_EXPERIMENT_REPORT_H_

#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "bench/experiment/experiment.h"

namespace maddness::experiment {

// Writes both files into `out_dir` (atomically, each replacing the previous one); `threads` is
// the --threads of every timed product.
void WriteResults(const std::filesystem::path& out_dir, const std::vector<Point>& points,
                  const nlohmann::ordered_json& settings_json, int threads);

}  // namespace maddness::experiment

#endif  // MADDNESS_BENCH_EXPERIMENT_REPORT_H_
