// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <string>
#include <unordered_map>
#include <unordered_set>

#include "core/access.hpp"
#include "core/key.hpp"
#include "core/limits.hpp"
#include "peers.hpp"

namespace ipchub::bus {

// Who is told of each object's changes. A peer is told of an object it may see once
// it has shown interest in it: read its properties (Get, GetAll), introspected it,
// created or opened it. A watcher (it called GetManagedObjects, as an object manager
// client does) is told of every object it may see, and of objects coming and going.
// Every set is bounded, so no client can make a change cost O(all peers):
//   - at most interestedPeersPerObject peers per object, and as many watchers;
//   - at most interestsPerConnection objects per peer, watching counting as one.
// Past a bound the peer is silently not added: its call succeeds as before, and it is
// told nothing of that object (it reads the properties when it needs them). A change
// costs the object's own peers and the watchers, never every peer on the bus.
class Interests
{
public:
	explicit Interests(const core::Limits &limits) : limits_(limits) {}

	// The object published at path, described by info (which must outlive it here).
	void addObject(const std::string &path, const core::ObjectInfo &info);
	void removeObject(const std::string &path);

	// peer showed interest in the object at path. False when no object is there, peer
	// may not see it, or a bound is reached.
	bool join(const std::string &path, const Peer &peer);
	// peer called GetManagedObjects. False when the watchers are at their bound.
	bool watch(const Peer &peer);
	// peer is told of no object but those it showed interest in.
	void unwatch(const std::string &name);
	// peer left the bus: it is told of nothing more.
	void forget(const std::string &name);

	// Whether name is to be told of the object at path now.
	bool tells(const std::string &path, const std::string &name) const;

	// Calls f(name) for each peer to tell of the object at path: the peers interested
	// in it, then the watchers not among them that may see it.
	template <typename F>
	void forEachRecipient(const std::string &path, const F &f) const
	{
		auto it = objects_.find(path);
		if (it == objects_.end())
			return;
		for (const auto &name : it->second.peers)
			f(name);
		forEachWatcher(*it->second.info, [&](const std::string &name) {
			if (!it->second.peers.contains(name))
				f(name);
		});
	}

	// Calls f(name) for each watcher that may see the object described by info.
	template <typename F>
	void forEachWatcher(const core::ObjectInfo &info, const F &f) const
	{
		for (const auto &name : watchers_) {
			auto member = members_.find(name);
			if (member != members_.end() &&
			    core::access::mayUse(member->second.appId, info))
				f(name);
		}
	}

	// How many peers are told of the object at path (watchers aside), and how many
	// objects name is told of (watching counting as one).
	size_t peersOf(const std::string &path) const;
	size_t interestsOf(const std::string &name) const;

private:
	struct Object {
		const core::ObjectInfo *info;
		std::unordered_set<std::string> peers;
	};
	struct Member {
		std::string appId;
		std::unordered_set<std::string> objects;
		bool watching = false;
		size_t count() const { return objects.size() + (watching ? 1 : 0); }
	};

	Member &member(const Peer &peer);
	void dropIfIdle(const std::string &name);

	const core::Limits &limits_;
	std::unordered_map<std::string, Object> objects_;
	std::unordered_map<std::string, Member> members_;
	std::unordered_set<std::string> watchers_;
};

} // namespace ipchub::bus
