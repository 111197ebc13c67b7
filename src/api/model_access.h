// Internal access to a Model's representation, for the library's own stages, its tools and its
// tests (not part of the public API: the public header only names the friend).
#ifndef MADDNESS_SRC_API_MODEL_ACCESS_H_
#define MADDNESS_SRC_API_MODEL_ACCESS_H_

#include <memory>
#include <utility>

#include "maddness/maddness.h"
#include "src/common/model_data.h"

namespace maddness::detail {

struct ModelAccess {
  // The representation of a learned model; throws Error when `model` is empty.
  static const ModelData& Data(const Model& model);
  // A model holding `data` (not null).
  static Model Wrap(std::shared_ptr<const ModelData> data) { return Model(std::move(data)); }
};

// The representation of a learned model (throws Error when it is empty).
inline const ModelData& ModelDataOf(const Model& model) { return ModelAccess::Data(model); }

}  // namespace maddness::detail

#endif  // MADDNESS_SRC_API_MODEL_ACCESS_H_
