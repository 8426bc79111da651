// Quoting text a VM sent inside a message for a person. Messages reach the client, the audit log
// and terminals, so VM bytes in them are bounded and never carry control characters (a newline
// would split a line record; an escape sequence would drive the admin's terminal).
#ifndef QVMR_ENGINE_BASE_EXCERPT_H_
#define QVMR_ENGINE_BASE_EXCERPT_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace qvmr {

// At most `max_bytes` of `text` (then "..."), each byte < 0x20 or 0x7f written as \xNN and a
// backslash as "\\", so the result is one printable line whatever the input.
std::string Excerpt(std::string_view text, std::size_t max_bytes = 120);

}  // namespace qvmr

#endif  // QVMR_ENGINE_BASE_EXCERPT_H_
