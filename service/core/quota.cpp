// SPDX-License-Identifier: LGPL-2.1-or-later
#include "quota.hpp"

#include <algorithm>
#include <optional>
#include <string>

namespace ipchub::core {

namespace {

// The limit of the account's kind with its name: objects_per_uid or objects_per_app.
template <typename T>
std::pair<T, std::string> limitOf(const Account &account, T perUid, T perApp,
				  const std::string &what)
{
	return account.host() ? std::pair{perUid, what + "_per_uid"}
			      : std::pair{perApp, what + "_per_app"};
}

Error accountError(const Account &account, const std::string &has, const std::string &limit,
		   uint64_t value)
{
	return Error{ErrorCode::LimitExceeded, describe(account) + "'s connections together " +
						       has + "; " + limit + " is " +
						       std::to_string(value)};
}

template <typename T>
void lower(T &counter, T by = 1)
{
	counter -= std::min(counter, by);
}

} // namespace

Quota::Usage &Quota::usageOf(const ClientId &client)
{
	return usage_[client];
}

void Quota::enroll(const ClientId &client, const Account &account)
{
	auto &usage = usageOf(client);
	usage.present = true;
	if (usage.account == account)
		return;
	// Use taken before the client was known (a restored reference) moves along.
	auto &from = totalsOf(usage.account);
	auto &to = totalsOf(account);
	lower(from.objects, usage.objects);
	lower(from.waits, usage.waits);
	lower(from.grants, usage.grants);
	lower(from.bytes, usage.bytes);
	to.objects += usage.objects;
	to.waits += usage.waits;
	to.grants += usage.grants;
	to.bytes += usage.bytes;
	const Account old = usage.account;
	usage.account = account;
	dropIfUnused(old);
	dropIfUnused(account);
}

void Quota::forget(const ClientId &client)
{
	auto it = usage_.find(client);
	if (it == usage_.end())
		return;
	it->second.present = false;
	dropIfUnused(client);
}

Account Quota::accountOf(const ClientId &client) const
{
	auto it = usage_.find(client);
	return it == usage_.end() ? Account{} : it->second.account;
}

const Quota::Use<uint32_t> Quota::kObjects{&Usage::objects,
					   &Totals::objects,
					   &Limits::objectsPerConnection,
					   &Limits::objectsPerUid,
					   &Limits::objectsPerApp,
					   "objects",
					   "objects",
					   "references",
					   "reference",
					   false};
const Quota::Use<uint32_t> Quota::kWaits{&Usage::waits,
					 &Totals::waits,
					 &Limits::waitsPerConnection,
					 &Limits::waitsPerUid,
					 &Limits::waitsPerApp,
					 "waits",
					 "waits queued",
					 "has",
					 "have",
					 false};
const Quota::Use<uint64_t> Quota::kBytes{&Usage::bytes,
					 &Totals::bytes,
					 &Limits::bytesPerConnection,
					 &Limits::bytesPerUid,
					 &Limits::bytesPerApp,
					 "bytes",
					 "bytes of shared memory",
					 "has",
					 "have",
					 true};

template <typename T>
Result<void> Quota::take(const ClientId &client, const Use<T> &use, T amount)
{
	auto &usage = usageOf(client);
	// usage may be erased by dropIfUnused: the messages use copies.
	const T had = usage.*use.connection;
	const T connectionLimit = limits_.*use.perConnection;
	const std::string name = use.name;
	const std::string more =
		use.namesAmount ? "; " + std::to_string(amount) + " more would pass " : "";
	if (amount > connectionLimit || had > connectionLimit - amount) {
		dropIfUnused(client);
		return fail(ErrorCode::LimitExceeded,
			    "connection " + client + " already " + use.connectionVerb + " " +
				    std::to_string(had) + " " + use.unit +
				    (use.namesAmount ? more + name + "_per_connection "
						     : "; " + name + "_per_connection is ") +
				    std::to_string(connectionLimit));
	}
	const Account account = usage.account;
	auto &totals = totalsOf(account);
	const auto [limit, limitName] =
		limitOf(account, limits_.*use.perUid, limits_.*use.perApp, name);
	if (amount > limit || totals.*use.account > limit - amount) {
		const T together = totals.*use.account;
		dropIfUnused(client);
		dropIfUnused(account);
		return detail::Unexpected<Error>(
			accountError(account,
				     std::string(use.accountVerb) + " " + std::to_string(together) +
					     " " + use.unit + (use.namesAmount ? more + "it" : ""),
				     limitName, limit));
	}
	usage.*use.connection += amount;
	totals.*use.account += amount;
	return {};
}

template <typename T>
void Quota::give(const ClientId &client, T Usage::*connection, T Totals::*account, T amount)
{
	auto it = usage_.find(client);
	if (it == usage_.end())
		return;
	const T returned = std::min(amount, it->second.*connection);
	it->second.*connection -= returned;
	lower(totalsOf(it->second.account).*account, returned);
	dropIfUnused(it->second.account);
	dropIfUnused(client);
}

Result<void> Quota::takeObject(const ClientId &client)
{
	return take(client, kObjects, uint32_t{1});
}

void Quota::returnObject(const ClientId &client)
{
	give(client, &Usage::objects, &Totals::objects, uint32_t{1});
}

Result<void> Quota::takeWait(const ClientId &client)
{
	return take(client, kWaits, uint32_t{1});
}

void Quota::returnWait(const ClientId &client)
{
	give(client, &Usage::waits, &Totals::waits, uint32_t{1});
}

Result<void> Quota::takeBytes(const ClientId &client, uint64_t bytes)
{
	return take(client, kBytes, bytes);
}

void Quota::returnBytes(const ClientId &client, uint64_t bytes)
{
	give(client, &Usage::bytes, &Totals::bytes, bytes);
}

Result<void> Quota::checkGrant(const ClientId &client) const
{
	const Account account = accountOf(client);
	const auto [limit, name] =
		limitOf(account, limits_.grantsPerUid, limits_.grantsPerApp, "grants");
	auto it = totals_.find(account);
	const uint32_t grants = it == totals_.end() ? 0 : it->second.grants;
	if (grants >= limit)
		return detail::Unexpected<Error>(
			accountError(account, "hold " + std::to_string(grants) + " lock grants",
				     name, limit));
	return {};
}

void Quota::addGrant(const ClientId &client)
{
	auto &usage = usageOf(client);
	++usage.grants;
	++totalsOf(usage.account).grants;
}

void Quota::returnGrant(const ClientId &client)
{
	give(client, &Usage::grants, &Totals::grants, uint32_t{1});
}

Result<void> Quota::takePersistent(const Account &account, uint64_t stateBytes,
				   uint64_t sharedMemoryBytes)
{
	auto &totals = totalsOf(account);
	const Totals had = totals;
	const auto [objects, objectsName] = limitOf(account, limits_.persistentObjectsPerUid,
						    limits_.persistentObjectsPerApp,
						    "persistent_objects");
	const auto [bytes, bytesName] = limitOf(account, limits_.persistentBytesPerUid,
						limits_.persistentBytesPerApp, "persistent_bytes");
	const uint64_t more = stateBytes + sharedMemoryBytes;
	std::optional<Error> refusal;
	if (had.persistentObjects >= objects)
		refusal = accountError(account,
				       "have " + std::to_string(had.persistentObjects) +
					       " persistent objects",
				       objectsName, objects);
	else if (more > bytes || had.persistentBytes > bytes - more)
		refusal = accountError(account,
				       "have " + std::to_string(had.persistentBytes) +
					       " bytes of persistent objects; " +
					       std::to_string(more) + " more would pass it",
				       bytesName, bytes);
	else if (stateBytes > limits_.stateBytes || stateBytes_ > limits_.stateBytes - stateBytes)
		refusal =
			Error{ErrorCode::LimitExceeded,
			      "the saved state of every persistent object is " +
				      std::to_string(stateBytes_) + " bytes; " +
				      std::to_string(stateBytes) + " more would pass state_bytes " +
				      std::to_string(limits_.stateBytes)};
	if (refusal) {
		dropIfUnused(account);
		return detail::Unexpected<Error>(std::move(*refusal));
	}
	chargePersistent(account, stateBytes, sharedMemoryBytes);
	return {};
}

void Quota::chargePersistent(const Account &account, uint64_t stateBytes,
			     uint64_t sharedMemoryBytes)
{
	auto &totals = totalsOf(account);
	++totals.persistentObjects;
	totals.persistentBytes += stateBytes + sharedMemoryBytes;
	stateBytes_ += stateBytes;
}

void Quota::returnPersistent(const Account &account, uint64_t stateBytes,
			     uint64_t sharedMemoryBytes)
{
	auto it = totals_.find(account);
	if (it != totals_.end()) {
		lower(it->second.persistentObjects);
		lower(it->second.persistentBytes, stateBytes + sharedMemoryBytes);
		dropIfUnused(account);
	}
	lower(stateBytes_, stateBytes);
}

uint32_t Quota::objects(const ClientId &client) const
{
	auto it = usage_.find(client);
	return it == usage_.end() ? 0 : it->second.objects;
}

bool Quota::inUse(const ClientId &client) const
{
	auto it = usage_.find(client);
	return it != usage_.end() && !it->second.unused();
}

uint32_t Quota::waits(const ClientId &client) const
{
	auto it = usage_.find(client);
	return it == usage_.end() ? 0 : it->second.waits;
}

uint32_t Quota::grants(const ClientId &client) const
{
	auto it = usage_.find(client);
	return it == usage_.end() ? 0 : it->second.grants;
}

Quota::Totals Quota::totals(const Account &account) const
{
	auto it = totals_.find(account);
	return it == totals_.end() ? Totals{} : it->second;
}

void Quota::dropIfUnused(const ClientId &client)
{
	auto it = usage_.find(client);
	if (it != usage_.end() && !it->second.present && it->second.unused())
		usage_.erase(it);
}

void Quota::dropIfUnused(const Account &account)
{
	auto it = totals_.find(account);
	if (it == totals_.end())
		return;
	const Totals &t = it->second;
	if (t.objects == 0 && t.waits == 0 && t.grants == 0 && t.bytes == 0 &&
	    t.persistentObjects == 0 && t.persistentBytes == 0)
		totals_.erase(it);
}

} // namespace ipchub::core
