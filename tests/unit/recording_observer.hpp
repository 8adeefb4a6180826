// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <string>
#include <vector>

#include "core/observer.hpp"

namespace ipchub::core {

// Counts what an object tells its table (ObjectEvents), for tests of one object alone.
struct CountingEvents final : ObjectEvents {
	void touched(const ObjectKey &, const ClientId &client) override
	{
		touchedBy.push_back(client);
	}
	void changed(const ObjectKey &) override { ++changes; }
	void stateChanged(const ObjectKey &, bool) override { ++stateChanges; }

	int changes = 0;
	int stateChanges = 0;
	std::vector<ClientId> touchedBy;
};

// Notes the keys observers are told of.
struct RecordingObserver final : Observer {
	void added(ObjectKind, const ObjectKey &id, bool) override { added_.push_back(id.key); }
	void removed(ObjectKind, const ObjectKey &id) override { removed_.push_back(id.key); }
	void changed(ObjectKind, const ObjectKey &id) override { changed_.push_back(id.key); }
	void stateChanged(ObjectKind, const ObjectKey &id, bool) override
	{
		state_.push_back(id.key);
	}

	std::vector<std::string> added_, removed_, changed_, state_;
};

} // namespace ipchub::core
