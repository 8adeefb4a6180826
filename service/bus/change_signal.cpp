#include "change_signal.hpp"

#include <cstring>
#include <stdexcept>
#include <vector>

namespace ipchub::bus {

ChangeSignal::ChangeSignal(sdbus::IObject &object, std::string interface, EventLoop &loop,
			   Writer writer)
	: object_(object), interface_(std::move(interface)), writer_(std::move(writer))
{
	sd_event_source *source = nullptr;
	if (int r = sd_event_add_defer(loop.event(), &source, &ChangeSignal::onDeferred, this); r < 0)
		throw std::runtime_error(std::string("sd_event_add_defer: ") + std::strerror(-r));
	source_.reset(source);
	sd_event_source_set_enabled(source, SD_EVENT_OFF);
}

void ChangeSignal::schedule()
{
	sd_event_source_set_enabled(source_.get(), SD_EVENT_ONESHOT);
}

int ChangeSignal::onDeferred(sd_event_source *, void *userdata)
{
	static_cast<ChangeSignal *>(userdata)->emit();
	return 0;
}

void ChangeSignal::emit()
{
	try {
		auto signal = object_.createSignal("org.freedesktop.DBus.Properties", "PropertiesChanged");
		signal << interface_;
		signal.openContainer("{sv}");
		ChangedProperties changed(signal);
		writer_(changed);
		signal.closeContainer();
		signal << std::vector<std::string>{};
		object_.emitSignal(signal);
	} catch (const sdbus::Error &) {
		// The bus is gone (ipchubd is ending): nobody is left to tell.
	}
}

} // namespace ipchub::bus
