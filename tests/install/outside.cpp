// SPDX-License-Identifier: LGPL-2.1-or-later
// A program from outside the tree, built by install_test.sh with nothing but
// `pkg-config ipchub` against a DESTDIR install: the installed headers and library
// must be enough. It takes a unit of a semaphore and prints what the service says.

#include <cstdlib>
#include <iostream>

#include <ipchub/ipchub.hpp>

namespace {

int fail(const char *what, const ipchub::Error &error)
{
	std::cerr << "outside: " << what << ": " << ipchub::errorCodeName(error.code) << ": "
		  << error.message << "\n";
	return EXIT_FAILURE;
}

} // namespace

int main()
{
	auto client = ipchub::Client::connect();
	if (!client)
		return fail("connect", client.error());
	auto semaphore = client->createSemaphore("outside", 3);
	if (!semaphore)
		return fail("createSemaphore", semaphore.error());
	if (auto acquired = semaphore->acquire(2); !acquired)
		return fail("acquire", acquired.error());
	auto value = semaphore->value();
	if (!value)
		return fail("value", value.error());
	std::cout << semaphore->path() << " value " << *value << "\n";
	return EXIT_SUCCESS;
}
