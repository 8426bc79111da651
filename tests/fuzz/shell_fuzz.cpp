// libFuzzer target for the shell analysis. Besides "no crash, no sanitizer report", it checks
// the invariants callers rely on:
//   - a denial has a known code, a message, and an offset inside the text;
//   - an accepted plan is well formed (non-empty pipelines and argvs, connectors, fds, limits,
//     stage offsets increasing inside the text) and NormalizedCommand is argv joined by spaces;
//   - the analysis is deterministic;
//   - re-quoting the plan canonically (every word in single quotes) and analysing that text
//     gives the same plan: what we accepted means exactly its argvs, nothing else.
// The same input is also analysed with tiny limits, which must be respected.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "engine/shell/shell.h"

namespace {

void Check(bool condition, const char* what, std::string_view text) {
  if (condition) return;
  std::fprintf(stderr, "invariant violated: %s\ntext (%zu bytes): ", what, text.size());
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fprintf(stderr, "\n");
  std::abort();
}

const std::set<std::string>& Codes() {
  static const std::set<std::string> codes = {"command-substitution",
                                              "process-substitution",
                                              "arithmetic",
                                              "variable",
                                              "glob",
                                              "tilde",
                                              "brace",
                                              "group",
                                              "subshell",
                                              "function",
                                              "here-document",
                                              "here-string",
                                              "background",
                                              "pipe-stderr",
                                              "assignment",
                                              "redirection",
                                              "control-flow",
                                              "wrapper",
                                              "control-character",
                                              "syntax",
                                              "empty",
                                              "limit"};
  return codes;
}

std::string Quote(const std::string& word) {
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  out += "'";
  return out;
}

std::string Canonical(const qvmr::Plan& plan) {
  std::string out;
  for (std::size_t i = 0; i < plan.pipelines.size(); ++i) {
    if (i > 0) {
      switch (plan.connectors[i]) {
        case qvmr::Connector::kAnd:
          out += " && ";
          break;
        case qvmr::Connector::kOr:
          out += " || ";
          break;
        case qvmr::Connector::kSeq:
          out += "\n";
          break;
      }
    }
    const qvmr::Pipeline& p = plan.pipelines[i];
    for (std::size_t s = 0; s < p.stages.size(); ++s) {
      if (s > 0) out += " | ";
      const qvmr::SimpleCommand& c = p.stages[s];
      for (std::size_t w = 0; w < c.argv.size(); ++w) {
        if (w > 0) out += " ";
        out += Quote(c.argv[w]);
      }
      for (const qvmr::Redirect& r : c.redirects) {
        out += r.target == qvmr::Redirect::Target::kStdout
                   ? " 2>&1"
                   : (r.fd == 2 ? " 2>/dev/null" : " >/dev/null");
      }
    }
  }
  return out;
}

bool SamePlan(const qvmr::Plan& a, const qvmr::Plan& b) {
  if (a.pipelines.size() != b.pipelines.size() || a.connectors != b.connectors) return false;
  for (std::size_t i = 0; i < a.pipelines.size(); ++i) {
    const auto& x = a.pipelines[i].stages;
    const auto& y = b.pipelines[i].stages;
    if (x.size() != y.size()) return false;
    for (std::size_t s = 0; s < x.size(); ++s) {
      if (x[s].argv != y[s].argv || x[s].redirects.size() != y[s].redirects.size()) return false;
      for (std::size_t r = 0; r < x[s].redirects.size(); ++r) {
        if (x[s].redirects[r].fd != y[s].redirects[r].fd ||
            x[s].redirects[r].target != y[s].redirects[r].target) {
          return false;
        }
      }
    }
  }
  return true;
}

void CheckResult(std::string_view text, const qvmr::ShellResult& r,
                 const qvmr::ShellLimits& limits) {
  if (!r.ok) {
    Check(Codes().count(r.denial.code) == 1, "unknown reason code", text);
    Check(r.denial.offset <= text.size(), "denial offset outside the text", text);
    Check(!r.denial.message.empty(), "denial without a message", text);
    return;
  }
  const qvmr::Plan& plan = r.plan;
  Check(!plan.pipelines.empty(), "accepted an empty plan", text);
  Check(plan.pipelines.size() == plan.connectors.size(), "connectors do not match", text);
  Check(plan.connectors[0] == qvmr::Connector::kSeq, "first connector is not kSeq", text);
  Check(text.size() <= limits.max_text_bytes, "text limit ignored", text);
  std::size_t commands = 0;
  std::size_t last_offset = 0;
  for (const qvmr::Pipeline& p : plan.pipelines) {
    Check(!p.stages.empty(), "empty pipeline", text);
    for (const qvmr::SimpleCommand& c : p.stages) {
      Check(commands == 0 || c.offset > last_offset, "stage offsets not increasing", text);
      Check(c.offset < text.size(), "stage offset outside the text", text);
      last_offset = c.offset;
      ++commands;
      Check(!c.argv.empty(), "a stage without argv", text);
      Check(c.argv.size() <= limits.max_words, "word limit ignored", text);
      Check(c.redirects.size() <= limits.max_redirects, "redirect limit ignored", text);
      std::string joined;
      for (std::size_t w = 0; w < c.argv.size(); ++w) {
        Check(c.argv[w].size() <= limits.max_word_bytes, "word size limit ignored", text);
        if (w > 0) joined += " ";
        joined += c.argv[w];
      }
      Check(qvmr::NormalizedCommand(c) == joined, "NormalizedCommand is not argv joined", text);
      for (const qvmr::Redirect& rd : c.redirects) {
        Check(rd.fd == 1 || rd.fd == 2, "redirect fd not 1 or 2", text);
        Check(rd.target == qvmr::Redirect::Target::kDevNull || rd.fd == 2,
              "dup redirect other than 2>&1", text);
      }
    }
  }
  Check(commands <= limits.max_commands, "command limit ignored", text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const qvmr::ShellLimits defaults;
  qvmr::ShellResult r = qvmr::AnalyzeShell(text, defaults);
  CheckResult(text, r, defaults);

  qvmr::ShellResult again = qvmr::AnalyzeShell(text, defaults);
  Check(again.ok == r.ok, "not deterministic (ok)", text);
  if (r.ok) {
    Check(SamePlan(r.plan, again.plan), "not deterministic (plan)", text);
    std::string canonical = Canonical(r.plan);
    if (canonical.size() <= defaults.max_text_bytes) {
      qvmr::ShellResult requoted = qvmr::AnalyzeShell(canonical, defaults);
      Check(requoted.ok, "canonical re-quoting of an accepted plan is refused", text);
      Check(SamePlan(r.plan, requoted.plan), "canonical re-quoting changes the plan", text);
    }
  } else {
    Check(again.denial.code == r.denial.code && again.denial.offset == r.denial.offset,
          "not deterministic (denial)", text);
  }

  qvmr::ShellLimits tiny;
  tiny.max_text_bytes = 64;
  tiny.max_commands = 3;
  tiny.max_words = 4;
  tiny.max_word_bytes = 8;
  tiny.max_redirects = 2;
  CheckResult(text, qvmr::AnalyzeShell(text, tiny), tiny);
  return 0;
}
