#include "client/args.h"

#include <charconv>

#include "engine/base/limits.h"

namespace qvmr::client {
namespace {

Error Usage(std::string message) {
  return MakeError("usage", std::move(message));
}

Result<std::uint32_t> ParseTimeout(const std::string& text) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec == std::errc::invalid_argument || ptr != end) {
    // A sign is not a number here: "-5" is refused as "must be a positive integer" below only
    // when it parses, so say the reference's words for both.
    if (!text.empty() && text[0] == '-' && text.size() > 1 &&
        text.find_first_not_of("0123456789", 1) == std::string::npos) {
      return Usage("-t must be a positive integer");
    }
    return Usage("-t requires an integer, got: " + text);
  }
  if (ec == std::errc::result_out_of_range || value > limits::kMaxTimeoutSeconds) {
    return Usage("-t must be at most " + std::to_string(limits::kMaxTimeoutSeconds) +
                 " seconds (a day)");
  }
  if (value == 0) return Usage("-t must be a positive integer");
  return static_cast<std::uint32_t>(value);
}

}  // namespace

Result<Invocation> ParseArgs(const std::vector<std::string>& args) {
  Invocation inv;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      inv.help = true;
      return inv;  // the reference prints usage at once, whatever follows
    }
    if (a == "--version") {
      inv.version = true;
      return inv;
    }
    if (a == "-v" || a == "--verbose") {
      inv.verbose = true;
    } else if (a == "-q" || a == "--quiet") {
      inv.quiet = true;
    } else if (a == "--json") {
      inv.json = true;
    } else if (a == "-t" || a == "--timeout") {
      if (i + 1 >= args.size()) return Usage("-t requires a value");
      auto t = ParseTimeout(args[++i]);
      if (!t) return t.error();
      inv.timeout_seconds = *t;
    } else if (a.starts_with("--timeout=") || (a.starts_with("-t") && !a.starts_with("--"))) {
      auto t = ParseTimeout(a.substr(a[1] == '-' ? 10 : 2));
      if (!t) return t.error();
      inv.timeout_seconds = *t;
    } else if (a == "--") {
      inv.after_double_dash = true;
      inv.rest.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      return inv;
    } else if (a.size() > 1 && a[0] == '-') {
      return Usage("unknown option: " + a);
    } else {
      inv.rest.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
      return inv;
    }
  }
  return inv;
}

Verb VerbOf(const Invocation& inv) {
  if (inv.help) return Verb::kHelp;
  if (inv.version) return Verb::kVersion;
  if (inv.rest.empty()) return Verb::kScript;
  if (inv.after_double_dash) return Verb::kCommand;
  const std::string& w = inv.rest[0];
  if (w == "key") return Verb::kKey;
  if (w == "ping") return Verb::kPing;
  if (w == "status") return Verb::kStatus;
  if (w == "queue") return Verb::kQueue;
  if (w == "log") return Verb::kLog;
  if (w == "history") return Verb::kHistory;
  return Verb::kCommand;
}

std::string CommandText(const std::vector<std::string>& words) {
  std::string text;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0) text += ' ';
    text += words[i];
  }
  text += '\n';
  return text;
}

std::size_t CountArg(const std::vector<std::string>& args, std::size_t fallback) {
  const std::string* word = nullptr;
  if (args.size() >= 2 && args[0] == "-n") {
    word = &args[1];
  } else if (!args.empty()) {
    word = &args[0];
  }
  if (word == nullptr || word->empty() || word->size() > 9 ||
      word->find_first_not_of("0123456789") != std::string::npos) {
    return fallback;
  }
  return static_cast<std::size_t>(std::stoul(*word));
}

}  // namespace qvmr::client
