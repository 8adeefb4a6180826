// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <sdbus-c++/sdbus-c++.h>

#include "core/key.hpp"
#include "delivery.hpp"
#include "event_loop.hpp"

namespace ipchub::bus {

// The changed properties of one PropertiesChanged signal, as they are written.
class ChangedProperties
{
public:
	// An array property with more entries goes out as invalidated (its name in the
	// signal's invalidated_properties, no value): a lock of 20,000 shared grants would
	// make every signal a megabyte. Whoever wants it reads it (Get).
	static constexpr size_t kMaxArrayEntries = 64;

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

	template <typename T>
	void addArray(const char *name, const std::vector<T> &value)
	{
		if (value.size() > kMaxArrayEntries)
			invalidated_.emplace_back(name);
		else
			add(name, value);
	}

	const std::vector<std::string> &invalidated() const { return invalidated_; }

private:
	sdbus::Signal &signal_;
	const Peer &recipient_;
	std::vector<std::string> invalidated_;
};

// PropertiesChanged for one interface of one object, sent to the peers Delivery names
// after the bus messages being
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

	// The signal goes to the peers told of the object described by info (see
	// Interests), as far as Delivery lets it; delivery and info must outlive this.
	ChangeSignal(sdbus::IObject &object, std::string interface, EventLoop &loop,
		     Delivery &delivery, const core::ObjectInfo &info, Writer writer);
	~ChangeSignal();
	ChangeSignal(const ChangeSignal &) = delete;
	ChangeSignal &operator=(const ChangeSignal &) = delete;

	// Something changed: the signal goes out once the loop is done with the bus.
	void schedule();

private:
	static int onDue(sd_event_source *, uint64_t, void *userdata);
	// Builds the signal with the latest values and sends it to peer.
	bool sendTo(const std::string &peer);

	sdbus::IObject &object_;
	std::string interface_;
	std::string path_;
	Delivery &delivery_;
	Writer writer_;
	EventSourcePtr source_;
	bool scheduled_ = false;
	uint64_t lastUsec_ = 0;
};

} // namespace ipchub::bus
