// Routes the failures of the kernel testers (kernel_testers.h) to GoogleTest: each one fails the
// running test, and a fatal failure stops the loop over the SIMD targets.
#include <gtest/gtest.h>

#include <string>

#include "tests/testers/kernel_testers.h"

namespace maddness::detail::testers {
namespace {

const bool kHooksSet = [] {
  SetFailureHooks({[](const std::string& message) { ADD_FAILURE() << message; },
                   [] { return ::testing::Test::HasFatalFailure(); }});
  return true;
}();

}  // namespace
}  // namespace maddness::detail::testers
