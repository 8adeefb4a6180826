// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <map>
#include <unordered_map>

#include "account.hpp"
#include "client.hpp"
#include "limits.hpp"

namespace ipchub::core {

// What each connection uses of the per-connection limits (objects it references,
// waits it has queued, bytes of shared memory it created), and what each account
// uses of the totals across connections: the same, the lock grants its connections
// hold, and its persistent objects, which stay charged after their creator left.
class Quota
{
public:
	explicit Quota(const Limits &limits) : limits_(limits) {}

	const Limits &limits() const { return limits_; }

	// From now on client's use counts against account. A client never enrolled
	// counts against Account{}.
	void enroll(const ClientId &client, const Account &account);
	// The client left the bus: its account is forgotten once it uses nothing.
	void forget(const ClientId &client);
	Account accountOf(const ClientId &client) const;

	Result<void> takeObject(const ClientId &client);
	void returnObject(const ClientId &client);
	Result<void> takeWait(const ClientId &client);
	void returnWait(const ClientId &client);
	Result<void> takeBytes(const ClientId &client, uint64_t bytes);
	void returnBytes(const ClientId &client, uint64_t bytes);
	// LimitExceeded when client's account holds as many lock grants as it may.
	Result<void> checkGrant(const ClientId &client) const;
	void addGrant(const ClientId &client);
	void returnGrant(const ClientId &client);

	// A persistent object of account: stateBytes in the saved state, sharedMemoryBytes of
	// shared memory. LimitExceeded past the account's persistent limits or the state
	// limit of all accounts together.
	Result<void> takePersistent(const Account &account, uint64_t stateBytes,
				    uint64_t sharedMemoryBytes);
	// Restoring: charged whatever the limits, so lowered limits lose no state.
	void chargePersistent(const Account &account, uint64_t stateBytes,
			      uint64_t sharedMemoryBytes);
	void returnPersistent(const Account &account, uint64_t stateBytes,
			      uint64_t sharedMemoryBytes);

	uint32_t objects(const ClientId &client) const;
	// Whether the client references, waits on or created anything.
	bool inUse(const ClientId &client) const;
	uint32_t waits(const ClientId &client) const;
	// The lock grants client holds (the one count of them per connection).
	uint32_t grants(const ClientId &client) const;

	// What an account uses of the totals.
	struct Totals {
		uint32_t objects = 0;
		uint32_t waits = 0;
		uint32_t grants = 0;
		uint64_t bytes = 0;
		uint32_t persistentObjects = 0;
		uint64_t persistentBytes = 0;
	};
	Totals totals(const Account &account) const;
	uint64_t stateBytes() const { return stateBytes_; }

private:
	struct Usage {
		Account account;
		// Enrolled and on the bus: kept while it uses nothing.
		bool present = false;
		uint32_t objects = 0;
		uint32_t waits = 0;
		uint64_t bytes = 0;
		uint32_t grants = 0;
		bool unused() const
		{
			return objects == 0 && waits == 0 && bytes == 0 && grants == 0;
		}
	};

	// One kind of use counted per connection and per account: its counters, its
	// limits, and the words of a refusal.
	template <typename T>
	struct Use {
		T Usage::*connection;
		T Totals::*account;
		T Limits::*perConnection;
		T Limits::*perUid;
		T Limits::*perApp;
		// The limits are <name>_per_connection, <name>_per_uid, <name>_per_app.
		const char *name;
		// What a count is of ("objects"), and the verbs that say a connection and an
		// account's connections have it ("references", "reference").
		const char *unit;
		const char *connectionVerb;
		const char *accountVerb;
		// Whether a refusal names the amount asked for (bytes: any amount at once).
		bool namesAmount;
	};
	static const Use<uint32_t> kObjects;
	static const Use<uint32_t> kWaits;
	static const Use<uint64_t> kBytes;

	// Takes amount of use for client: refused past its connection's or its account's
	// limit, naming the limit.
	template <typename T>
	Result<void> take(const ClientId &client, const Use<T> &use, T amount);
	// Gives back up to amount of what client took.
	template <typename T>
	void give(const ClientId &client, T Usage::*connection, T Totals::*account, T amount);

	Usage &usageOf(const ClientId &client);
	Totals &totalsOf(const Account &account) { return totals_[account]; }
	void dropIfUnused(const ClientId &client);
	void dropIfUnused(const Account &account);

	Limits limits_;
	std::unordered_map<ClientId, Usage> usage_;
	std::map<Account, Totals> totals_;
	uint64_t stateBytes_ = 0;
};

} // namespace ipchub::core
