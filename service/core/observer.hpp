// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <algorithm>
#include <vector>

#include "client.hpp"
#include "common/object_kind.hpp"
#include "key.hpp"

namespace ipchub::core {

using ipchub::ObjectKind;

// What the core tells the service of its objects, by name. The hub keeps a list of
// observers (Observers) and tells every one of them, in the order they were added, so
// a second subscriber (the bus adaptors, the persistent state) adds to the first
// instead of replacing it. Each method has an empty default: an observer overrides
// what it follows.
class Observer
{
public:
	virtual ~Observer() = default;

	// An object was taken in, created or restored.
	virtual void added(ObjectKind, const ObjectKey &, bool /*persistent*/) {}
	// An object was let go (its waits have ended): it is not found any more.
	virtual void removed(ObjectKind, const ObjectKey &) {}
	// The table changed for the object: it was added or removed, or a connection took
	// or dropped a reference to it.
	virtual void referencesChanged(ObjectKind, const ObjectKey &) {}
	// What clients see of the object changed: its value, holders or waiters.
	virtual void changed(ObjectKind, const ObjectKey &) {}
	// What a snapshot keeps of the object changed. tellsClient: a client is told of
	// the change right after (its grant or its release), so the change must be
	// persisted first; otherwise it may be persisted later.
	virtual void stateChanged(ObjectKind, const ObjectKey &, bool /*tellsClient*/) {}
};

// The observers of a hub. An observer removes itself before it goes.
class Observers
{
public:
	void add(Observer &observer) { observers_.push_back(&observer); }
	void remove(Observer &observer) { std::erase(observers_, &observer); }

	void added(ObjectKind kind, const ObjectKey &id, bool persistent) const
	{
		for (auto *observer : observers_)
			observer->added(kind, id, persistent);
	}
	void removed(ObjectKind kind, const ObjectKey &id) const
	{
		for (auto *observer : observers_)
			observer->removed(kind, id);
	}
	void referencesChanged(ObjectKind kind, const ObjectKey &id) const
	{
		for (auto *observer : observers_)
			observer->referencesChanged(kind, id);
	}
	void changed(ObjectKind kind, const ObjectKey &id) const
	{
		for (auto *observer : observers_)
			observer->changed(kind, id);
	}
	void stateChanged(ObjectKind kind, const ObjectKey &id, bool tellsClient) const
	{
		for (auto *observer : observers_)
			observer->stateChanged(kind, id, tellsClient);
	}

private:
	std::vector<Observer *> observers_;
};

// What an object tells the one table that keeps it (set when the table takes it in,
// cleared when it lets it go); the table passes changes on to the hub's observers.
class ObjectEvents
{
public:
	// client asked the object for something it may keep (units, a grant, a wait, an
	// attachment): its departure visits the object.
	virtual void touched(const ObjectKey &id, const ClientId &client) = 0;
	// See Observer::changed and Observer::stateChanged.
	virtual void changed(const ObjectKey &id) = 0;
	virtual void stateChanged(const ObjectKey &id, bool tellsClient) = 0;

protected:
	~ObjectEvents() = default;
};

} // namespace ipchub::core
