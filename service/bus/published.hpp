// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <sdbus-c++/sdbus-c++.h>

#include "common/object_path.hpp"
#include "context.hpp"

namespace ipchub::bus {

// The adaptors of one kind of object: one per core object while the core keeps it,
// retired (not destroyed inside the call that removed it) after. Found by key for the
// core's changes (without escaping the key into a path on every change) and by path
// for Remove.
//
// Each object is an sdbus-c++ object of its own (its generated adaptor, vtables and
// slots), not one sd_bus_add_fallback_vtable with a find callback and a node
// enumerator (logind's shape). Measured with 10,000 objects on a private bus: ipchubd
// grows 7.7 KiB per semaphore and 8.1 KiB per lock, of which the core's objects are
// 0.67 KiB; the rest is the bus side, mostly sdbus-c++'s per-object registration. The
// Acquire+Release pair / bare pair ratio (interleaved) is 1.12-1.14 for both kinds on a
// loaded machine, as before the access and observer changes; sd-bus finds an object by
// path in a hash table either way, so a fallback vtable would change memory, not a
// call's cost. Kept for now: the generated adaptors
// are the interface XML's code, and a fallback vtable means hand-written vtables of
// three interfaces and taking over what sd-bus answers by itself (Introspect, the
// ObjectManager's listing), which PathGuard and Interests rely on. Its cost is bounded
// by objects_per_uid and objects_per_app (65,536 objects: about 500 MiB): the next
// step if memory per object matters.
template <typename Object, typename Adaptor>
class Published
{
public:
	explicit Published(ObjectKind kind) : kind_(kind) {}

	sdbus::ObjectPath publish(sdbus::IConnection &connection, const Context &context,
				  const std::shared_ptr<Object> &object)
	{
		auto it = entries_.find(object->id());
		if (it == entries_.end()) {
			std::string path = pathOf(object->id());
			auto adaptor = std::make_shared<Adaptor>(connection, path, object, context);
			it = entries_.emplace(object->id(),
					      Entry{object, std::move(adaptor), std::move(path)})
				     .first;
			byPath_.emplace(it->second.path, it);
		}
		return sdbus::ObjectPath(it->second.path);
	}

	void retire(EventLoop &loop, const core::ObjectKey &id)
	{
		auto it = entries_.find(id);
		if (it == entries_.end())
			return;
		loop.retire(std::move(it->second.adaptor));
		byPath_.erase(it->second.path);
		entries_.erase(it);
	}

	// The object's visible state changed: its adaptor, if it has one, tells.
	void changed(const core::ObjectKey &id) const
	{
		auto it = entries_.find(id);
		if (it != entries_.end())
			it->second.adaptor->changed();
	}

	// The object published at path, or nullptr.
	std::shared_ptr<Object> find(const std::string &path) const
	{
		auto it = byPath_.find(path);
		return it == byPath_.end() ? nullptr : it->second->second.object;
	}

	void clear()
	{
		byPath_.clear();
		entries_.clear();
	}

private:
	struct Entry {
		std::shared_ptr<Object> object;
		std::shared_ptr<Adaptor> adaptor;
		std::string path;
	};
	using Entries = std::map<core::ObjectKey, Entry>;

	std::string pathOf(const core::ObjectKey &id) const
	{
		return common::objectPath(kind_, id.scope, id.key);
	}

	ObjectKind kind_;
	Entries entries_;
	// Views of the entries' paths: map nodes stay where they are.
	std::map<std::string_view, typename Entries::iterator, std::less<>> byPath_;
};

} // namespace ipchub::bus
