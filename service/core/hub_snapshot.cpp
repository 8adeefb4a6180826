// SPDX-License-Identifier: LGPL-2.1-or-later
#include "hub_snapshot.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace ipchub::core {

namespace {

std::vector<ClientId> toVector(const std::set<ClientId> &clients)
{
	return {clients.begin(), clients.end()};
}

std::set<ClientId> present(const std::vector<ClientId> &clients, const RestoreHooks &hooks)
{
	std::set<ClientId> kept;
	for (const auto &client : clients)
		if (hooks.isPresent(client))
			kept.insert(client);
	return kept;
}

void restoreSemaphore(Hub &hub, const SemaphoreRecord &record, const RestoreHooks &hooks)
{
	// Units of holders that left while the service was away come back, but never
	// past max (as when a holder leaves).
	uint64_t value = record.value;
	for (const auto &[client, units] : record.holders)
		if (record.returnOnExit && !hooks.isPresent(client))
			value += units;
	const auto initial = static_cast<uint32_t>(std::min<uint64_t>(value, record.max));
	// A fast semaphore gets a new page: free words for its value and for the units of
	// the holders still here, which take theirs again under their (new) owner ids.
	std::unique_ptr<FastSemaphore> page;
	if (record.fast) {
		uint64_t held = 0;
		for (const auto &[client, units] : record.holders)
			if (hooks.isPresent(client))
				held += units;
		auto made = FastSemaphore::create(
			"ipchub-fast-semaphore", record.max,
			static_cast<uint32_t>(std::min<uint64_t>(initial + held, record.max)),
			!record.returnOnExit, hub.fastOwners);
		if (made)
			page = std::move(*made);
	}
	const bool fast = page != nullptr;
	auto semaphore =
		std::make_shared<Semaphore>(record.info, initial,
					    SemaphoreOptions{record.max, record.returnOnExit, fast},
					    hub.quota, std::move(page));
	hub.semaphores.adopt(semaphore, present(record.refs, hooks), record.owner);
	for (const auto &[client, units] : record.holders)
		if (hooks.isPresent(client)) {
			if (fast)
				(void)semaphore->fast()->take(client, units);
			else
				semaphore->restoreHolder(client, units);
			hub.semaphores.involve(client, record.info.id);
		}
}

// Adds to problems the handle ends that did not come back.
void restoreLock(Hub &hub, const LockRecord &record, const RestoreHooks &hooks,
		 std::vector<std::string> &problems)
{
	// A fast lock gets a new page, its token counter where the tokens were.
	std::unique_ptr<FastLock> page;
	if (record.fast)
		if (auto made =
			    FastLock::create("ipchub-fast-lock", record.lastToken, hub.fastOwners))
			page = std::move(*made);
	auto lock = std::make_shared<Lock>(record.info, hub.quota, &hub.grants, std::move(page));
	std::vector<LockGrant> grants;
	// A handle whose end was not handed back is held by its unique name alone.
	std::map<uint64_t, UniqueFd> handleEnds;
	for (const auto &grant : record.grants) {
		if (!hooks.isPresent(grant.holder.client))
			continue;
		grants.push_back(grant);
		const auto name = record.handleFdNames.find(grant.token);
		if (name == record.handleFdNames.end())
			continue;
		if (UniqueFd end = hooks.takeFd(name->second))
			handleEnds.emplace(grant.token, std::move(end));
		else
			problems.push_back(hub.locks.describe(record.info.id) +
					   ": the end of handle grant " +
					   std::to_string(grant.token) + ", " + name->second +
					   ", was not handed back; the grant is held by " +
					   grant.holder.client + " alone");
	}
	lock->restore(record.lastToken, std::move(grants), std::move(handleEnds));
	hub.locks.adopt(lock, present(record.refs, hooks), record.owner);
	for (const auto &[token, grant] : lock->grants())
		hub.locks.involve(grant.holder.client, record.info.id);
	if (hooks.handleRestored)
		for (const auto &[token, end] : lock->handleEnds())
			hooks.handleRestored(*lock, token, record.handleFdNames.at(token));
}

std::optional<std::string> restoreSharedMemory(Hub &hub, const SharedMemoryRecord &record,
					       const RestoreHooks &hooks)
{
	const std::string what = hub.sharedMemories.describe(record.info.id);
	UniqueFd memfd = hooks.takeFd(record.fdName);
	if (!memfd)
		return what + ": its memfd " + record.fdName + " was not handed back; dropped";
	const ClientId creator = hooks.isPresent(record.creator) ? record.creator : ClientId{};
	auto sharedMemory = SharedMemory::restore(record.info, record.size, record.sealed,
						  std::move(memfd), creator, hub.quota);
	if (!sharedMemory)
		return what + ": " + sharedMemory.error().message + "; dropped";
	hub.sharedMemories.adopt(*sharedMemory, present(record.refs, hooks), record.owner);
	for (const auto &client : record.attached)
		if (hooks.isPresent(client)) {
			(*sharedMemory)->restoreAttachment(client);
			hub.sharedMemories.involve(client, record.info.id);
		}
	if (record.lockHolder && hooks.isPresent(*record.lockHolder)) {
		(*sharedMemory)->lock().restoreHolder(*record.lockHolder);
		hub.sharedMemories.involve(*record.lockHolder, record.info.id);
	}
	if (hooks.sharedMemoryRestored)
		hooks.sharedMemoryRestored(**sharedMemory, record.fdName);
	return std::nullopt;
}

} // namespace

