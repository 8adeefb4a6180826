#pragma once

#include <functional>
#include <optional>
#include <string>

#include <sdbus-c++/sdbus-c++.h>

#include "core/key.hpp"
#include "event_loop.hpp"
#include "peers.hpp"

namespace ipchub::bus {

// The changed properties of one PropertiesChanged signal, as they are written.
class ChangedProperties
{
public:
	ChangedProperties(sdbus::Signal &signal, const Peer &recipient)
		: signal_(signal), recipient_(recipient)
	{
	}

	// Whom this copy of the signal goes to: what it may see of holders depends on it.
	const Peer &recipient() const { return recipient_; }

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
	const Peer &recipient_;
};

// PropertiesChanged for one interface of one object, sent after the bus messages being
// handled are done rather than inside each change: the method's reply goes out first
// (the signal is off the caller's round trip), and the changes of one batch of
// messages make one signal. An object signals at most once per kMinInterval: changes
// in between make one signal with the latest values when the interval is over, so a
// client acquiring and releasing in a loop does not double the bus's traffic.
// Subscribers always get the latest values, which is what PropertiesChanged promises;
// a state that lasted less than the interval may be skipped. The message is built
// here: sd-bus's own emitter looks up the vtable and runs every getter through
// sdbus-c++, which cost more than the whole method call.
class ChangeSignal
{
public:
	using Writer = std::function<void(ChangedProperties &)>;
	static constexpr uint64_t kMinIntervalUsec = 10000;

	// The signal goes to the watchers that may see the object described by info
	// (announce.hpp); peers and info must outlive this.
	ChangeSignal(sdbus::IObject &object, std::string interface, EventLoop &loop,
		     const Peers &peers, const core::ObjectInfo &info, Writer writer);

	// Something changed: the signal goes out once the loop is done with the bus.
	void schedule();

private:
	static int onDue(sd_event_source *, uint64_t, void *userdata);
	void emit();

	sdbus::IObject &object_;
	std::string interface_;
	const Peers &peers_;
	const core::ObjectInfo &info_;
	Writer writer_;
	EventSourcePtr source_;
	bool scheduled_ = false;
	uint64_t lastUsec_ = 0;
};

} // namespace ipchub::bus
