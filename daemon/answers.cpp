#include "daemon/answers.h"

#include <algorithm>

namespace qvmr {

Answer MakeAnswer(const std::string& cid, Outcome outcome, std::string_view reason_code,
                  const std::string& err_line, Meta meta) {
  Answer a;
  a.files.cid = cid;
  int status = OutcomeExitStatus(outcome);
  meta.id = cid;
  meta.outcome = outcome;
  meta.exit_code = status;
  meta.reason_code = std::string(reason_code);
  if (meta.reason.empty()) meta.reason = err_line;
  a.files.err.bytes = err_line.empty() ? std::string() : err_line + "\n";
  a.files.meta = EncodeMeta(meta);
  a.files.exit = std::to_string(status);
  return a;
}

void AnswerBox::Put(const std::string& vm, Answer answer) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& list = by_vm_[vm];
  // One answer per cid: a re-offered request answered twice before delivery keeps the first.
  for (const Answer& a : list) {
    if (a.files.cid == answer.files.cid) return;
  }
  list.push_back(std::move(answer));
}

std::vector<Answer> AnswerBox::Peek(const std::string& vm, std::size_t max) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_vm_.find(vm);
  if (it == by_vm_.end()) return {};
  std::size_t n = std::min(max, it->second.size());
  return std::vector<Answer>(it->second.begin(), it->second.begin() + n);
}

std::optional<Answer> AnswerBox::Done(const std::string& vm, const std::string& cid) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_vm_.find(vm);
  if (it == by_vm_.end()) return std::nullopt;
  auto& list = it->second;
  auto a =
      std::find_if(list.begin(), list.end(), [&](const Answer& x) { return x.files.cid == cid; });
  if (a == list.end()) return std::nullopt;
  Answer answer = std::move(*a);
  list.erase(a);
  return answer;
}

std::size_t AnswerBox::Count(const std::string& vm) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_vm_.find(vm);
  return it == by_vm_.end() ? 0 : it->second.size();
}

void AnswerBox::AddRemoval(const std::string& vm, QueueDir dir, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  removals_[vm].emplace_back(dir, name);
}

std::vector<std::pair<QueueDir, std::string>> AnswerBox::TakeRemovals(const std::string& vm) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = removals_.find(vm);
  if (it == removals_.end()) return {};
  auto out = std::move(it->second);
  removals_.erase(it);
  return out;
}

}  // namespace qvmr
