// SPDX-License-Identifier: LGPL-2.1-or-later
#include "limit_table.hpp"

#include <array>

#include "snapshot_size.hpp"

namespace ipchub::core {

namespace {

constexpr LimitInfo count(const char *name, uint32_t Limits::*field, LimitScope scope,
			  const char *description)
{
	return {name, field, nullptr, scope, true, false, 0, description};
}

constexpr LimitInfo bytes(const char *name, uint64_t Limits::*field, LimitScope scope,
			  const char *description)
{
	return {name, nullptr, field, scope, true, false, 0, description};
}

constexpr LimitInfo keyLength()
{
	LimitInfo limit =
		count("key_length", &Limits::keyLength, LimitScope::Object, "bytes of a key");
	limit.option = false;
	return limit;
}

constexpr LimitInfo descriptorReserve()
{
	LimitInfo limit = count("descriptor_reserve", &Limits::descriptorReserve,
				LimitScope::Service,
				"descriptors kept free below the limit: no call may take them");
	limit.zeroAllowed = true;
	return limit;
}

constexpr LimitInfo stateBytes()
{
	LimitInfo limit = bytes("state_bytes", &Limits::stateBytes, LimitScope::Service,
				"saved state of all persistent objects (at most 128M)");
	// Half of what a restart reads back, so the records' overhead always fits.
	limit.max = kMaxStateBytes / 2;
	return limit;
}

constexpr LimitInfo fastUnitsMax()
{
	LimitInfo limit = count("fast_units_max", &Limits::fastUnitsMax, LimitScope::Object,
				"units of a fast semaphore, its max (at most 65536)");
	// Each unit is a word of the page (fast::kMaxUnits).
	limit.max = 65536;
	return limit;
}

constexpr LimitInfo fastWaitsTotal()
{
	LimitInfo limit = count("fast_waits_total", &Limits::fastWaitsTotal, LimitScope::Service,
				"words of fast objects the service waits on at once for "
				"bus-path callers");
	limit.option = false;
	return limit;
}

using enum LimitScope;

constexpr std::array kTable{
	keyLength(),
	count("objects_per_connection", &Limits::objectsPerConnection, Connection,
	      "objects one connection may reference"),
	count("waits_per_connection", &Limits::waitsPerConnection, Connection,
	      "waits one connection may queue"),
	count("waiters_per_object", &Limits::waitersPerObject, Object,
	      "waits queued on one object"),
	bytes("segment_size", &Limits::segmentSize, Object, "largest shared-memory segment"),
	bytes("bytes_per_connection", &Limits::bytesPerConnection, Connection,
	      "shared memory one connection may create"),
	count("interested_peers_per_object", &Limits::interestedPeersPerObject, Object,
	      "peers told of one object's changes, and watchers"),
	count("interests_per_connection", &Limits::interestsPerConnection, Connection,
	      "objects one connection is told of"),
	count("unread_signals_per_connection", &Limits::unreadSignalsPerConnection, Connection,
	      "signals one connection may leave unread before its changes are held back"),
	count("grants_per_connection", &Limits::grantsPerConnection, Connection,
	      "lock grants one connection may hold"),
	count("grants_total", &Limits::grantsTotal, Service, "lock grants of all connections"),
	count("handles_per_connection", &Limits::handlesPerConnection, Connection,
	      "lock handles one connection may hold"),
	count("handles_total", &Limits::handlesTotal, Service, "lock handles of all connections"),
	descriptorReserve(),
	fastUnitsMax(),
	count("fd_store_max", &Limits::fdStoreMax, Service,
	      "descriptors the service manager keeps for ipchubd: its "
	      "FileDescriptorStoreMax=; $FDSTORE, where systemd sets it, wins"),
	count("objects_per_uid", &Limits::objectsPerUid, Account,
	      "objects a user's host connections may reference together"),
	count("objects_per_app", &Limits::objectsPerApp, Account,
	      "objects one app id's connections may reference together"),
	count("waits_per_uid", &Limits::waitsPerUid, Account,
	      "waits a user's host connections may queue together"),
	count("waits_per_app", &Limits::waitsPerApp, Account,
	      "waits one app id's connections may queue together"),
	count("grants_per_uid", &Limits::grantsPerUid, Account,
	      "lock grants a user's host connections may hold together"),
	count("grants_per_app", &Limits::grantsPerApp, Account,
	      "lock grants one app id's connections may hold together"),
	bytes("bytes_per_uid", &Limits::bytesPerUid, Account,
	      "shared memory a user's host connections may create together"),
	bytes("bytes_per_app", &Limits::bytesPerApp, Account,
	      "shared memory one app id's connections may create together"),
	count("persistent_objects_per_uid", &Limits::persistentObjectsPerUid, Account,
	      "persistent objects a user's host connections may keep"),
	count("persistent_objects_per_app", &Limits::persistentObjectsPerApp, Account,
	      "persistent objects one app id may keep"),
	bytes("persistent_bytes_per_uid", &Limits::persistentBytesPerUid, Account,
	      "saved state and segment bytes of a user's host persistent objects"),
	bytes("persistent_bytes_per_app", &Limits::persistentBytesPerApp, Account,
	      "saved state and segment bytes of one app id's persistent objects"),
	stateBytes(),
	fastWaitsTotal(),
};

} // namespace

std::span<const LimitInfo> limitTable()
{
	return kTable;
}

uint64_t limitValue(const Limits &limits, const LimitInfo &limit)
{
	return limit.bytes ? limits.*limit.bytes : limits.*limit.count;
}

void setLimit(Limits &limits, const LimitInfo &limit, uint64_t value)
{
	if (limit.bytes)
		limits.*limit.bytes = value;
	else
		limits.*limit.count = static_cast<uint32_t>(value);
}

std::string limitOption(const LimitInfo &limit)
{
	std::string option = limit.name;
	for (char &c : option)
		if (c == '_')
			c = '-';
	return option;
}

} // namespace ipchub::core
