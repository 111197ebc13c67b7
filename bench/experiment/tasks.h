// The experiment's datasets, each loaded as one or more Tasks (experiment.h). A missing file
// throws maddness::Error naming the path and what provides it.
//
//   imgfilter  3x3 RGB patches (../shared/data/imgfilter), one task per filter bank B: NMSE.
//   digits     sklearn digits with its trained logistic-regression classifier: accuracy.
//   fashion    Fashion-MNIST (Debian dataset-fashion-mnist) with a softmax classifier fitted here
//              (bench/experiment/baselines/linear_classifier.h): accuracy.
//   ucr        UCR time series (../shared/data/ucr): RBF kernel classifier against the training
//              series, B = A_train^T; accuracy relative to the exact product's, and a summary row
//              over the datasets.
//   deepfeat   the project's deep-feature benchmark (scripts/make_deepfeat.py writes it, by default
//              under ~/.cache/maddness/deepfeat): deepfeat/classifier, a CNN's last layer on its
//              penultimate features (accuracy), and deepfeat/conv, an inner convolution on its
//              im2col rows (NMSE).
//   user       --a-train, --a-test, --b (.npy), optional --bias and --labels.
// With settings.quick the tasks are subsets (seconds; for tests).
#ifndef MADDNESS_BENCH_EXPERIMENT_TASKS_H_
#define MADDNESS_BENCH_EXPERIMENT_TASKS_H_

#include <filesystem>
#include <vector>

#include "bench/experiment/experiment.h"

namespace maddness::experiment {

std::vector<Task> LoadImgfilter(const std::filesystem::path& data_dir, const Settings& settings);
std::vector<Task> LoadDigits(const std::filesystem::path& data_dir, const Settings& settings);
// `dir` holds the Fashion-MNIST IDX .gz files.
std::vector<Task> LoadFashion(const std::filesystem::path& dir, const Settings& settings);
std::vector<Task> LoadUcr(const std::filesystem::path& data_dir, const Settings& settings);
// `dir` is the folder written by scripts/make_deepfeat.py.
std::vector<Task> LoadDeepfeat(const std::filesystem::path& dir, const Settings& settings);
// --task user: its files, named by their arguments in errors.
std::vector<Task> LoadUser(const ExperimentArgs& args);

}  // namespace maddness::experiment

#endif  // MADDNESS_BENCH_EXPERIMENT_TASKS_H_
