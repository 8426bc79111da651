// Loading a policy: find the files, check that they can be trusted, read and merge them, compile
// every rule and pattern. All or nothing: any error fails the whole load (fail closed), and the
// error names file:line:col. docs/policy-reference.md "Files and merging".
#ifndef QVMR_ENGINE_POLICY_POLICY_LOADER_H_
#define QVMR_ENGINE_POLICY_POLICY_LOADER_H_

#include <string>
#include <vector>

#include "engine/base/env.h"
#include "engine/base/result.h"
#include "engine/base/trust.h"
#include "engine/policy/policy.h"

namespace qvmr {

// /usr/share/qvm-remote/policies and /etc/qubes/remote-policy.d, each prefixed by `root`.
std::vector<std::string> DefaultPolicyDirs(const std::string& root = "");

struct LoadOptions {
  std::vector<std::string> dirs;  // in order; later ones mask same-named files of earlier ones
  std::vector<std::string> extra_files;  // loaded after the directories (lint/test PATHs)
  bool check_trust = true;
  std::size_t max_file_bytes = 4 << 20;
};

// The files a load would read, after masking, in load order.
Result<std::vector<std::string>> ListPolicyFiles(Env& env, const LoadOptions& options);

// Reads, checks and compiles every file; sets policy.revision. Fails (with file:line:col) on the
// first error of any file: nothing partial is ever returned.
Result<Policy> LoadPolicy(Env& env, const LoadOptions& options);

// A loaded file: its path as loaded and its bytes.
struct PolicyFileBytes {
  std::string path;
  std::string bytes;
};

// The policy revision: lowercase hex SHA-256 over, for each file in load order, its path, a NUL
// byte, its size in decimal ASCII, a NUL byte, then its bytes. The path and size fields make the
// concatenation unambiguous, so moving bytes between files, renaming a file or reordering the
// files changes the revision. Over no files it is SHA-256 of nothing. Cost: one pass over the
// bytes.
std::string PolicyRevision(const std::vector<PolicyFileBytes>& files);

}  // namespace qvmr

#endif  // QVMR_ENGINE_POLICY_POLICY_LOADER_H_
