// SPDX-License-Identifier: LGPL-2.1-or-later
// Hostile and buggy callers: wrong option types, unknown options, counts, sizes and
// timeouts at the edges of their types, bytes that are not UTF-8 sent raw, and a
// connection at its limits. ipchubd must answer each with the right error naming the
// argument, never crash, hang or wrap, and keep serving everyone else.

#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>

#include <gmock/gmock.h>

#include "bus_fixture.hpp"
#include "raw_socket.hpp"

namespace ipchub::test {
namespace {

using ::testing::HasSubstr;
using HostileInputTest = IpchubTest;

constexpr const char *kManager = "io.github.ipchub1.Manager";

// Calls a Manager method on a raw connection; the D-Bus error (name: message) or "ok".
template <typename... Args>
std::string callManager(sdbus::IConnection &connection, const std::string &method, Args... args)
{
	auto proxy = sdbus::createProxy(connection, "io.github.ipchub1", "/io/github/ipchub1");
	try {
		proxy->callMethod(method).onInterface(kManager).withArguments(args...);
		return "ok";
	} catch (const sdbus::Error &e) {
		return e.getName() + ": " + e.getMessage();
	}
}

TEST_F(HostileInputTest, EveryOptionOfTheWrongTypeIsInvalidArgumentNamingIt)
{
	auto raw = sdbus::createSessionBusConnectionWithAddress(address());
	const std::map<std::string, std::string> types{
		{"open_existing", "b"},	 {"max", "u"},		 {"persistent", "b"},
		{"return_on_exit", "b"}, {"allowed_apps", "as"}, {"scope", "s"}};
	const std::vector<sdbus::Variant> values{sdbus::Variant(true),
						 sdbus::Variant(uint32_t{1}),
						 sdbus::Variant(int32_t{-1}),
						 sdbus::Variant(uint64_t{1}),
						 sdbus::Variant(std::string("x")),
						 sdbus::Variant(std::vector<std::string>{
							 "org.example.App"}),
						 sdbus::Variant(sdbus::Variant(true)),
						 sdbus::Variant(1.5)};
	int key = 0;
	for (const auto &[name, type] : types)
		for (const auto &value : values) {
			if (value.peekValueType() == type)
				continue;
			const std::map<std::string, sdbus::Variant> options{{name, value}};
			const std::string answer = callManager(*raw, "CreateSemaphore",
							       "k" + std::to_string(key++), 1u,
							       options);
			EXPECT_THAT(answer,
				    HasSubstr("io.github.ipchub1.Error.InvalidArgument: option " +
					      name + " is of type " + value.peekValueType() +
					      "; it must be " + type));
		}
	// Options a call does not take, on every Create and Open.
	const std::map<std::string, sdbus::Variant> unknown{{"max", sdbus::Variant(1u)}};
	EXPECT_THAT(callManager(*raw, "CreateLock", std::string("l"), unknown),
		    HasSubstr("InvalidArgument: unknown option \"max\""));
	EXPECT_THAT(
		callManager(*raw, "OpenSemaphore", std::string("s"),
			    std::map<std::string, sdbus::Variant>{
				    {"persistent", sdbus::Variant(true)}}),
		HasSubstr(
			"InvalidArgument: unknown option \"persistent\"; this call takes: scope"));
	EXPECT_THAT(callManager(*raw, "CreateSharedMemory", std::string("m"), uint64_t{64},
				std::map<std::string, sdbus::Variant>{{"", sdbus::Variant(true)}}),
		    HasSubstr("InvalidArgument: unknown option \"\""));
}

TEST_F(HostileInputTest, CountsSizesAndTimeoutsAtTheEdgesOfTheirTypes)
{
	auto raw = sdbus::createSessionBusConnectionWithAddress(address());
	const std::map<std::string, sdbus::Variant> none;
	EXPECT_THAT(callManager(*raw, "CreateSemaphore", std::string("over"), 5u,
				std::map<std::string, sdbus::Variant>{{"max", sdbus::Variant(4u)}}),
		    HasSubstr("InvalidArgument"));
	EXPECT_THAT(callManager(*raw, "CreateSharedMemory", std::string("huge"), UINT64_MAX, none),
		    HasSubstr("LimitExceeded"));
	EXPECT_THAT(callManager(*raw, "CreateSharedMemory", std::string("empty"), uint64_t{0},
				none),
		    HasSubstr("InvalidArgument"));
	EXPECT_THAT(callManager(*raw, "CreateSharedMemory", std::string("past"),
				(uint64_t{1} << 63) + 1, none),
		    HasSubstr("LimitExceeded"));

	auto client = connect();
	auto full = client.createSemaphore("full", UINT32_MAX);
	ASSERT_TRUE(full) << full.error().message;
	// More than is free, more than can ever be: no wrap, no grant.
	auto greedy = full->acquire(UINT32_MAX, 0us);
	EXPECT_TRUE(greedy) << greedy.error().message;
	auto release = full->release(UINT32_MAX);
	ASSERT_TRUE(release) << release.error().message;
	auto past = full->release(1);
	ASSERT_FALSE(past);
	EXPECT_EQ(past.error().code, ErrorCode::LimitExceeded) << past.error().message;
	EXPECT_EQ(full->value().value(), UINT32_MAX);

	// A counter released toward 2^32 stops there with LimitExceeded.
	auto counter = client.createSemaphore("counter", UINT32_MAX - 1);
	ASSERT_TRUE(counter);
	EXPECT_FALSE(counter->release(2));
	EXPECT_TRUE(counter->release(1));
	EXPECT_EQ(counter->value().value(), UINT32_MAX);

	// Timeouts one short of "no limit" wait, and are served.
	auto empty = client.createSemaphore("empty", 0);
	ASSERT_TRUE(empty);
	RawConnection waiter(address());
	auto waits = waiter.acquireAsync(empty->path(), 1, UINT64_MAX - 1);
	ASSERT_TRUE(waiter.waitFor([&] { return waiter.waiters(empty->path()) == 1; }));
	EXPECT_FALSE(waits->done);
	ASSERT_TRUE(empty->release(1));
	ASSERT_TRUE(waiter.waitFor([&] { return waits->done; }));
	EXPECT_EQ(waits->error, "") << waits->message;

	// Lock modes that are not modes, with the largest timeout.
	auto lock = client.createLock("lock");
	ASSERT_TRUE(lock);
	auto proxy = sdbus::createProxy(*raw, "io.github.ipchub1", lock->path());
	for (const std::string mode : {"", "Exclusive", "exclusive\n", "shared ", "reader"})
		try {
			proxy->callMethod("Acquire")
				.onInterface("io.github.ipchub1.Lock")
				.withArguments(mode, UINT64_MAX - 1);
			ADD_FAILURE() << "mode \"" << mode << "\" was granted";
		} catch (const sdbus::Error &e) {
			EXPECT_EQ(e.getName(), errorName("InvalidArgument")) << e.getMessage();
		}
}

TEST_F(HostileInputTest, KeysAtAndOverTheLimit)
{
	auto raw = sdbus::createSessionBusConnectionWithAddress(address());
	const std::map<std::string, sdbus::Variant> none;
	EXPECT_EQ(callManager(*raw, "CreateLock", std::string(255, 'k'), none), "ok");
	// 255 bytes of 4-byte characters is not a whole number of them: 252 is.
	std::string wide;
	for (int i = 0; i < 63; ++i)
		wide += "\xF0\x9F\x94\x92";
	EXPECT_EQ(callManager(*raw, "CreateLock", wide, none), "ok");
	EXPECT_THAT(callManager(*raw, "CreateLock", std::string(256, 'k'), none),
		    HasSubstr("InvalidKey: key is 256 bytes; at most 255"));
	EXPECT_THAT(callManager(*raw, "CreateLock", std::string(1 << 20, 'k'), none),
		    HasSubstr("InvalidKey: key is 1048576 bytes; at most 255"));
	EXPECT_THAT(callManager(*raw, "CreateLock", std::string(), none), HasSubstr("InvalidKey"));
	EXPECT_THAT(callManager(*raw, "CreateLock", std::string("k"),
				std::map<std::string, sdbus::Variant>{
					{"scope", sdbus::Variant(std::string(300, 's'))}}),
		    HasSubstr("InvalidArgument: option scope (300 bytes) is neither"));
	EXPECT_THAT(callManager(*raw, "OpenLock", std::string("k"),
				std::map<std::string, sdbus::Variant>{
					{"scope", sdbus::Variant(std::string("../etc"))}}),
		    HasSubstr("InvalidArgument: option scope"));
	EXPECT_THAT(callManager(*raw, "CreateLock", std::string("k2"),
				std::map<std::string, sdbus::Variant>{
					{"allowed_apps",
					 sdbus::Variant(std::vector<std::string>{"org.example.App",
										 "not an app"})}}),
		    HasSubstr("InvalidArgument: option allowed_apps: entry 1 is not an app id"));
	EXPECT_THAT(callManager(*raw, "CreateLock", std::string("k3"),
				std::map<std::string, sdbus::Variant>{
					{"allowed_apps", sdbus::Variant(std::vector<std::string>(
								 1000, "org.example.App"))}}),
		    HasSubstr("InvalidArgument: option allowed_apps lists 1000 apps; at most 256"));
}

TEST_F(HostileInputTest, InvalidUtf8SentRawNeverReachesIpchubd)
{
	RawSocket socket(address());
	socket.send(RawSocket::methodCall(1, "org.freedesktop.DBus", "/org/freedesktop/DBus",
					  "org.freedesktop.DBus", "Hello", "", ""));
	// The Hello reply and NameAcquired may come in one read or in two.
	std::string greeting;
	for (int reads = 0; reads < 10 && greeting.find("NameAcquired") == std::string::npos;
	     ++reads)
		greeting += socket.receive();
	ASSERT_THAT(greeting, HasSubstr("NameAcquired"));
	// CreateSemaphore("\xff\xfe", 1, {}): s, u, then an empty a{sv} (length, padding to 8).
	const std::string body = RawSocket::u32(2) + "\xff\xfe" + std::string(1, '\0') +
				 std::string(1, '\0') + RawSocket::u32(1) + RawSocket::u32(0);
	socket.send(RawSocket::methodCall(2, "io.github.ipchub1", "/io/github/ipchub1", kManager,
					  "CreateSemaphore", "sua{sv}", body));
	// dbus-daemon checks every string and drops the sender: no reply, no object.
	std::string answer;
	for (std::string chunk; !(chunk = socket.receive()).empty();)
		answer += chunk;
	EXPECT_THAT(answer, Not(HasSubstr("io.github.ipchub1.Error")));
	EXPECT_TRUE(nameOwned());
	auto client = connect();
	EXPECT_TRUE(client.createSemaphore("after", 1));
}

TEST_F(HostileInputTest, AConnectionAtItsWaitLimitDoesNotSlowTheOthers)
{
	ASSERT_EQ(stopDaemon(), 0);
	startDaemon({"--waits-per-connection=64"});
	auto client = connect();
	auto blocked = client.createSemaphore("blocked", 0);
	ASSERT_TRUE(blocked);
	RawConnection greedy(address());
	std::vector<std::shared_ptr<RawConnection::Reply>> waits;
	for (int i = 0; i < 64; ++i)
		waits.push_back(greedy.acquireAsync(blocked->path(), 1, UINT64_MAX));
	ASSERT_TRUE(greedy.waitFor([&] { return greedy.waiters(blocked->path()) == 64; }));
	auto over = greedy.acquireAsync(blocked->path(), 1, UINT64_MAX);
	ASSERT_TRUE(greedy.waitFor([&] { return over->done; }));
	EXPECT_EQ(over->error, errorName("LimitExceeded"));
	EXPECT_THAT(over->message, HasSubstr("64 waits queued; waits_per_connection is 64"));

	// Another connection meanwhile: created, acquired, released, at once.
	auto other = connect();
	const auto start = std::chrono::steady_clock::now();
	for (int i = 0; i < 20; ++i) {
		auto semaphore = other.createSemaphore("free-" + std::to_string(i), 1);
		ASSERT_TRUE(semaphore);
		ASSERT_TRUE(semaphore->acquire(1, 1s));
		ASSERT_TRUE(semaphore->release(1));
	}
	EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
	EXPECT_TRUE(std::ranges::none_of(waits, [](const auto &wait) { return wait->done; }));
}

TEST_F(HostileInputTest, AMessageTooLargeForIpchubdCostsOnlyItsSendersCall)
{
	RawSocket socket(address());
	ASSERT_THAT(socket.greet(), HasSubstr("NameAcquired"));

	// OpenSemaphore(s) with a key that makes the call 8 bytes short of 128 MiB, which
	// dbus-daemon takes; the sender's name it adds takes the call past what sd-bus
	// reads (less than 128 MiB).
	constexpr size_t kBusLargest = size_t{128} << 20;
	const auto call = [](uint32_t serial, const std::string &key) {
		return RawSocket::methodCall(serial, "io.github.ipchub1", "/io/github/ipchub1",
					     kManager, "OpenSemaphore", "s",
					     RawSocket::u32(static_cast<uint32_t>(key.size())) +
						     key + std::string(1, '\0'));
	};
	const size_t overhead = call(2, "").size();
	socket.send(call(2, std::string(kBusLargest - 8 - overhead, 'k')));
	// The call fails, naming its size and the limit.
	const std::string refusal = socket.receiveUntil("bytes\0");
	EXPECT_THAT(refusal, HasSubstr("io.github.ipchub1.Error.LimitExceeded"));
	EXPECT_THAT(refusal, HasSubstr("ipchubd reads messages of less than 134217728 bytes"));

	// The sender's next call is answered: ipchubd found the message after the dropped
	// one.
	socket.send(RawSocket::openSemaphore(3, "after-the-large-one"));
	const std::string answer = socket.receiveUntil("does not exist");
	EXPECT_THAT(answer, HasSubstr("semaphore \"after-the-large-one\""));
	// And everyone else is served.
	EXPECT_TRUE(nameOwned());
	auto client = connect();
	EXPECT_TRUE(client.createSemaphore("after", 1));
}

// Sends fd over socket (SCM_RIGHTS).
void sendDescriptor(int socket, int fd)
{
	char byte = 0;
	iovec part{&byte, 1};
	alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))]{};
	msghdr message{};
	message.msg_iov = &part;
	message.msg_iovlen = 1;
	message.msg_control = control;
	message.msg_controllen = sizeof control;
	cmsghdr *c = CMSG_FIRSTHDR(&message);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
	(void)!sendmsg(socket, &message, 0);
}

