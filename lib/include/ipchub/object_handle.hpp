// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <memory>
#include <string>

#include <ipchub/result.hpp>

namespace ipchub::detail {

class Session;

// What Semaphore, Lock and SharedMemory share: the connection, the object's path and
// proxy, and the one way their reference ends (Close), from close(), a move-assignment
// over a live object or the destructor.
template <typename Proxy>
class ObjectHandle
{
public:
	// The object path, /io/github/ipchub1/<kind>/...
	const std::string &path() const { return path_; }

protected:
	ObjectHandle(std::shared_ptr<Session> session, std::string path);
	ObjectHandle(ObjectHandle &&other) noexcept;
	// Closes this object first.
	ObjectHandle &operator=(ObjectHandle &&other) noexcept;
	~ObjectHandle();
	ObjectHandle(const ObjectHandle &) = delete;
	ObjectHandle &operator=(const ObjectHandle &) = delete;

	// Drops this connection's reference (Close) and the proxy; nothing when closed.
	Result<void> closeObject();

	std::shared_ptr<Session> session_;
	std::string path_;
	std::shared_ptr<Proxy> proxy_;
};

} // namespace ipchub::detail
