#pragma once

#include <map>
#include <memory>
#include <string>

#include <sdbus-c++/sdbus-c++.h>

#include "context.hpp"
#include "object_path.hpp"

namespace ipchub::bus {

// The adaptors of one kind of object, by object path: one per core object while the
// core keeps it, retired (not destroyed inside the call that removed it) after.
template <typename Object, typename Adaptor>
class Published
{
public:
	explicit Published(const char *kind) : kind_(kind) {}

	sdbus::ObjectPath publish(sdbus::IConnection &connection, const Context &context,
				  const std::shared_ptr<Object> &object)
	{
		std::string path = objectPath(kind_, object->id());
		if (!entries_.contains(path))
			entries_.emplace(path, Entry{object, std::make_shared<Adaptor>(
								     connection, path, object, context)});
		return sdbus::ObjectPath(std::move(path));
	}

	void retire(EventLoop &loop, const core::ObjectKey &id)
	{
		auto it = entries_.find(objectPath(kind_, id));
		if (it == entries_.end())
			return;
		loop.retire(std::move(it->second.adaptor));
		entries_.erase(it);
	}

	// The object's visible state changed: its adaptor, if it has one, tells.
	void changed(const core::ObjectKey &id) const
	{
		auto it = entries_.find(objectPath(kind_, id));
		if (it != entries_.end())
			it->second.adaptor->changed();
	}

	// The object published at path, or nullptr.
	std::shared_ptr<Object> find(const std::string &path) const
	{
		auto it = entries_.find(path);
		return it == entries_.end() ? nullptr : it->second.object;
	}

	void clear() { entries_.clear(); }

private:
	struct Entry {
		std::shared_ptr<Object> object;
		std::shared_ptr<Adaptor> adaptor;
	};

	const char *kind_;
	std::map<std::string, Entry> entries_;
};

} // namespace ipchub::bus
