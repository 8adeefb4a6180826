// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "client.hpp"
#include "key.hpp"
#include "observer.hpp"
#include "quota.hpp"
#include "snapshot_size.hpp"

namespace ipchub::core {

// The objects of one kind, by scope and key, with the connections that reference
// each. An object goes when its last reference goes, unless it is persistent; Remove
// ends it regardless. A persistent object counts against its creator's account
// (Quota::takePersistent) until it ends. Object must provide:
//   static constexpr ObjectKind kKind;                // what observers are told it is
//   void dropClient(const ClientId &, bool closing);  // give back what the client holds
//   void end(const Error &);                          // fail every queued wait
//   void setEvents(ObjectEvents *);                   // tells the table of its changes
// The table knows which objects each client references or touched, so a client that
// leaves costs what it used, not a visit of every object. It tells observers of the
// objects it takes in and lets go, of references taken and dropped, and passes on
// what its objects tell it of their changes.
template <typename Object>
class ObjectTable final : private ObjectEvents
{
public:
	using Ptr = std::shared_ptr<Object>;

	// observers must outlive the table.
	ObjectTable(Quota &quota, std::string kind, const Observers &observers)
		: quota_(quota), kind_(std::move(kind)), observers_(observers)
	{
	}
	ObjectTable(const ObjectTable &) = delete;
	ObjectTable &operator=(const ObjectTable &) = delete;

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

	// The persistent object's creator, whose account it counts against; nullopt
	// for an object that is not persistent.
	std::optional<Account> owner(const ObjectKey &id) const
	{
		auto it = entries_.find(id);
		if (it == entries_.end() || !it->second.charge)
			return std::nullopt;
		return it->second.charge->owner;
	}

	// Restoring a snapshot: takes in a persistent object of owner as it was,
	// referenced by refs (those still on the bus). A reference past the objects limit
	// is dropped. The object counts against owner whatever the limits: state kept
	// under larger limits is not lost.
	void adopt(Ptr object, const std::set<ClientId> &refs, const Account &owner)
	{
		const ObjectKey id = object->id();
		if (entries_.contains(id))
			return;
		Entry entry{object, {}, true, chargeOf(*object, owner)};
		quota_.chargePersistent(owner, entry.charge->stateBytes,
					entry.charge->sharedMemoryBytes);
		for (const auto &client : refs)
			if (quota_.takeObject(client)) {
				entry.refs.insert(client);
				involve(client, id);
			}
		object->setEvents(this);
		entries_.emplace(id, std::move(entry));
		observers_.added(Object::kKind, id, true);
		tableChanged(id);
	}

	// Notes that client keeps something of the object (restoring a snapshot).
	void involve(const ClientId &client, const ObjectKey &id) { touched_[client].insert(id); }

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
			return errorOf(taken);
		auto made = make();
		if (!made) {
			quota_.returnObject(client);
			return made;
		}
		std::optional<Charge> charge;
		if (persistent) {
			charge = chargeOf(**made, quota_.accountOf(client));
			if (auto taken = quota_.takePersistent(charge->owner, charge->stateBytes,
							       charge->sharedMemoryBytes);
			    !taken) {
				quota_.returnObject(client);
				return errorOf(taken);
			}
		}
		(*made)->setEvents(this);
		involve(client, id);
		entries_.emplace(id, Entry{*made, {client}, persistent, std::move(charge)});
		observers_.added(Object::kKind, id, persistent);
		tableChanged(id);
		return *made;
	}

	Result<Ptr> open(const ClientId &client, const ObjectKey &id)
	{
		auto it = entries_.find(id);
		if (it == entries_.end())
			return fail(ErrorCode::NotFound, describe(id) + " does not exist");
		if (!it->second.refs.contains(client)) {
			if (auto taken = quota_.takeObject(client); !taken)
				return errorOf(taken);
			it->second.refs.insert(client);
			involve(client, id);
			tableChanged(id);
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
		untouch(client, id);
		it = entries_.find(id);
		if (it != entries_.end() && it->second.object == object)
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

	// The client left the bus: everything it held or queued comes back. Only the
	// objects it referenced or touched are visited.
	void dropClient(const ClientId &client)
	{
		auto touched = touched_.extract(client);
		if (touched.empty())
			return;
		std::vector<Ptr> objects;
		for (const auto &id : touched.mapped())
			if (auto it = entries_.find(id); it != entries_.end())
				objects.push_back(it->second.object);
		for (auto &object : objects) {
			object->dropClient(client, false);
			auto it = entries_.find(object->id());
			if (it != entries_.end() && it->second.object == object)
				dropReference(it, client);
		}
	}

	// How many clients the departure index knows of (for tests).
	size_t touchingClients() const { return touched_.size(); }

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
	// What a persistent object costs its creator's account.
	struct Charge {
		Account owner;
		uint64_t stateBytes = 0;
		uint64_t sharedMemoryBytes = 0;
	};
	struct Entry {
		Ptr object;
		std::set<ClientId> refs;
		bool persistent;
		std::optional<Charge> charge;
	};

	static Charge chargeOf(const Object &object, const Account &owner)
	{
		uint64_t sharedMemoryBytes = 0;
		if constexpr (requires { object.size(); })
			sharedMemoryBytes = object.size();
		return {owner, savedBytes(object.info()), sharedMemoryBytes};
	}

	void touched(const ObjectKey &id, const ClientId &client) override { involve(client, id); }
	void changed(const ObjectKey &id) override { observers_.changed(Object::kKind, id); }
	void stateChanged(const ObjectKey &id, bool tellsClient) override
	{
		observers_.stateChanged(Object::kKind, id, tellsClient);
	}

	void untouch(const ClientId &client, const ObjectKey &id)
	{
		auto it = touched_.find(client);
		if (it == touched_.end())
			return;
		it->second.erase(id);
		if (it->second.empty())
			touched_.erase(it);
	}
	using Iterator = typename std::map<ObjectKey, Entry>::iterator;

	void dropReference(Iterator it, const ClientId &client)
	{
		if (it->second.refs.erase(client)) {
			quota_.returnObject(client);
			tableChanged(it->first);
		}
		if (it->second.refs.empty() && !it->second.persistent)
			erase(it);
	}

	void tableChanged(const ObjectKey &id) { observers_.referencesChanged(Object::kKind, id); }

	void erase(Iterator it)
	{
		auto object = std::move(it->second.object);
		for (const auto &client : it->second.refs) {
			quota_.returnObject(client);
			untouch(client, object->id());
		}
		if (const auto &charge = it->second.charge)
			quota_.returnPersistent(charge->owner, charge->stateBytes,
						charge->sharedMemoryBytes);
		entries_.erase(it);
		object->setEvents(nullptr);
		object->end(Error{ErrorCode::Cancelled, describe(object->id()) + " was removed"});
		observers_.removed(Object::kKind, object->id());
		tableChanged(object->id());
	}

	Quota &quota_;
	std::string kind_;
	std::map<ObjectKey, Entry> entries_;
	// The objects each client references or touched; an object it no longer touches
	// may stay listed until it leaves (visiting it then gives back nothing).
	std::unordered_map<ClientId, std::set<ObjectKey>> touched_;
	const Observers &observers_;
};

} // namespace ipchub::core
