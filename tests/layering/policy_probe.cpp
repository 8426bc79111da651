// The control for wire_only_probe: links qvmr_policy, so the layering check can show that it
// would see yaml-cpp and RE2 if they were there (a check that cannot fail proves nothing).
#include <cstdio>

#include "engine/base/env.h"
#include "engine/policy/policy_loader.h"

int main(int argc, char** argv) {
  qvmr::LoadOptions options;
  for (int i = 1; i < argc; ++i) options.dirs.push_back(argv[i]);
  auto policy = qvmr::LoadPolicy(*qvmr::Env::Posix(), options);
  std::printf("%s\n", policy.ok() ? policy->revision.c_str() : policy.error().ToString().c_str());
  return 0;
}
