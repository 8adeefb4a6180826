// SPDX-License-Identifier: LGPL-2.1-or-later
#include "fast_watch.hpp"

#include <iostream>

namespace ipchub::bus {

namespace {

constexpr uint64_t kPollUsec = 1000;

} // namespace

FastWatch::FastWatch(EventLoop &loop, std::function<void()> woken)
	: loop_(loop), woken_(std::move(woken))
{
}

FastWatch::~FastWatch()
{
	stop();
}

void FastWatch::stop()
{
	if (id_)
		loop_.futexWaiter().cancel(*id_);
	id_.reset();
	poll_.reset();
	word_ = nullptr;
	expected_.reset();
}

void FastWatch::fire()
{
	// The watch is spent: the next follow arms a new one, even for the same pair.
	id_.reset();
	poll_.reset();
	word_ = nullptr;
	expected_.reset();
	woken_();
}

void FastWatch::follow(std::atomic<uint32_t> &word, std::optional<uint32_t> expected)
{
	if (expected && word_ == &word && expected_ == expected && (id_ || poll_))
		return;
	stop();
	if (!expected)
		return;
	word_ = &word;
	expected_ = expected;
	auto id = loop_.futexWaiter().tryWatch(word, *expected, [this] { fire(); });
	if (id) {
		id_ = *id;
		return;
	}
	static bool told = false;
	if (!told) {
		std::cerr << "ipchubd: " << id.error().message
			  << "; waits on fast objects poll every millisecond meanwhile\n";
		told = true;
	}
	poll_ = loop_.addTimer(kPollUsec, [this] { fire(); });
}

} // namespace ipchub::bus
