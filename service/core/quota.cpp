#include "quota.hpp"

#include <string>

namespace ipchub::core {

Result<void> Quota::takeObject(const ClientId &client)
{
	auto &usage = usage_[client];
	if (usage.objects >= limits_.objectsPerConnection) {
		// Read before dropIfUnused, which may erase usage.
		const uint32_t objects = usage.objects;
		dropIfUnused(client);
		return fail(ErrorCode::LimitExceeded,
			    "connection " + client + " already references " +
				    std::to_string(objects) +
				    " objects; objects_per_connection is " +
				    std::to_string(limits_.objectsPerConnection));
	}
	++usage.objects;
	return {};
}

void Quota::returnObject(const ClientId &client)
{
	auto it = usage_.find(client);
	if (it == usage_.end() || it->second.objects == 0)
		return;
	--it->second.objects;
	dropIfUnused(client);
}

Result<void> Quota::takeWait(const ClientId &client)
{
	auto &usage = usage_[client];
	if (usage.waits >= limits_.waitsPerConnection) {
		const uint32_t waits = usage.waits;
		dropIfUnused(client);
		return fail(ErrorCode::LimitExceeded,
			    "connection " + client + " already has " + std::to_string(waits) +
				    " waits queued; waits_per_connection is " +
				    std::to_string(limits_.waitsPerConnection));
	}
	++usage.waits;
	return {};
}

void Quota::returnWait(const ClientId &client)
{
	auto it = usage_.find(client);
	if (it == usage_.end() || it->second.waits == 0)
		return;
	--it->second.waits;
	dropIfUnused(client);
}

Result<void> Quota::takeBytes(const ClientId &client, uint64_t bytes)
{
	auto &usage = usage_[client];
	if (bytes > limits_.bytesPerConnection ||
	    usage.bytes > limits_.bytesPerConnection - bytes) {
		const uint64_t had = usage.bytes;
		dropIfUnused(client);
		return fail(ErrorCode::LimitExceeded,
			    "connection " + client + " already has " + std::to_string(had) +
				    " bytes of shared memory; " + std::to_string(bytes) +
				    " more would pass bytes_per_connection " +
				    std::to_string(limits_.bytesPerConnection));
	}
	usage.bytes += bytes;
	return {};
}

void Quota::returnBytes(const ClientId &client, uint64_t bytes)
{
	auto it = usage_.find(client);
	if (it == usage_.end())
		return;
	it->second.bytes -= std::min(bytes, it->second.bytes);
	dropIfUnused(client);
}

uint32_t Quota::objects(const ClientId &client) const
{
	auto it = usage_.find(client);
	return it == usage_.end() ? 0 : it->second.objects;
}

uint32_t Quota::waits(const ClientId &client) const
{
	auto it = usage_.find(client);
	return it == usage_.end() ? 0 : it->second.waits;
}

void Quota::dropIfUnused(const ClientId &client)
{
	auto it = usage_.find(client);
	if (it != usage_.end() && it->second.objects == 0 && it->second.waits == 0 &&
	    it->second.bytes == 0)
		usage_.erase(it);
}

} // namespace ipchub::core
