// No containment: only what the executor's process groups reach is killed, and nothing bounds a
// fork bomb. The daemon warns once at start (Describe is that warning). The memory cap is
// RLIMIT_AS per process; the private TMPDIR still exists.
#include "daemon/containment.h"

namespace qvmr {
namespace {

class NoneCell : public Cell {
 public:
  NoneCell(std::uint64_t memory_bytes, std::string tmpdir) : tmpdir_(std::move(tmpdir)) {
    entry_.address_space_bytes = memory_bytes;
  }
  ~NoneCell() override { (void)Close(); }
  const CellEntry& entry() const override { return entry_; }
  const std::string& tmpdir() const override { return tmpdir_; }
  void Adopt(pid_t) override {}
  void Signal(int) override {}
  bool Empty() override { return true; }
  std::string Describe() const override { return "none"; }
  Status Close() override {
    if (closed_) return Ok{};
    closed_ = true;
    return tmpdir_.empty() ? Status(Ok{}) : RemoveTree(tmpdir_);
  }

 private:
  CellEntry entry_;
  std::string tmpdir_;
  bool closed_ = false;
};

class NoneContainment : public Containment {
 public:
  explicit NoneContainment(const ContainmentOptions& options) : options_(options) {}
  ContainmentKind kind() const override { return ContainmentKind::kNone; }
  std::string Describe() const override {
    return "none: WARNING: only process groups are killed (a setsid'd or double-forked "
           "descendant can outlive its command) and fork bombs are not bounded";
  }
  // Leftover processes died with the daemon (PR_SET_PDEATHSIG); only TMPDIRs can remain.
  Result<int> SweepLeftovers() override { return SweepPrivateTmps(options_); }

  Result<std::unique_ptr<Cell>> NewCell(std::string_view cid) override {
    auto tmp = MakePrivateTmp(options_, cid);
    if (!tmp.ok()) return tmp.error();
    return std::unique_ptr<Cell>(new NoneCell(options_.max_memory_bytes, *tmp));
  }

 private:
  ContainmentOptions options_;
};

}  // namespace

std::unique_ptr<Containment> NewNoneContainment(const ContainmentOptions& options) {
  return std::make_unique<NoneContainment>(options);
}

}  // namespace qvmr
