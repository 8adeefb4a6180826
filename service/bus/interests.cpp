// SPDX-License-Identifier: LGPL-2.1-or-later
#include "interests.hpp"

namespace ipchub::bus {

void Interests::addObject(const std::string &path, const core::ObjectInfo &info)
{
	objects_.insert_or_assign(path, Object{&info, {}});
}

void Interests::removeObject(const std::string &path)
{
	auto it = objects_.find(path);
	if (it == objects_.end())
		return;
	for (const auto &name : it->second.peers) {
		auto member = members_.find(name);
		if (member == members_.end())
			continue;
		member->second.objects.erase(path);
		dropIfIdle(name);
	}
	objects_.erase(it);
}

Interests::Member &Interests::member(const Peer &peer)
{
	auto [it, added] = members_.try_emplace(peer.name);
	if (added)
		it->second.appId = peer.appId;
	return it->second;
}

void Interests::dropIfIdle(const std::string &name)
{
	auto it = members_.find(name);
	if (it != members_.end() && it->second.count() == 0)
		members_.erase(it);
}

bool Interests::join(const std::string &path, const Peer &peer)
{
	auto object = objects_.find(path);
	if (object == objects_.end())
		return false;
	if (object->second.peers.contains(peer.name))
		return true;
	const core::ObjectInfo &info = *object->second.info;
	if (!core::access::mayUse(peer.appId, info) ||
	    object->second.peers.size() >= limits_.interestedPeersPerObject)
		return false;
	Member &joining = member(peer);
	if (joining.count() >= limits_.interestsPerConnection) {
		dropIfIdle(peer.name);
		return false;
	}
	joining.objects.insert(path);
	object->second.peers.insert(peer.name);
	return true;
}

bool Interests::watch(const Peer &peer)
{
	if (watchers_.contains(peer.name))
		return true;
	if (watchers_.size() >= limits_.interestedPeersPerObject)
		return false;
	Member &watching = member(peer);
	if (watching.count() >= limits_.interestsPerConnection) {
		dropIfIdle(peer.name);
		return false;
	}
	watching.watching = true;
	watchers_.insert(peer.name);
	return true;
}

void Interests::unwatch(const std::string &name)
{
	if (!watchers_.erase(name))
		return;
	if (auto it = members_.find(name); it != members_.end())
		it->second.watching = false;
	dropIfIdle(name);
}

void Interests::forget(const std::string &name)
{
	auto it = members_.find(name);
	if (it == members_.end())
		return;
	// What the peer was in, not every object: a departure costs what it had.
	for (const auto &path : it->second.objects)
		if (auto object = objects_.find(path); object != objects_.end())
			object->second.peers.erase(name);
	watchers_.erase(name);
	members_.erase(it);
}

bool Interests::tells(const std::string &path, const std::string &name) const
{
	auto object = objects_.find(path);
	if (object == objects_.end())
		return false;
	if (object->second.peers.contains(name))
		return true;
	if (!watchers_.contains(name))
		return false;
	auto member = members_.find(name);
	const core::ObjectInfo &info = *object->second.info;
	return member != members_.end() && core::access::mayUse(member->second.appId, info);
}

size_t Interests::peersOf(const std::string &path) const
{
	auto it = objects_.find(path);
	return it == objects_.end() ? 0 : it->second.peers.size();
}

size_t Interests::interestsOf(const std::string &name) const
{
	auto it = members_.find(name);
	return it == members_.end() ? 0 : it->second.count();
}

} // namespace ipchub::bus
