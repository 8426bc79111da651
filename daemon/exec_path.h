// Finding programs: the argv executor runs a program only from the directories of
// QVM_REMOTE_EXEC_PATH (`remote.conf`; CONTRACT.md "Execution"), never a path the VM wrote.
//
// Why so strict: the engine's rules match argv[0] as a bare name; a `/` in it would let a VM name
// any file on dom0, and a relative or empty PATH entry would make the lookup depend on the cwd.
// So an argv[0] with a `/` is refused, and relative or empty entries are dropped at parse time.
//
// Cost: Lookup does one stat and one access(2) per directory. Thread safety: an ExecPath is
// immutable after Parse; share it freely.
#ifndef QVMR_DAEMON_EXEC_PATH_H_
#define QVMR_DAEMON_EXEC_PATH_H_

#include <string>
#include <string_view>
#include <vector>

namespace qvmr {

// CONTRACT: the default of QVM_REMOTE_EXEC_PATH.
inline constexpr std::string_view kDefaultExecPath = "/usr/local/bin:/usr/bin:/bin";

struct ProgramLookup {
  enum class Kind {
    kFound,          // `path` is an executable regular file
    kNotFound,       // in no directory: status 127
    kNotExecutable,  // only non-executable files by that name: status 126
    kHasSlash,       // argv[0] names a path: never run, status 127
  };
  Kind kind = Kind::kNotFound;
  std::string path;  // kFound: the absolute path to exec

  // The shell-like status for a failed lookup (127 or 126); 0 for kFound.
  int Status() const;
  // The `.err` line for a failed lookup, ending in '\n' ("qvm-remote: PROG: command not found in
  // QVM_REMOTE_EXEC_PATH"); PROG is quoted through Excerpt (it is VM text). "" for kFound.
  std::string ErrLine(std::string_view program) const;
};

class ExecPath {
 public:
  // From a colon list; entries that are empty or not absolute are ignored (see above). Never
  // fails: an all-invalid list yields an ExecPath that finds nothing.
  static ExecPath Parse(std::string_view colon_list);

  // The first directory holding an executable regular file named `program` (as execvp searches;
  // a non-executable match is remembered and the search goes on, as bash does).
  ProgramLookup Lookup(std::string_view program) const;

  const std::vector<std::string>& directories() const { return directories_; }
  // The directories joined by ':' — the child's PATH.
  std::string Joined() const;

 private:
  std::vector<std::string> directories_;
};

}  // namespace qvmr

#endif  // QVMR_DAEMON_EXEC_PATH_H_
