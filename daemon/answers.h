// Answers waiting to be delivered, per VM, and how an answer is made. An answer is the four
// result files of one cid (`.out`, `.err`, `.meta`, `.exit`); the delivery call writes them into
// the VM's results/ with `.exit` last. An answer stays here until the VM acknowledges it (`ok`,
// or `exists`: an `.exit` was already there, which is never overwritten), so nothing is lost when
// a delivery call fails; it is retried on the next one.
//
// Thread safety: AnswerBox may be used from any thread.
#ifndef QVMR_DAEMON_ANSWERS_H_
#define QVMR_DAEMON_ANSWERS_H_

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "daemon/script_call.h"
#include "engine/base/codes.h"
#include "engine/wire/meta.h"

namespace qvmr {

struct Answer {
  DeliveryItem files;
  // A journal row exists: mark it delivered on the acknowledgement. (Answers of validation steps
  // 3–11 have none: a lost one is simply asked again by the re-offered request.)
  bool journaled = false;
  // `.out`/`.err` are spool files to remove once delivered.
  bool spooled = false;
};

// `.meta`, `.err` and `.exit` of a request refused or ended without output of its own.
// `err_line` is one line (a newline is added); the status is OutcomeExitStatus(outcome).
Answer MakeAnswer(const std::string& cid, Outcome outcome, std::string_view reason_code,
                  const std::string& err_line, Meta meta);

class AnswerBox {
 public:
  void Put(const std::string& vm, Answer answer);
  // Up to `max` answers of `vm`, oldest first (copies: the box keeps them until Done).
  std::vector<Answer> Peek(const std::string& vm, std::size_t max) const;
  // The VM acknowledged `cid`: forget it. Returns the answer that was held, if one was.
  std::optional<Answer> Done(const std::string& vm, const std::string& cid);
  std::size_t Count(const std::string& vm) const;

  // Names to remove in the VM's queue with the next delivery (duplicates of delivered cids).
  void AddRemoval(const std::string& vm, QueueDir dir, const std::string& name);
  std::vector<std::pair<QueueDir, std::string>> TakeRemovals(const std::string& vm);

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::vector<Answer>> by_vm_;
  std::map<std::string, std::vector<std::pair<QueueDir, std::string>>> removals_;
};

}  // namespace qvmr

#endif  // QVMR_DAEMON_ANSWERS_H_
