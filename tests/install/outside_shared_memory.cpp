// SPDX-License-Identifier: LGPL-2.1-or-later
// A second outside program, built by install_test.sh as C++17 and as C++20: it writes a
// shared-memory object through SharedMemory::data() (a std::span where the standard has one, the
// library's Span otherwise) and reads it back through a read-only mapping.

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include <ipchub/ipchub.hpp>

#if __cplusplus >= 202002L
#include <span>
#endif

namespace {

int fail(const char *what, const ipchub::Error &error)
{
	std::cerr << "outside-shared-memory: " << what << ": " << ipchub::errorCodeName(error.code)
		  << ": " << error.message << "\n";
	return EXIT_FAILURE;
}

} // namespace

int main()
{
	auto client = ipchub::Client::connect();
	if (!client)
		return fail("connect", client.error());
	auto sharedMemory = client->createSharedMemory("outside-frame", 16);
	if (!sharedMemory)
		return fail("createSharedMemory", sharedMemory.error());
#if __cplusplus >= 202002L
	std::span<std::byte> bytes = sharedMemory->data();
#else
	ipchub::Span<std::byte> bytes = sharedMemory->data();
#endif
	const char text[] = "hello";
	std::memcpy(bytes.data(), text, sizeof text);
	auto view = client->openSharedMemory("outside-frame", ipchub::Access::ReadOnly);
	if (!view)
		return fail("openSharedMemory", view.error());
	const ipchub::Span<const std::byte> seen = view->constData();
	std::cout << "frame " << seen.size() << " bytes "
		  << reinterpret_cast<const char *>(seen.first(sizeof text).data()) << "\n";
	return EXIT_SUCCESS;
}
