// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// Drives an ipchub::Client from a Qt event loop: a QSocketNotifier on Client::fd() and
// a single-shot QTimer for Client::nextTimeout(), each calling Client::process(). The
// callbacks of acquireAsync and lockAsync then run in the Qt thread, between events.

#include <algorithm>
#include <chrono>
#include <climits>

#include <QSocketNotifier>
#include <QTimer>

#include <ipchub/ipchub.hpp>

class QtIpchub
{
public:
	explicit QtIpchub(ipchub::Client &client)
		: client_(client), notifier_(client.fd(), QSocketNotifier::Read)
	{
		timer_.setSingleShot(true);
		QObject::connect(&notifier_, &QSocketNotifier::activated, [this] { process(); });
		QObject::connect(&timer_, &QTimer::timeout, [this] { process(); });
		schedule();
	}

	// Call after starting an asynchronous wait from outside a callback, so that the
	// timer follows the new timeout (the fd wakes the loop anyway when it is due).
	void schedule()
	{
		const auto next = client_.nextTimeout();
		if (!next) {
			timer_.stop();
			return;
		}
		const auto ms = std::chrono::ceil<std::chrono::milliseconds>(*next).count();
		timer_.start(static_cast<int>(std::min<long long>(ms, INT_MAX)));
	}

private:
	void process()
	{
		if (auto processed = client_.process(); !processed)
			qWarning("ipchub: %s", processed.error().message.c_str());
		schedule();
	}

	ipchub::Client &client_;
	QSocketNotifier notifier_;
	QTimer timer_;
};
