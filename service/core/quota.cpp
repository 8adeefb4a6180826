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

Result<void> Quota::takeObject(const ClientId &client)
{
	auto &usage = usageOf(client);
	const uint32_t objects = usage.objects;
	if (objects >= limits_.objectsPerConnection) {
		// usage may be erased by dropIfUnused: the message uses the copies.
		dropIfUnused(client);
		return fail(ErrorCode::LimitExceeded,
			    "connection " + client + " already references " +
				    std::to_string(objects) +
				    " objects; objects_per_connection is " +
				    std::to_string(limits_.objectsPerConnection));
	}
	const Account account = usage.account;
	auto &totals = totalsOf(account);
	const auto [limit, name] =
		limitOf(account, limits_.objectsPerUid, limits_.objectsPerApp, "objects");
	if (totals.objects >= limit) {
		const uint32_t had = totals.objects;
		dropIfUnused(client);
		dropIfUnused(account);
		return detail::Unexpected<Error>(
			accountError(account, "reference " + std::to_string(had) + " objects", name,
				     limit));
	}
	++usage.objects;
	++totals.objects;
	return {};
}

void Quota::returnObject(const ClientId &client)
{
	auto it = usage_.find(client);
	if (it == usage_.end() || it->second.objects == 0)
		return;
	--it->second.objects;
	lower(totalsOf(it->second.account).objects);
	dropIfUnused(it->second.account);
	dropIfUnused(client);
}

Result<void> Quota::takeWait(const ClientId &client)
{
	auto &usage = usageOf(client);
	const uint32_t waits = usage.waits;
	if (waits >= limits_.waitsPerConnection) {
		dropIfUnused(client);
		return fail(ErrorCode::LimitExceeded,
			    "connection " + client + " already has " + std::to_string(waits) +
				    " waits queued; waits_per_connection is " +
				    std::to_string(limits_.waitsPerConnection));
	}
	const Account account = usage.account;
	auto &totals = totalsOf(account);
	const auto [limit, name] =
		limitOf(account, limits_.waitsPerUid, limits_.waitsPerApp, "waits");
	if (totals.waits >= limit) {
		const uint32_t had = totals.waits;
		dropIfUnused(client);
		dropIfUnused(account);
		return detail::Unexpected<Error>(
			accountError(account, "have " + std::to_string(had) + " waits queued", name,
				     limit));
	}
	++usage.waits;
	++totals.waits;
	return {};
}

void Quota::returnWait(const ClientId &client)
{
	auto it = usage_.find(client);
	if (it == usage_.end() || it->second.waits == 0)
		return;
	--it->second.waits;
	lower(totalsOf(it->second.account).waits);
	dropIfUnused(it->second.account);
	dropIfUnused(client);
}

Result<void> Quota::takeBytes(const ClientId &client, uint64_t bytes)
{
	auto &usage = usageOf(client);
	const uint64_t had = usage.bytes;
	if (bytes > limits_.bytesPerConnection || had > limits_.bytesPerConnection - bytes) {
		dropIfUnused(client);
		return fail(ErrorCode::LimitExceeded,
			    "connection " + client + " already has " + std::to_string(had) +
				    " bytes of shared memory; " + std::to_string(bytes) +
				    " more would pass bytes_per_connection " +
				    std::to_string(limits_.bytesPerConnection));
	}
	const Account account = usage.account;
	auto &totals = totalsOf(account);
	const auto [limit, name] =
		limitOf(account, limits_.bytesPerUid, limits_.bytesPerApp, "bytes");
	if (bytes > limit || totals.bytes > limit - bytes) {
		const uint64_t together = totals.bytes;
		dropIfUnused(client);
		dropIfUnused(account);
		return detail::Unexpected<Error>(accountError(account,
							      "have " + std::to_string(together) +
								      " bytes of shared memory; " +
								      std::to_string(bytes) +
								      " more would pass it",
							      name, limit));
	}
	usage.bytes += bytes;
	totals.bytes += bytes;
	return {};
}

void Quota::returnBytes(const ClientId &client, uint64_t bytes)
{
	auto it = usage_.find(client);
	if (it == usage_.end())
		return;
	const uint64_t returned = std::min(bytes, it->second.bytes);
	it->second.bytes -= returned;
	lower(totalsOf(it->second.account).bytes, returned);
	dropIfUnused(it->second.account);
	dropIfUnused(client);
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
	auto it = usage_.find(client);
	if (it == usage_.end() || it->second.grants == 0)
		return;
	--it->second.grants;
	lower(totalsOf(it->second.account).grants);
	dropIfUnused(it->second.account);
	dropIfUnused(client);
}

Result<void> Quota::takePersistent(const Account &account, uint64_t stateBytes,
				   uint64_t segmentBytes)
{
	auto &totals = totalsOf(account);
	const Totals had = totals;
	const auto [objects, objectsName] = limitOf(account, limits_.persistentObjectsPerUid,
						    limits_.persistentObjectsPerApp,
						    "persistent_objects");
	const auto [bytes, bytesName] = limitOf(account, limits_.persistentBytesPerUid,
						limits_.persistentBytesPerApp, "persistent_bytes");
	const uint64_t more = stateBytes + segmentBytes;
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
	chargePersistent(account, stateBytes, segmentBytes);
	return {};
}

void Quota::chargePersistent(const Account &account, uint64_t stateBytes, uint64_t segmentBytes)
{
	auto &totals = totalsOf(account);
	++totals.persistentObjects;
	totals.persistentBytes += stateBytes + segmentBytes;
	stateBytes_ += stateBytes;
}

void Quota::returnPersistent(const Account &account, uint64_t stateBytes, uint64_t segmentBytes)
{
	auto it = totals_.find(account);
	if (it != totals_.end()) {
		lower(it->second.persistentObjects);
		lower(it->second.persistentBytes, stateBytes + segmentBytes);
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
