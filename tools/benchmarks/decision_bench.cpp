// Decision latency for DESIGN.md's target: p99 <= 100 us for a 1,000-rule policy and a 1 KiB
// command, one core. Google Benchmark measures the mean; p50/p99 are measured here over single
// evaluations and reported as counters (microseconds).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/decide/decision.h"
#include "engine/policy/policy_loader.h"

namespace qvmr {
namespace {

constexpr int kRules = 1000;

// 1,000 class rules over `programs` programs: 50 (a realistic spread) or 1 (the worst case for
// the per-program index: every rule is a candidate for every command).
std::string PolicyYaml(int programs) {
  const int kPrograms = programs;
  const int kRulesPerProgram = kRules / programs;
  std::string y = "version: 1\ncommands:\n";
  for (int p = 0; p < kPrograms; ++p) {
    y += "  tool" + std::to_string(p) + ":\n    options: [";
    for (int o = 0; o < 12; ++o) {
      y += "'--opt" + std::to_string(o) + "=', '--flag" + std::to_string(o) + "', ";
    }
    y += "'-q|--quiet']\n";
  }
  y += "classes:\n  read-only:\n";
  for (int p = 0; p < kPrograms; ++p) {
    for (int r = 0; r < kRulesPerProgram; ++r) {
      // Only the last rule of each program matches the benchmark's commands.
      if (r + 1 < kRulesPerProgram) {
        y += "    - 'tool" + std::to_string(p) + " --flag" + std::to_string(r % 12) +
             " [--opt1 <int>] <vm> literal" + std::to_string(r) + "'\n";
      } else {
        y += "    - 'tool" + std::to_string(p) +
             " [-q] [--flag3] [--opt2 <word>] <vm> <prop> [<int>]...'\n";
      }
    }
  }
  y += "blocked:\n";
  for (int b = 0; b < 40; ++b) {
    y += "  - {pattern: 'forbidden" + std::to_string(b) + "\\s+now', reason: r}\n";
  }
  y += "vms:\n  bench: {level: read-only}\n";
  return y;
}

// ~1 KiB: a chain of simple commands over the policy's programs.
std::string Command(int programs) {
  const int kPrograms = programs;
  std::string c;
  for (int i = 0; c.size() < 1000; ++i) {
    if (!c.empty()) c += i % 2 ? " && " : " ; ";
    c += "tool" + std::to_string(i * 7 % kPrograms) + " -q --flag3 --opt2=v" + std::to_string(i) +
         " work-" + std::to_string(i) + " memory 1 2 3";
  }
  return c;
}

struct Fixture {
  explicit Fixture(int programs) {
    char dir[] = "/tmp/qvmr-bench-XXXXXX";
    if (!mkdtemp(dir)) std::abort();
    path = dir;
    std::string file = path + "/policy.yaml";
    if (!Env::Posix()->WriteFileAtomic(file, PolicyYaml(programs), 0644).ok()) std::abort();
    LoadOptions o;
    o.dirs = {path};
    auto p = LoadPolicy(*Env::Posix(), o);
    if (!p.ok()) {
      std::fprintf(stderr, "%s\n", p.error().ToString().c_str());
      std::abort();
    }
    policy = std::move(*p);
    unlink(file.c_str());
    rmdir(path.c_str());
    request = DecisionRequest{"bench", Command(programs)};
    Decision d = Evaluate(policy, grants, request, 0);
    if (!d.allow) {
      std::fprintf(stderr, "benchmark command denied: %s\n", d.message.c_str());
      std::abort();
    }
  }
  std::string path;
  Policy policy;
  GrantSet grants;
  DecisionRequest request;
};

Fixture& Spread() {
  static Fixture f(50);
  return f;
}

Fixture& Concentrated() {
  static Fixture f(1);
  return f;
}

void MeasureDecisions(benchmark::State& state, Fixture& f) {
  std::vector<double> us;
  us.reserve(1 << 16);
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    Decision d = Evaluate(f.policy, f.grants, f.request, 0);
    auto end = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(d);
    if (us.size() < us.capacity()) {
      us.push_back(std::chrono::duration<double, std::micro>(end - start).count());
    }
  }
  std::sort(us.begin(), us.end());
  if (!us.empty()) {
    state.counters["p50_us"] = us[us.size() / 2];
    state.counters["p99_us"] = us[us.size() * 99 / 100];
    state.counters["max_us"] = us.back();
  }
  state.counters["rules"] = static_cast<double>(f.policy.rules.size());
  state.counters["cmd_bytes"] = static_cast<double>(f.request.text.size());
}

// DESIGN.md's figure: 1,000 rules over 50 programs, a 1 KiB command.
void BM_Decision1000Rules1KiB(benchmark::State& state) {
  MeasureDecisions(state, Spread());
}
BENCHMARK(BM_Decision1000Rules1KiB)->MinTime(2.0);

// The same 1,000 rules all for one program: every rule is tried for every simple command.
void BM_Decision1000RulesOneProgram1KiB(benchmark::State& state) {
  MeasureDecisions(state, Concentrated());
}
BENCHMARK(BM_Decision1000RulesOneProgram1KiB)->MinTime(2.0);

void BM_DecisionSimpleQuery(benchmark::State& state) {
  Fixture& f = Spread();
  DecisionRequest r{"bench", "tool1 -q work memory"};
  for (auto _ : state) benchmark::DoNotOptimize(Evaluate(f.policy, f.grants, r, 0));
}
BENCHMARK(BM_DecisionSimpleQuery);

void BM_ShellAnalysis1KiB(benchmark::State& state) {
  std::string text = Command(50);
  for (auto _ : state) benchmark::DoNotOptimize(AnalyzeShell(text));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_ShellAnalysis1KiB);

}  // namespace
}  // namespace qvmr

BENCHMARK_MAIN();
