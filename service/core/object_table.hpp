#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "client.hpp"
#include "key.hpp"
#include "quota.hpp"

namespace ipchub::core {

// The objects of one kind, by scope and key, with the connections that reference
// each. An object goes when its last reference goes, unless it is persistent; Remove
// ends it regardless. Object must provide:
//   void dropClient(const ClientId &, bool closing);  // give back what the client holds
//   void end(const Error &);                          // fail every queued wait
template <typename Object>
class ObjectTable
{
public:
	using Ptr = std::shared_ptr<Object>;
	// Told of every object just before the table lets it go.
	using RemovedHandler = std::function<void(const Ptr &)>;

	ObjectTable(Quota &quota, std::string kind) : quota_(quota), kind_(std::move(kind)) {}

	void setRemovedHandler(RemovedHandler handler) { removed_ = std::move(handler); }
	// Told of every object the table takes in (created or restored), with whether
	// it is persistent.
	void setAddedHandler(std::function<void(const Ptr &, bool persistent)> handler)
	{
		added_ = std::move(handler);
	}
	// Told after every change of the table itself: an object added or removed, a
	// reference taken or dropped; with the key of the object concerned.
	void setTableChangedHandler(std::function<void(const ObjectKey &)> handler)
	{
		tableChanged_ = std::move(handler);
	}

	Ptr find(const ObjectKey &id) const
	{
		auto it = entries_.find(id);
		return it == entries_.end() ? nullptr : it->second.object;
	}

	size_t size() const { return entries_.size(); }

	bool persistent(const ObjectKey &id) const
	{
		auto it = entries_.find(id);
		return it != entries_.end() && it->second.persistent;
	}

	// The connections that reference the object.
	std::set<ClientId> referencedBy(const ObjectKey &id) const
	{
		auto it = entries_.find(id);
		return it == entries_.end() ? std::set<ClientId>{} : it->second.refs;
	}

	// Restoring a snapshot: takes in a persistent object as it was, referenced by
	// refs (those still on the bus). A reference past the objects limit is dropped.
	void adopt(Ptr object, const std::set<ClientId> &refs)
	{
		const ObjectKey id = object->id();
		if (entries_.contains(id))
			return;
		Entry entry{object, {}, true};
		for (const auto &client : refs)
			if (quota_.takeObject(client))
				entry.refs.insert(client);
		entries_.emplace(id, std::move(entry));
		if (added_)
			added_(object, true);
		changed(id);
	}

	bool references(const ObjectKey &id, const ClientId &client) const
	{
		auto it = entries_.find(id);
		return it != entries_.end() && it->second.refs.contains(client);
	}

	// Adds an object made by make(), referenced by client. With openExisting an
	// existing object is opened instead of failing with AlreadyExists.
	Result<Ptr> create(const ClientId &client, const ObjectKey &id, bool openExisting,
			   bool persistent, const std::function<Result<Ptr>()> &make)
	{
		if (entries_.contains(id)) {
			if (openExisting)
				return open(client, id);
			return fail(ErrorCode::AlreadyExists, describe(id) + " already exists");
		}
		if (auto taken = quota_.takeObject(client); !taken)
			return detail::Unexpected<Error>(taken.error());
		auto made = make();
		if (!made) {
			quota_.returnObject(client);
			return made;
		}
		entries_.emplace(id, Entry{*made, {client}, persistent});
		if (added_)
			added_(*made, persistent);
		changed(id);
		return *made;
	}

	Result<Ptr> open(const ClientId &client, const ObjectKey &id)
	{
		auto it = entries_.find(id);
		if (it == entries_.end())
			return fail(ErrorCode::NotFound, describe(id) + " does not exist");
		if (!it->second.refs.contains(client)) {
			if (auto taken = quota_.takeObject(client); !taken)
				return detail::Unexpected<Error>(taken.error());
			it->second.refs.insert(client);
			changed(id);
		}
		return it->second.object;
	}

	// Drops client's reference and what it holds; removes the object if that was
	// the last reference of a non-persistent object.
	void close(const ClientId &client, const ObjectKey &id)
	{
		auto it = entries_.find(id);
		if (it == entries_.end())
			return;
		auto object = it->second.object;
		object->dropClient(client, true);
		dropReference(it, client);
	}

	Result<void> remove(const ObjectKey &id)
	{
		auto it = entries_.find(id);
		if (it == entries_.end())
			return fail(ErrorCode::NotFound, describe(id) + " does not exist");
		erase(it);
		return {};
	}

	// The client left the bus: everything it held or queued comes back.
	void dropClient(const ClientId &client)
	{
		std::vector<Ptr> objects;
		for (auto &[id, entry] : entries_)
			objects.push_back(entry.object);
		for (auto &object : objects) {
			object->dropClient(client, false);
			auto it = entries_.find(object->id());
			if (it != entries_.end() && it->second.object == object)
				dropReference(it, client);
		}
	}

	std::vector<Ptr> objects() const
	{
		std::vector<Ptr> all;
		for (auto &[id, entry] : entries_)
			all.push_back(entry.object);
		return all;
	}

	std::string describe(const ObjectKey &id) const
	{
		std::string text = kind_ + " \"" + id.key + "\"";
		if (!id.scope.empty())
			text += " in scope " + id.scope;
		return text;
	}

private:
	struct Entry {
		Ptr object;
		std::set<ClientId> refs;
		bool persistent;
	};
	using Iterator = typename std::map<ObjectKey, Entry>::iterator;

	void dropReference(Iterator it, const ClientId &client)
	{
		if (it->second.refs.erase(client)) {
			quota_.returnObject(client);
			changed(it->first);
		}
		if (it->second.refs.empty() && !it->second.persistent)
			erase(it);
	}

	void changed(const ObjectKey &id)
	{
		if (tableChanged_)
			tableChanged_(id);
	}

	void erase(Iterator it)
	{
		auto object = std::move(it->second.object);
		for (const auto &client : it->second.refs)
			quota_.returnObject(client);
		entries_.erase(it);
		object->end(Error{ErrorCode::Cancelled, describe(object->id()) + " was removed"});
		if (removed_)
			removed_(object);
		changed(object->id());
	}

	Quota &quota_;
	std::string kind_;
	std::map<ObjectKey, Entry> entries_;
	RemovedHandler removed_;
	std::function<void(const Ptr &, bool)> added_;
	std::function<void(const ObjectKey &)> tableChanged_;
};

} // namespace ipchub::core