int receiveDescriptor(int socket)
{
	char byte = 0;
	iovec part{&byte, 1};
	alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))]{};
	msghdr message{};
	message.msg_iov = &part;
	message.msg_iovlen = 1;
	message.msg_control = control;
	message.msg_controllen = sizeof control;
	if (recvmsg(socket, &message, MSG_CMSG_CLOEXEC) <= 0 || !CMSG_FIRSTHDR(&message))
		return -1;
	int fd = -1;
	std::memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&message)), sizeof fd);
	return fd;
}

TEST_F(HostileInputTest, AConnectionIsRefusedOnceTheProcessThatOpenedItHasExited)
{
	// A child connects, is identified by a first call, and leaves its connection to
	// the parent: its pid, which the bus keeps for the connection, may be anyone's
	// from now on.
	int pair[2];
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
	Child child = forkChild([&] {
		RawSocket socket(address());
		if (socket.greet().find("NameAcquired") == std::string::npos)
			return 1;
		socket.send(RawSocket::openSemaphore(2, "first"));
		if (socket.receiveUntil("does not exist").find("does not exist") ==
		    std::string::npos)
			return 2;
		sendDescriptor(pair[1], socket.fd());
		return 0;
	});
	close(pair[1]);
	const int inherited = receiveDescriptor(pair[0]);
	close(pair[0]);
	ASSERT_GE(inherited, 0);
	ASSERT_EQ(child.wait(), 0);

	RawSocket socket(inherited);
	socket.send(RawSocket::openSemaphore(3, "second"));
	const std::string answer = socket.receiveUntil("has exited");
	EXPECT_THAT(answer, HasSubstr("io.github.ipchub1.Error.PermissionDenied"));
	EXPECT_THAT(answer, HasSubstr("has exited"));
	EXPECT_THAT(answer, Not(HasSubstr("does not exist")));
	// Everyone else is served as before.
	auto client = connect();
	EXPECT_TRUE(client.createSemaphore("after", 1));
}

} // namespace
} // namespace ipchub::test
