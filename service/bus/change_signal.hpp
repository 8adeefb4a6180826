#pragma once

#include <functional>
#include <optional>
#include <string>

#include <sdbus-c++/sdbus-c++.h>

#include "event_loop.hpp"

namespace ipchub::bus {

// The changed properties of one PropertiesChanged signal, as they are written.
class ChangedProperties
{
public:
	explicit ChangedProperties(sdbus::Signal &signal) : signal_(signal) {}

	template <typename T>
	void add(const char *name, const T &value)
	{
		signal_.openDictEntry("sv");
		signal_ << name;
		signal_.openVariant(sdbus::signature_of<T>::str());
		signal_ << value;
		signal_.closeVariant();
		signal_.closeDictEntry();
	}

private:
	sdbus::Signal &signal_;
};

// PropertiesChanged for one interface of one object, sent after the bus messages being
// handled are done rather than inside each change: the method's reply goes out first
// (the signal is off the caller's round trip), and the changes of one batch of
// messages make one signal. Subscribers see the latest values, as PropertiesChanged
// promises. The message is built here: sd-bus's own emitter looks up the vtable and
// runs every getter through sdbus-c++, which cost more than the whole method call.
class ChangeSignal
{
public:
	using Writer = std::function<void(ChangedProperties &)>;

	ChangeSignal(sdbus::IObject &object, std::string interface, EventLoop &loop,
		     Writer writer);

	// Something changed: the signal goes out once the loop is done with the bus.
	void schedule();

private:
	static int onDeferred(sd_event_source *, void *userdata);
	void emit();

	sdbus::IObject &object_;
	std::string interface_;
	Writer writer_;
	EventSourcePtr source_;
};

} // namespace ipchub::bus
