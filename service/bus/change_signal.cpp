// SPDX-License-Identifier: LGPL-2.1-or-later
#include "change_signal.hpp"

#include <cstring>
#include <stdexcept>
#include <vector>

namespace ipchub::bus {

ChangeSignal::ChangeSignal(sdbus::IObject &object, std::string interface, EventLoop &loop,
			   Delivery &delivery, const core::ObjectInfo &info, Writer writer)
	: object_(object), interface_(std::move(interface)), path_(object.getObjectPath()),
	  delivery_(delivery), writer_(std::move(writer))
{
	sd_event_source *source = nullptr;
	if (int r = sd_event_add_time(loop.event(), &source, CLOCK_MONOTONIC, 0, 0,
				      &ChangeSignal::onDue, this);
	    r < 0)
		throw std::runtime_error(std::string("sd_event_add_time: ") + std::strerror(-r));
	source_.reset(source);
	// Accuracy 1 µs: with sd-event's default of 250 ms, a signal promised 10 ms after
	// the change could come a quarter of a second late.
	sd_event_source_set_time_accuracy(source, 1);
	sd_event_source_set_enabled(source, SD_EVENT_OFF);
	delivery_.addObject(path_, info, [this](const std::string &peer) { return sendTo(peer); });
}

ChangeSignal::~ChangeSignal()
{
	delivery_.removeObject(path_);
}

void ChangeSignal::schedule()
{
	if (scheduled_)
		return;
	scheduled_ = true;
	// A time already past makes the signal go on the loop's next iteration, once the
	// messages at hand are handled.
	sd_event_source_set_time(source_.get(), lastUsec_ + kMinIntervalUsec);
	sd_event_source_set_enabled(source_.get(), SD_EVENT_ONESHOT);
}

int ChangeSignal::onDue(sd_event_source *source, uint64_t, void *userdata)
{
	auto *self = static_cast<ChangeSignal *>(userdata);
	self->scheduled_ = false;
	sd_event_now(sd_event_source_get_event(source), CLOCK_MONOTONIC, &self->lastUsec_);
	self->delivery_.changed(self->path_);
	return 0;
}

bool ChangeSignal::sendTo(const std::string &peer)
{
	// Every peer told of an object has called ipchubd, so it is identified.
	const Peer *recipient = delivery_.peers().find(peer);
	if (!recipient)
		return false;
	try {
		auto signal = object_.createSignal("org.freedesktop.DBus.Properties",
						   "PropertiesChanged");
		signal << interface_;
		signal.openContainer("{sv}");
		ChangedProperties changed(signal, *recipient);
		writer_(changed);
		signal.closeContainer();
		signal << changed.invalidated();
		signal.setDestination(peer);
		object_.emitSignal(signal);
		return true;
	} catch (const sdbus::Error &) {
		// The bus is gone (ipchubd is ending), or the peer is: nobody to tell.
		return false;
	}
}

} // namespace ipchub::bus
