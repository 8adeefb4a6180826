#pragma once

#include <cstdint>
#include <unordered_map>

#include "client.hpp"
#include "limits.hpp"

namespace ipchub::core {

// What each connection uses of the per-connection limits: objects it references,
// waits it has queued, bytes of shared memory it created.
class Quota
{
public:
	explicit Quota(const Limits &limits) : limits_(limits) {}

	const Limits &limits() const { return limits_; }

	Result<void> takeObject(const ClientId &client);
	void returnObject(const ClientId &client);
	Result<void> takeWait(const ClientId &client);
	void returnWait(const ClientId &client);
	Result<void> takeBytes(const ClientId &client, uint64_t bytes);
	void returnBytes(const ClientId &client, uint64_t bytes);

	uint32_t objects(const ClientId &client) const;
	// Whether the client references, waits on or created anything.
	bool inUse(const ClientId &client) const { return usage_.contains(client); }
	uint32_t waits(const ClientId &client) const;

private:
	struct Usage {
		uint32_t objects = 0;
		uint32_t waits = 0;
		uint64_t bytes = 0;
	};

	void dropIfUnused(const ClientId &client);

	Limits limits_;
	std::unordered_map<ClientId, Usage> usage_;
};

} // namespace ipchub::core
