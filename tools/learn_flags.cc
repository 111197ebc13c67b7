#include "tools/learn_flags.h"

#include <limits>
#include <string>

#include "tools/cli_common.h"

namespace maddness::cli {

CLI::Validator UnsignedValidator(std::uint64_t max) {
  return CLI::Validator([max](std::string& text) { return UnsignedTextError(text, max); }, "UINT");
}

void AddLearnFlags(CLI::App* command, LearnArgs* learn, const LearnFlagSet& set) {
  const bool mpi = set.distributed;
  // An option whose default value --help shows.
  const auto option = [command](const std::string& name, auto& variable, const std::string& help) {
    return command->add_option(name, variable, help)->capture_default_str();
  };
  option("--codebooks,-c", learn->codebooks,
         "number of codebooks C, 1 <= C <= min(D, 256); more is more accurate and "
         "slower; learning's time and memory grow as (16C)^2 x D whatever the number "
         "of rows (C = 256, D = 5000: about a minute and 1 GB)");
  option("--lambda", learn->lambda,
         "ridge parameter of the prototypes, >= 0; 0 (plain least squares) makes the "
         "regression singular when C >= 2 or a bucket is empty, and a lambda tiny next "
         "to the row count acts like 0");
  if (!mpi) {
    command->add_flag("--choose-lambda", learn->choose_lambda,
                      "with --b: choose the prototypes with the smallest cross-validation error "
                      "of A*B on the training rows: ridge with --lambda times 1, 3, 10, ..., "
                      "1000, or the bucket means (the model is then MADDNESS-PQ's)");
  }
  option("--seed", learn->seed,
         std::string("seed of the random choices while learning") +
             (mpi ? " (rank r samples with seed + r)" : ""))
      ->check(UnsignedValidator(std::numeric_limits<std::uint64_t>::max()));
  option("--variant", learn->variant,
         "maddness (ridge prototypes) or pq (bucket means, the paper's MADDNESS-PQ)");
  option("--aggregation", learn->aggregation,
         "how table entries are summed: average (the paper's fast byte averages) or "
         "exact (16-bit sums)");
  option("--table-scale", learn->table_scale,
         "how the tables are scaled to bytes: global (one scale for all outputs, the "
         "paper), per-output (each output column uses the whole byte) or auto "
         "(per-output, or global when A_train is too small for the held-out choices)");
  option("--objective", learn->objective,
         mpi ? "what the hash trees preserve: input (the rows of A, the paper), product "
               "(the rows of A*B, for the given B; needs --b) or auto (product with "
               "--b, else input; input when A_train is too small for held-out choices)"
             : "what the hash trees preserve: input (the rows of A, the paper), product "
               "(the rows of A*B, for the given B) or auto (the better of the two for "
               "A*B on held-out training rows; input without --b)");
  option("--candidate-dims", learn->candidate_dims,
         "split columns tried per tree level, >= 1 (the paper: 4); larger learns more "
         "slowly and may be more accurate, inference cost does not change");
  if (!mpi) {
    option("--grouping", learn->grouping,
           "which columns each codebook splits on: contiguous (C ranges of adjacent "
           "columns, the paper) or search (the best of a few column orders, judged on "
           "held-out training rows)");
  }
  option("--threads,-t", learn->threads,
         mpi ? "worker threads per rank, 0 = every core (the trees are learned on one "
               "thread per rank)"
             : "worker threads, 0 = every core");
  if (set.train_rows) {
    option("--max-train-rows", learn->max_train_rows,
           mpi ? "learn from at most this many random rows of A, drawn by each rank from its "
                 "own rows in proportion (0 = all)"
               : "learn from at most this many random rows of A (0 = all)")
        ->check(UnsignedValidator(std::numeric_limits<std::size_t>::max()));
  }
  if (set.classifier && !mpi) {
    CLI::Option* classifier =
        command->add_flag("--classifier", learn->classifier,
                          "B holds a linear classifier's weights: fit the tables to its decisions "
                          "(softmax cross-entropy plus --mse-weight times the squared error to "
                          "A*B) instead of prototypes x B; uses --bias and --train-labels");
    command
        ->add_option("--train-labels", learn->train_labels_path,
                     "labels.npy: the class of each training row, in [0, M); without it the "
                     "targets are the classifier's own softmax(A_train*B + bias)")
        ->needs(classifier);
    option("--mse-weight", learn->mse_weight,
           "weight (>= 0) of the squared error to A*B in the classifier fit; the "
           "smallest of the weights tried (x1, 3, 10, 30) unless --classifier-fixed")
        ->needs(classifier);
    option("--classifier-iterations", learn->classifier_iterations,
           "L-BFGS iterations of the classifier fit, >= 1 (at most, unless "
           "--classifier-fixed)")
        ->needs(classifier);
    command
        ->add_flag("--classifier-fixed", learn->classifier_fixed,
                   "one fit on every training row with --mse-weight and "
                   "--classifier-iterations as given, instead of choosing them on held-out "
                   "training rows and keeping the plain tables when the fit does not beat them")
        ->needs(classifier);
  }
  command->add_flag("--quiet,-q", learn->quiet, "no progress messages on stderr");
}

}  // namespace maddness::cli