SemaphoreRecord captureSemaphore(const Hub &hub, const Semaphore &semaphore)
{
	return {semaphore.info(),	   hub.semaphores.owner(semaphore.id()).value_or(Account{}),
		semaphore.value(),	   semaphore.max(),
		semaphore.returnsOnExit(), toVector(hub.semaphores.referencedBy(semaphore.id())),
		semaphore.holders(),	   semaphore.fast() != nullptr};
}

LockRecord captureLock(const Hub &hub, const Lock &lock, const FdNames &fdNames)
{
	LockRecord record{lock.info(),	hub.locks.owner(lock.id()).value_or(Account{}),
			  lock.token(), toVector(hub.locks.referencedBy(lock.id())),
			  {},		{}};
	record.fast = lock.fast() != nullptr;
	for (const auto &[token, grant] : lock.grants())
		record.grants.push_back(grant);
	if (fdNames.handle)
		for (const auto &[token, end] : lock.handleEnds())
			if (auto name = fdNames.handle(lock, token); !name.empty())
				record.handleFdNames.emplace(token, std::move(name));
	return record;
}

SharedMemoryRecord captureSharedMemory(const Hub &hub, const SharedMemory &sharedMemory,
				       const FdNames &fdNames)
{
	return {sharedMemory.info(),
		hub.sharedMemories.owner(sharedMemory.id()).value_or(Account{}),
		sharedMemory.size(),
		sharedMemory.sealed(),
		fdNames.sharedMemory(sharedMemory),
		sharedMemory.creator(),
		toVector(hub.sharedMemories.referencedBy(sharedMemory.id())),
		toVector(sharedMemory.attached()),
		sharedMemory.lock().holder()};
}

Snapshot captureSnapshot(const Hub &hub, const FdNames &fdNames)
{
	Snapshot snapshot;
	for (const auto &semaphore : hub.semaphores.objects())
		if (hub.semaphores.persistent(semaphore->id()))
			snapshot.semaphores.push_back(captureSemaphore(hub, *semaphore));
	for (const auto &lock : hub.locks.objects())
		if (hub.locks.persistent(lock->id()))
			snapshot.locks.push_back(captureLock(hub, *lock, fdNames));
	for (const auto &sharedMemory : hub.sharedMemories.objects())
		if (hub.sharedMemories.persistent(sharedMemory->id()) && sharedMemory->memfd())
			snapshot.sharedMemories.push_back(
				captureSharedMemory(hub, *sharedMemory, fdNames));
	return snapshot;
}

std::vector<std::string> restoreSnapshot(Hub &hub, const Snapshot &snapshot,
					 const RestoreHooks &hooks)
{
	std::vector<std::string> problems;
	auto exists = [&](auto &table, const ObjectInfo &info) {
		if (!table.find(info.id))
			return false;
		problems.push_back(table.describe(info.id) + " is in the snapshot twice; " +
				   "the second is dropped");
		return true;
	};
	for (const auto &record : snapshot.semaphores)
		if (!exists(hub.semaphores, record.info))
			restoreSemaphore(hub, record, hooks);
	for (const auto &record : snapshot.locks)
		if (!exists(hub.locks, record.info))
			restoreLock(hub, record, hooks, problems);
	for (const auto &record : snapshot.sharedMemories)
		if (!exists(hub.sharedMemories, record.info))
			if (auto problem = restoreSharedMemory(hub, record, hooks))
				problems.push_back(*problem);
	return problems;
}

} // namespace ipchub::core
