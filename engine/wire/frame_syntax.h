// The lexical pieces of frame headers (frame.h), shared by the readers and writers and by
// nothing else: fields separated by single spaces, canonical decimals, script error codes.
#ifndef QVMR_ENGINE_WIRE_FRAME_SYNTAX_H_
#define QVMR_ENGINE_WIRE_FRAME_SYNTAX_H_

#include <cstdint>
#include <string_view>
#include <vector>

namespace qvmr::frame_syntax {

// Splits on single spaces. A leading or trailing space, or two spaces in a row, yields an empty
// field, which no caller accepts: a header has exactly one spelling.
std::vector<std::string_view> SplitFields(std::string_view line);

// Canonical decimal: "0", or 1..20 digits without a leading zero, fitting in 64 bits.
bool ParseDecimal(std::string_view text, std::uint64_t* out);

// A script's error code: 1..32 bytes of [a-z-].
bool IsScriptErrorCode(std::string_view code);

// A name a removal may carry: a cid shape or `<cid>.auth`.
bool IsRemovableName(std::string_view name);

}  // namespace qvmr::frame_syntax

#endif  // QVMR_ENGINE_WIRE_FRAME_SYNTAX_H_
