#include "engine/policy/option_table.h"

#include "engine/base/excerpt.h"

namespace qvmr {
namespace {

bool IsShortName(std::string_view n) {
  return n.size() == 2 && n[0] == '-' && n[1] != '-' && n[1] > 0x20 && n[1] < 0x7f && n[1] != '=';
}

bool IsLongName(std::string_view n) {
  if (n.size() < 3 || n.substr(0, 2) != "--" || n[2] == '-') return false;
  for (char c : n.substr(2)) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

enum class LookupKind { kFound, kUnknown, kAmbiguous };
struct Lookup {
  LookupKind kind = LookupKind::kUnknown;
  bool in_verb = false;
  std::size_t index = 0;
  std::string candidates;  // for ambiguity messages
};

// The option tables in force: the verb's (when reading after a verb) and, where global options
// stay valid, the tool's. The verb's comes first.
struct Scopes {
  const OptionSet* sets[2] = {nullptr, nullptr};
  bool in_verb[2] = {false, false};
  int count = 0;
  void Add(const OptionSet* set, bool verb) {
    sets[count] = set;
    in_verb[count++] = verb;
  }
};

Lookup FindShort(const Scopes& scopes, std::string_view name) {
  for (int s = 0; s < scopes.count; ++s) {
    if (auto i = scopes.sets[s]->FindExact(name))
      return {LookupKind::kFound, scopes.in_verb[s], *i, {}};
  }
  return {};
}

// getopt_long's rule: an exact name wins; otherwise a prefix of exactly one option (aliases of
// the same option count once). A prefix matching options of both tables is ambiguous.
Lookup FindLong(const Scopes& scopes, std::string_view name) {
  Lookup exact = FindShort(scopes, name);
  if (exact.kind == LookupKind::kFound) return exact;
  Lookup result;
  for (int s = 0; s < scopes.count; ++s) {
    const OptionSet& set = *scopes.sets[s];
    for (std::size_t i = 0; i < set.options.size(); ++i) {
      for (const auto& n : set.options[i].names) {
        if (n.size() > 2 && n.rfind("--", 0) == 0 && n.size() > name.size() &&
            n.compare(0, name.size(), name) == 0) {
          bool same = result.kind == LookupKind::kFound && result.index == i &&
                      result.in_verb == scopes.in_verb[s];
          if (result.kind == LookupKind::kFound && !same) {
            result.kind = LookupKind::kAmbiguous;
          } else if (result.kind == LookupKind::kUnknown) {
            result.kind = LookupKind::kFound;
            result.in_verb = scopes.in_verb[s];
            result.index = i;
          }
          if (!result.candidates.empty()) result.candidates += ", ";
          result.candidates += n;
          break;
        }
      }
    }
  }
  return result;
}

// An optional-value option given without an attached value takes the next word when its
// look-ahead reads it (journalctl -b -1), as the tool does after getopt returns.
bool TakesNextWord(const OptionSpec& spec, const std::vector<std::string>& argv, std::size_t i) {
  if (spec.arg != OptionArg::kOptional || i + 1 >= argv.size()) return false;
  switch (spec.lookahead) {
    case Lookahead::kNone:
      return false;
    case Lookahead::kBoot:
      return IsBootDescriptor(argv[i + 1]);
  }
  return false;
}

// "-20": a dash and 1-18 digits, nothing else.
bool IsObsoleteNumber(std::string_view w) {
  if (w.size() < 2 || w.size() > 19 || w[0] != '-') return false;
  for (char c : w.substr(1)) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

ArgvReading Fail(std::string code, std::string message) {
  ArgvReading r;
  r.error = {std::move(code), std::move(message)};
  return r;
}

}  // namespace

bool IsBootDescriptor(std::string_view w) {
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  auto is_hex = [&](char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  };
  // [+-]?[0-9]{1,9}, the sign optional only where `sign_required` is false.
  auto is_offset = [&](std::string_view s, bool sign_required) {
    bool sign = !s.empty() && (s[0] == '+' || s[0] == '-');
    if (sign_required && !sign) return false;
    if (sign) s.remove_prefix(1);
    if (s.empty() || s.size() > 9) return false;
    for (char c : s) {
      if (!is_digit(c)) return false;
    }
    return true;
  };
  if (w == "all") return true;
  if (is_offset(w, false)) return true;
  if (w.size() < 32) return false;
  for (char c : w.substr(0, 32)) {
    if (!is_hex(c)) return false;
  }
  return w.size() == 32 || is_offset(w.substr(32), true);
}

Result<OptionSpec> ParseOptionSpec(std::string_view text, const SourcePos& pos) {
  OptionSpec spec;
  spec.pos = pos;
  std::string_view names = text;
  if (names.ends_with("=?(boot)")) {
    spec.arg = OptionArg::kOptional;
    spec.lookahead = Lookahead::kBoot;
    names.remove_suffix(8);
  } else if (names.size() >= 2 && names.substr(names.size() - 2) == "=?") {
    spec.arg = OptionArg::kOptional;
    names.remove_suffix(2);
  } else if (!names.empty() && names.back() == '=') {
    spec.arg = OptionArg::kRequired;
    names.remove_suffix(1);
  }
  while (true) {
    std::size_t bar = names.find('|');
    std::string_view name = names.substr(0, bar);
    if (!IsShortName(name) && !IsLongName(name)) {
      return MakeError("bad-option-spec",
                       "option spec '" + std::string(text) + "': '" + std::string(name) +
                           "' is neither -x nor --long-name (write NAMES, NAMES=, NAMES=? or "
                           "NAMES=?(boot))",
                       pos);
    }
    spec.names.emplace_back(name);
    if (bar == std::string_view::npos) break;
    names.remove_prefix(bar + 1);
  }
  spec.canonical = spec.names.front();
  for (const auto& n : spec.names) {
    if (n.size() > 2) {
      spec.canonical = n;
      break;
    }
  }
  return spec;
}

std::string OptionSpecText(const OptionSpec& spec) {
  std::string out;
  for (const auto& n : spec.names) out += (out.empty() ? "" : "|") + n;
  if (spec.arg == OptionArg::kRequired) out += "=";
  if (spec.arg == OptionArg::kOptional) out += "=?";
  if (spec.lookahead == Lookahead::kBoot) out += "(boot)";
  return out;
}

std::optional<std::size_t> OptionSet::FindExact(std::string_view name) const {
  for (std::size_t i = 0; i < options.size(); ++i) {
    for (const auto& n : options[i].names) {
      if (n == name) return i;
    }
  }
  return std::nullopt;
}

ArgvReading ReadArgv(const CommandTable& table, const std::vector<std::string>& argv) {
  ArgvReading r;
  ParsedArgv& out = r.parsed;
  const OptionSet* active = &table.global;
  Scopes scopes;
  scopes.Add(&table.global, false);
  bool in_verb = false;
  bool want_verb = table.has_verbs();
  bool options_ended = table.operands_only;

  for (std::size_t i = 1; i < argv.size(); ++i) {
    const std::string& w = argv[i];
    if (!options_ended && w == "--") {
      options_ended = true;
      continue;
    }
    if (options_ended || w.size() < 2 || w[0] != '-') {
      if (want_verb) {
        want_verb = false;
        const OptionSet* verb_set = nullptr;
        if (auto it = table.verbs.find(w); it != table.verbs.end()) {
          out.verb = it->first;
          verb_set = &it->second;
        } else if (table.abbreviate_verbs && !w.empty()) {
          int count = 0;
          for (const auto& [name, set] : table.verbs) {
            if (name.compare(0, w.size(), w) == 0) {
              ++count;
              out.verb = name;
              verb_set = &set;
            }
          }
          if (count > 1) {
            return Fail("ambiguous-verb", "'" + Excerpt(w, 64) + "' abbreviates more than one " +
                                              table.name + " command");
          }
        }
        if (!verb_set)
          return Fail("unknown-verb",
                      "'" + Excerpt(w, 64) + "' is not a " + table.name + " command");
        active = verb_set;
        in_verb = true;
        scopes = Scopes{};
        scopes.Add(verb_set, true);
        // GNU permutation inside the verb: the tool's global options stay valid after it.
        if (verb_set->permute) scopes.Add(&table.global, false);
        options_ended = table.operands_only;
        continue;
      }
      out.operands.push_back(w);
      if (!active->permute) options_ended = true;
      continue;
    }

    if (w[1] == '-') {  // --long[=value]
      std::size_t eq = w.find('=');
      std::string name = w.substr(0, eq);
      Lookup found = FindLong(scopes, name);
      if (found.kind == LookupKind::kUnknown) {
        return Fail("unknown-option", "'" + Excerpt(name, 64) + "' is not an option of " +
                                          table.name + (in_verb ? " " + out.verb : std::string()));
      }
      if (found.kind == LookupKind::kAmbiguous) {
        return Fail("ambiguous-option", "'" + Excerpt(name, 64) + "' is ambiguous (" +
                                            found.candidates + "); write it in full");
      }
      const OptionSet& set = found.in_verb ? *active : table.global;
      const OptionSpec& spec = set.options[found.index];
      ParsedOption opt{found.in_verb, found.index, std::nullopt};
      if (eq != std::string::npos) {
        if (spec.arg == OptionArg::kNone) {
          return Fail("unexpected-value", "'" + spec.canonical + "' takes no value");
        }
        opt.value = w.substr(eq + 1);
      } else if (spec.arg == OptionArg::kRequired) {
        if (i + 1 >= argv.size()) {
          return Fail("missing-value", "'" + spec.canonical + "' needs a value");
        }
        opt.value = argv[++i];
      } else if (TakesNextWord(spec, argv, i)) {
        opt.value = argv[++i];
      }
      out.options.push_back(std::move(opt));
      continue;
    }

    if (i == 1 && !table.obsolete_number.empty() && IsObsoleteNumber(w)) {
      // head -20 is head -n 20 (coreutils rewrites the first argument).
      auto index = table.global.FindExact(table.obsolete_number);
      if (!index) {
        return Fail("unknown-option", "'" + Excerpt(w, 64) + "' is not an option of " + table.name);
      }
      out.options.push_back(ParsedOption{false, *index, w.substr(1)});
      continue;
    }

    // -abc bundle; a value-taking option takes the rest of the word or the next word.
    for (std::size_t j = 1; j < w.size(); ++j) {
      std::string name = std::string("-") + w[j];
      Lookup found = FindShort(scopes, name);
      if (found.kind != LookupKind::kFound) {
        return Fail("unknown-option", "'" + Excerpt(name, 64) + "' is not an option of " +
                                          table.name + (in_verb ? " " + out.verb : std::string()));
      }
      const OptionSet& set = found.in_verb ? *active : table.global;
      const OptionSpec& spec = set.options[found.index];
      ParsedOption opt{found.in_verb, found.index, std::nullopt};
      if (spec.arg != OptionArg::kNone) {
        std::string rest = w.substr(j + 1);
        if (!rest.empty()) {
          if (rest[0] == '=') {
            return Fail("ambiguous-value", "'" + Excerpt(w, 64) +
                                               "': tools disagree whether the value of " + name +
                                               " includes '='; write " + name + " VALUE");
          }
          opt.value = rest;
        } else if (spec.arg == OptionArg::kRequired) {
          if (i + 1 >= argv.size()) {
            return Fail("missing-value", "'" + spec.canonical + "' needs a value");
          }
          opt.value = argv[++i];
        } else if (TakesNextWord(spec, argv, i)) {
          opt.value = argv[++i];
        }
        out.options.push_back(std::move(opt));
        break;
      }
      out.options.push_back(std::move(opt));
    }
  }
  if (want_verb) return Fail("missing-verb", table.name + " needs a command");
  r.ok = true;
  return r;
}

}  // namespace qvmr
