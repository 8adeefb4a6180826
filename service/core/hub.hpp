// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include "common/object_kind.hpp"
#include "fast_owners.hpp"
#include "grant_quota.hpp"
#include "limits.hpp"
#include "lock.hpp"
#include "object_table.hpp"
#include "observer.hpp"
#include "quota.hpp"
#include "semaphore.hpp"
#include "shared_memory.hpp"
#include "store_budget.hpp"

namespace ipchub::core {

// All of the service's state: the limits, what each connection uses, and the
// objects of every kind.
class Hub
{
public:
	explicit Hub(const Limits &limits)
		: quota(limits), grants(limits, quota),
		  semaphores(quota, std::string(common::namesOf(ObjectKind::Semaphore).noun), observers),
		  segments(quota, std::string(common::namesOf(ObjectKind::SharedMemory).noun), observers),
		  locks(quota, std::string(common::namesOf(ObjectKind::Lock).noun), observers),
		  storeBudget(limits.fdStoreMax)
	{
	}

	const Limits &limits() const { return quota.limits(); }
	bool empty() const
	{
		return semaphores.size() == 0 && segments.size() == 0 && locks.size() == 0;
	}

	// The client left the bus: it loses what it held, and nobody else loses anything.
	void dropClient(const ClientId &client)
	{
		semaphores.dropClient(client);
		segments.dropClient(client);
		locks.dropClient(client);
		// Its words on every page it used were recovered above: its id may go.
		fastOwners.release(client);
		quota.forget(client);
	}

	// Who is told of the objects' changes: the bus adaptors, the persistent state.
	Observers observers;
	// The owner ids of the connections that use fast objects. Before the tables: their
	// objects' pages refer to it.
	FastOwners fastOwners;
	Quota quota;
	GrantQuota grants;
	ObjectTable<Semaphore> semaphores;
	ObjectTable<SharedMemory> segments;
	ObjectTable<Lock> locks;
	// What persistent segments and handles may still put in the fd store.
	StoreBudget storeBudget;
};

} // namespace ipchub::core
