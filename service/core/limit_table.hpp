// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "limits.hpp"

namespace ipchub::core {

// What one limit bounds: one object, one connection, one account (a user's host
// connections together, or one sandboxed app id's), or the whole service.
enum class LimitScope {
	Object,
	Connection,
	Account,
	Service
};

// One row of the table of limits, from which ipchubd's command line options and the
// Manager's Limits property are made. The default is the initializer of its field in
// Limits (limits.hpp). tests/limits checks the documentation against this table.
struct LimitInfo {
	// Its key in the Limits property; with '-' for '_', ipchubd's option.
	const char *name;
	// The field of Limits that holds it: a count (u on the bus) or a size (t, bytes;
	// K, M and G suffixes on the command line). Exactly one is set.
	uint32_t Limits::*count;
	uint64_t Limits::*bytes;
	LimitScope scope;
	// Whether the command line sets it (the key length is the contract's).
	bool option;
	// Whether 0 is a value (a reserve of none); every other limit is at least 1.
	bool zeroAllowed;
	// The most the option takes, below what its type holds; 0: no other bound.
	uint64_t max;
	// What it bounds, as --help says it.
	const char *description;
};

std::span<const LimitInfo> limitTable();

uint64_t limitValue(const Limits &limits, const LimitInfo &limit);
void setLimit(Limits &limits, const LimitInfo &limit, uint64_t value);
// The option's name: the property's key with '-' for '_'.
std::string limitOption(const LimitInfo &limit);

} // namespace ipchub::core
