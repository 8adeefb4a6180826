// SPDX-License-Identifier: LGPL-2.1-or-later
#include "key.hpp"

#include <string>

namespace ipchub::core {

bool isValidUtf8(std::string_view text)
{
	size_t i = 0;
	while (i < text.size()) {
		const auto lead = static_cast<unsigned char>(text[i]);
		size_t length = 0;
		uint32_t codePoint = 0;
		if (lead < 0x80) {
			++i;
			continue;
		} else if ((lead & 0xE0) == 0xC0) {
			length = 2;
			codePoint = lead & 0x1F;
		} else if ((lead & 0xF0) == 0xE0) {
			length = 3;
			codePoint = lead & 0x0F;
		} else if ((lead & 0xF8) == 0xF0) {
			length = 4;
			codePoint = lead & 0x07;
		} else {
			return false;
		}
		if (i + length > text.size())
			return false;
		for (size_t j = 1; j < length; ++j) {
			const auto next = static_cast<unsigned char>(text[i + j]);
			if ((next & 0xC0) != 0x80)
				return false;
			codePoint = (codePoint << 6) | (next & 0x3F);
		}
		// Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
		static constexpr uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
		if (codePoint < kSmallest[length] || codePoint > 0x10FFFF ||
		    (codePoint >= 0xD800 && codePoint <= 0xDFFF))
			return false;
		i += length;
	}
	return true;
}

Result<void> checkKey(std::string_view key, uint32_t maxLength)
{
	if (key.empty())
		return fail(ErrorCode::InvalidKey,
			    "key is empty; a key is 1 to " + std::to_string(maxLength) + " bytes");
	if (key.size() > maxLength)
		return fail(ErrorCode::InvalidKey,
			    "key is " + std::to_string(key.size()) + " bytes; at most " +
				    std::to_string(maxLength));
	if (key.find('\0') != std::string_view::npos)
		return fail(ErrorCode::InvalidKey, "key contains a NUL byte");
	if (!isValidUtf8(key))
		return fail(ErrorCode::InvalidKey, "key is not valid UTF-8");
	return {};
}

} // namespace ipchub::core
