#include "client/answer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "engine/base/limits.h"
#include "engine/wire/exit_status.h"

namespace qvmr::client {
namespace {

constexpr std::size_t kMaxExitBytes = 64;
constexpr std::size_t kMaxStreamBytes = std::size_t{1} << 30;

// Reads at most `limit` bytes of `path`; a missing file is empty when `optional`.
Result<std::string> ReadBounded(const std::string& path, std::size_t limit, bool optional) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (optional && errno == ENOENT) return std::string();
    return MakeError("io", "cannot read " + path + ": " + std::strerror(errno));
  }
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Error e = MakeError("io", "cannot read " + path + ": " + std::strerror(errno));
      ::close(fd);
      return e;
    }
    if (n == 0) break;
    if (data.size() + static_cast<std::size_t>(n) > limit) {
      ::close(fd);
      return MakeError("io", path + " is larger than " + std::to_string(limit) + " bytes");
    }
    data.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return data;
}

}  // namespace

Result<Answer> ReadAnswer(const Paths& paths, std::string_view cid) {
  Answer answer;
  auto exit_text = ReadBounded(paths.Result(cid, "exit"), kMaxExitBytes, false);
  if (!exit_text) return exit_text.error();
  answer.exit_text = std::move(*exit_text);
  auto out = ReadBounded(paths.Result(cid, "out"), kMaxStreamBytes, true);
  if (!out) return out.error();
  answer.out = std::move(*out);
  auto err = ReadBounded(paths.Result(cid, "err"), kMaxStreamBytes, true);
  if (!err) return err.error();
  answer.err = std::move(*err);
  auto meta_text = ReadBounded(paths.Result(cid, "meta"), limits::kMaxMetaBytes, true);
  if (meta_text && !meta_text->empty()) {
    // An undecodable .meta leaves the outcome unknown: `.exit` alone then decides, which for
    // every outcome of ours is the same number (dom0 writes OutcomeExitStatus there).
    if (auto meta = DecodeMeta(*meta_text)) answer.meta = std::move(*meta);
  }
  return answer;
}

int ExitStatusOf(const Answer& answer) {
  std::optional<Outcome> outcome = answer.meta ? answer.meta->outcome : std::nullopt;
  return ClientExitStatus(outcome, answer.exit_text);
}

std::optional<int> SignalOf(const Answer& answer) {
  if (answer.meta && answer.meta->outcome && *answer.meta->outcome != Outcome::kOk) {
    return std::nullopt;
  }
  auto parsed = ParseExitFile(answer.exit_text);
  return parsed ? parsed->signal : std::nullopt;
}

std::string OutcomeOf(const Answer& answer) {
  if (answer.meta && answer.meta->outcome) return std::string(OutcomeName(*answer.meta->outcome));
  return "ok";
}

bool IsValidUtf8(std::string_view text) {
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    std::uint32_t cp;
    if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr std::uint32_t kMinForLen[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLen[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

std::string Base64(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const std::uint32_t v = (static_cast<std::uint8_t>(data[i]) << 16) |
                            (static_cast<std::uint8_t>(data[i + 1]) << 8) |
                            static_cast<std::uint8_t>(data[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const std::size_t rest = data.size() - i;
  if (rest > 0) {
    std::uint32_t v = static_cast<std::uint8_t>(data[i]) << 16;
    if (rest == 2) v |= static_cast<std::uint8_t>(data[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string AnswerJson(const Answer* answer, int exit) {
  nlohmann::ordered_json j;
  j["exit"] = exit;
  j["outcome"] = answer != nullptr ? OutcomeOf(*answer) : "no-answer";
  auto put_stream = [&](const char* name, std::string_view data) {
    if (IsValidUtf8(data)) {
      j[name] = std::string(data);
    } else {
      j[std::string(name) + "_b64"] = Base64(data);
    }
  };
  put_stream("stdout", answer != nullptr ? answer->out : "");
  put_stream("stderr", answer != nullptr ? answer->err : "");
  nlohmann::ordered_json truncated = nlohmann::ordered_json::array();
  if (answer != nullptr && answer->meta && !answer->meta->truncated.empty()) {
    std::string_view t = answer->meta->truncated;
    while (!t.empty()) {
      const std::size_t comma = t.find(',');
      truncated.push_back(std::string(t.substr(0, comma)));
      if (comma == std::string_view::npos) break;
      t.remove_prefix(comma + 1);
    }
  }
  j["truncated"] = truncated;
  if (answer == nullptr) {
    j["decision"] = nullptr;
  } else {
    const Meta empty;
    const Meta& m = answer->meta ? *answer->meta : empty;
    j["decision"] = {{"decision", m.decision},       {"level", m.level},   {"rule", m.rule},
                     {"reason_code", m.reason_code}, {"reason", m.reason}, {"grant", m.grant}};
    if (auto sig = SignalOf(*answer)) j["signal"] = *sig;
  }
  // .meta values are percent-decoded and may hold any byte: a decision string that is not UTF-8
  // (the engine's message quoting VM text) shows U+FFFD where it was broken, never throws.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace qvmr::client
