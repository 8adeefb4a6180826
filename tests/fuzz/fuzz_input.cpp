// SPDX-License-Identifier: LGPL-2.1-or-later
// libFuzzer target for what ipchubd does with the bytes a caller sends before any
// object is touched: key checking (core::checkKey, core::isValidUtf8), the object path
// a key and scope map to (bus::objectPath, sd_bus_path_encode), and option parsing
// (bus::Options::parse) on a{sv} maps built from the input.
//
// Every input goes through all three. The input is split at its first '\n' into a
// scope and a key; the bytes after a second '\n' describe an option map.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <sdbus-c++/Error.h>
#include <systemd/sd-bus.h>

#include "bus/options.hpp"
#include "common/object_path.hpp"
#include "core/key.hpp"

namespace {

using namespace ipchub;

[[noreturn]] void failed(const char *what)
{
	__builtin_printf("fuzz check failed: %s\n", what);
	std::abort();
}

// UTF-8 as the Unicode standard's table of well-formed byte sequences (3-7) defines
// it: a second implementation to compare core::isValidUtf8 with.
bool wellFormedUtf8(std::string_view text)
{
	const auto *p = reinterpret_cast<const unsigned char *>(text.data());
	const auto *end = p + text.size();
	const auto in = [](unsigned char c, unsigned char low, unsigned char high) {
		return c >= low && c <= high;
	};
	while (p < end) {
		const unsigned char c = *p;
		size_t left = static_cast<size_t>(end - p);
		if (c <= 0x7F) {
			p += 1;
		} else if (in(c, 0xC2, 0xDF)) {
			if (left < 2 || !in(p[1], 0x80, 0xBF))
				return false;
			p += 2;
		} else if (in(c, 0xE0, 0xEF)) {
			const unsigned char low = c == 0xE0 ? 0xA0 : 0x80;
			const unsigned char high = c == 0xED ? 0x9F : 0xBF;
			if (left < 3 || !in(p[1], low, high) || !in(p[2], 0x80, 0xBF))
				return false;
			p += 3;
		} else if (in(c, 0xF0, 0xF4)) {
			const unsigned char low = c == 0xF0 ? 0x90 : 0x80;
			const unsigned char high = c == 0xF4 ? 0x8F : 0xBF;
			if (left < 4 || !in(p[1], low, high) || !in(p[2], 0x80, 0xBF) ||
			    !in(p[3], 0x80, 0xBF))
				return false;
			p += 4;
		} else {
			return false;
		}
	}
	return true;
}

void checkKeys(std::string_view scope, std::string_view key)
{
	if (core::isValidUtf8(key) != wellFormedUtf8(key))
		failed("isValidUtf8 disagrees with the table of well-formed UTF-8");
	const bool valid = key.size() >= 1 && key.size() <= 255 &&
			   key.find('\0') == std::string_view::npos && wellFormedUtf8(key);
	const auto checked = core::checkKey(key, 255);
	if (static_cast<bool>(checked) != valid)
		failed("checkKey accepts what is not a key, or refuses a key");
	if (!checked && checked.error().code != ErrorCode::InvalidKey)
		failed("checkKey refuses with another code than InvalidKey");
	if (!valid || (!scope.empty() && !core::checkKey(scope, 255)))
		return;

	for (const auto &kind : common::kKinds) {
		const core::ObjectKey id{std::string(scope), std::string(key)};
		const std::string path = common::objectPath(kind.kind, id.scope, id.key);
		if (!sd_bus_object_path_is_valid(path.c_str()))
			failed("objectPath made an invalid object path");
		const std::string prefix =
			std::string(common::kManagerPath) + "/" + std::string(kind.pathName);
		// Round trip: the path gives back the scope and key, so no two differ.
		char *decodedScope = nullptr;
		char *decodedKey = nullptr;
		int r;
		if (scope.empty())
			r = sd_bus_path_decode(path.c_str(), prefix.c_str(), &decodedKey);
		else
			r = sd_bus_path_decode_many(path.c_str(), (prefix + "/%/%").c_str(),
						    &decodedScope, &decodedKey);
		if (r <= 0 || !decodedKey || decodedKey != id.key ||
		    (!scope.empty() && (!decodedScope || decodedScope != id.scope)))
			failed("objectPath does not decode to its scope and key");
		std::free(decodedScope);
		std::free(decodedKey);
	}
}

// Reads the input as a list of options: a name (length byte, bytes), a type (byte),
// a value (bytes taken as that type needs them).
class Reader
{
public:
	explicit Reader(std::string_view data) : data_(data) {}
	bool empty() const { return data_.empty(); }
	uint8_t byte()
	{
		if (data_.empty())
			return 0;
		const auto b = static_cast<uint8_t>(data_.front());
		data_.remove_prefix(1);
		return b;
	}
	std::string bytes(size_t n)
	{
		n = std::min(n, data_.size());
		std::string out(data_.substr(0, n));
		data_.remove_prefix(n);
		return out;
	}
	uint64_t number()
	{
		uint64_t value = 0;
		for (int i = 0; i < 8; ++i)
			value = value << 8 | byte();
		return value;
	}

private:
	std::string_view data_;
};

sdbus::Variant value(Reader &in)
{
	switch (in.byte() % 9) {
	case 0:
		return sdbus::Variant(static_cast<bool>(in.byte() & 1));
	case 1:
		return sdbus::Variant(static_cast<uint32_t>(in.number()));
	case 2:
		return sdbus::Variant(in.number());
	case 3:
		return sdbus::Variant(static_cast<int32_t>(in.number()));
	case 4:
		return sdbus::Variant(in.bytes(in.byte()));
	case 5: {
		std::vector<std::string> apps;
		for (uint8_t n = in.byte() % 8; n > 0; --n)
			apps.push_back(in.bytes(in.byte()));
		return sdbus::Variant(apps);
	}
	case 6:
		return sdbus::Variant(static_cast<double>(in.number()));
	case 7:
		return sdbus::Variant(sdbus::Variant(static_cast<uint32_t>(in.number())));
	default: {
		std::vector<uint8_t> raw;
		for (char c : in.bytes(in.byte()))
			raw.push_back(static_cast<uint8_t>(c));
		return sdbus::Variant(raw);
	}
	}
}

void checkOptions(std::string_view data)
{
	Reader in(data);
	bus::OptionMap options;
	while (!in.empty() && options.size() < 16) {
		std::string name = in.bytes(in.byte() % 24);
		try {
			options.insert_or_assign(std::move(name), value(in));
		} catch (const sdbus::Error &) {
			// Not valid UTF-8, say: the bus would never have delivered it.
		}
	}
	static const std::initializer_list<bus::OptionSpec> known{
		{"open_existing", "b"},	 {"max", "u"},		 {"persistent", "b"},
		{"return_on_exit", "b"}, {"allowed_apps", "as"}, {"scope", "s"}};
	const auto parsed = bus::Options::parse(options, known);
	if (!parsed) {
		if (parsed.error().code != ErrorCode::InvalidArgument)
			failed("Options::parse refuses with another code than InvalidArgument");
		return;
	}
	// What parse accepts, the adaptors read without a throw.
	(void)parsed->get<bool>("open_existing");
	(void)parsed->get<uint32_t>("max");
	(void)parsed->get<bool>("persistent");
	(void)parsed->get<bool>("return_on_exit");
	(void)parsed->get<std::vector<std::string>>("allowed_apps");
	(void)parsed->get<std::string>("scope");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const std::string_view input(reinterpret_cast<const char *>(data), size);
	const size_t first = input.find('\n');
	const std::string_view scope = first == input.npos ? std::string_view()
							   : input.substr(0, first);
	const std::string_view rest = first == input.npos ? input : input.substr(first + 1);
	const size_t second = rest.find('\n');
	checkKeys(scope, rest.substr(0, second));
	if (second != rest.npos)
		checkOptions(rest.substr(second + 1));
	try {
		// Every byte string as a key on its own too.
		checkKeys({}, input);
	} catch (...) {
		failed("an exception escaped");
	}
	return 0;
}
