// Test-only hooks (CONTRACT.md "Commands"): compiled in only with -DQVMR_TEST_HOOKS=ON, which
// `qvm-remote-dom0 --version` then says. In any other build every function here is inert: the
// Env is returned as given, no crash point fires, the pairing delay is the contract's.
//
//   wall clock    <root>/run/qvm-remote/test-clock-offset-ms holds a signed number of ms added
//                 to every Env::NowMs (read at each call, so a test moves dom0's clock while the
//                 daemon runs); a missing or unparsable file is offset 0
//   pairing       QVMR_TEST_PAIRING_DELAY_MS (0..5000) replaces limits::kPairingDelayMs
//   crash points  QVMR_TEST_CRASH_AT=after-accept|after-start|after-finish|before-ack: the daemon
//                 _exit(99)s there (no destructor, no flush: as a power cut would leave it)
//
// Thread safety: every function is safe for concurrent use. Lifetime: the Env from
// WithTestClock lives until the process ends (the daemon's Env is process-wide too).
#ifndef QVMR_DAEMON_TEST_HOOKS_H_
#define QVMR_DAEMON_TEST_HOOKS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/base/env.h"

namespace qvmr {

inline constexpr int kTestCrashExitStatus = 99;

// True in a build with the hooks.
bool TestHooksEnabled();

// `base` whose NowMs adds the offset read from `offset_file` at each call; `base` itself when the
// hooks are not built.
Env* WithTestClock(Env* base, const std::string& offset_file);

// `_exit(kTestCrashExitStatus)` when QVMR_TEST_CRASH_AT names `point`; otherwise returns.
void TestCrashPoint(std::string_view point);

// The pairing delay to use: QVMR_TEST_PAIRING_DELAY_MS when set and valid, else `fallback`.
std::int64_t TestPairingDelayMs(std::int64_t fallback);

}  // namespace qvmr

#endif  // QVMR_DAEMON_TEST_HOOKS_H_
