#include "change_signal.hpp"

#include "announce.hpp"

#include <cstring>
#include <stdexcept>
#include <vector>

namespace ipchub::bus {

ChangeSignal::ChangeSignal(sdbus::IObject &object, std::string interface, EventLoop &loop,
			   const Peers &peers, const core::ObjectInfo &info, Writer writer)
	: object_(object), interface_(std::move(interface)), peers_(peers), info_(info),
	  writer_(std::move(writer))
{
	sd_event_source *source = nullptr;
	if (int r = sd_event_add_time(loop.event(), &source, CLOCK_MONOTONIC, 0, 0,
				      &ChangeSignal::onDue, this);
	    r < 0)
		throw std::runtime_error(std::string("sd_event_add_time: ") + std::strerror(-r));
	source_.reset(source);
	sd_event_source_set_enabled(source, SD_EVENT_OFF);
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
	self->emit();
	return 0;
}

void ChangeSignal::emit()
{
	sendToWatchers(object_, peers_, info_, "org.freedesktop.DBus.Properties",
		       "PropertiesChanged", [this](sdbus::Signal &signal, const Peer &recipient) {
			       signal << interface_;
			       signal.openContainer("{sv}");
			       ChangedProperties changed(signal, recipient);
			       writer_(changed);
			       signal.closeContainer();
			       signal << std::vector<std::string>{};
		       });
}

} // namespace ipchub::bus
