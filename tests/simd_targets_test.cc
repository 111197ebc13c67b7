// The SIMD targets: the names of those compiled in, the one running, and MADDNESS_TARGET's names.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <string>
#include <vector>

#include "maddness/maddness.h"
#include "src/common/targets.h"

namespace maddness::detail {
namespace {

TEST(SimdTargets, NamesAndDispatch) {
  const std::vector<std::string> compiled = CompiledTargets();
  ASSERT_FALSE(compiled.empty());
  EXPECT_TRUE(compiled.back() == "SCALAR" || compiled.back() == "EMU128") << compiled.back();
  const std::string running = SimdTarget();
  bool found = false;
  for (const std::string& name : compiled) found = found || name == running;
  EXPECT_TRUE(found) << running;
  // Without MADDNESS_TARGET, the best target this CPU runs.
  const char* forced = std::getenv("MADDNESS_TARGET");
  if (forced == nullptr || *forced == '\0') {
    EXPECT_EQ(running, SimdTargetName(RunnableSimdTargets().front()));
  }
  EXPECT_EQ(ParseSimdTargetName("reference"), ParseSimdTargetName("SCALAR"));
  // Names are case-insensitive ("avx2", "neon").
  const std::string best = compiled.front();
  std::string lower = best;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_EQ(ParseSimdTargetName(lower), ParseSimdTargetName(best));
  try {
    ParseSimdTargetName("AVX9000");
    ADD_FAILURE() << "no error for an unknown target";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("AVX9000"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find(best), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace maddness::detail
