// SPDX-License-Identifier: LGPL-2.1-or-later
// A seeded fuzzer through the bus: random calls of every interface's members (and of
// names that are none), with random arguments of random signatures, descriptors of
// every kind among them, floods of descriptors in one message, large messages, one
// message past what ipchubd can read, and
// connections that leave with calls in flight. Afterwards ipchubd must still own its
// name, serve a client as before, and hold no descriptor more than it did: nothing a
// caller sends stops it or leaks. The seed is printed; IPCHUB_FUZZ_SEED replays one.

#include <chrono>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include <systemd/sd-bus.h>

#include "bus_fixture.hpp"
#include "raw_socket.hpp"

namespace ipchub::test {
namespace {

using BusFuzzTest = IpchubTest;

constexpr const char *kName = "io.github.ipchub1";

size_t descriptorsOf(pid_t pid)
{
	std::error_code error;
	size_t count = 0;
	for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd",
							   error);
	     !error && it != std::filesystem::directory_iterator(); it.increment(error))
		++count;
	return count;
}

// One raw sd-bus connection of the fuzzer.
struct Bus {
	sd_bus *bus = nullptr;
	explicit Bus(const std::string &address)
	{
		if (sd_bus_new(&bus) < 0 || sd_bus_set_address(bus, address.c_str()) < 0 ||
		    sd_bus_set_bus_client(bus, 1) < 0 || sd_bus_negotiate_fds(bus, 1) < 0 ||
		    sd_bus_start(bus) < 0)
			throw std::runtime_error("cannot connect the fuzzer");
	}
	~Bus() { sd_bus_flush_close_unref(bus); }
	Bus(const Bus &) = delete;
	Bus &operator=(const Bus &) = delete;
	// Handles what has arrived, waiting at most timeoutUsec for more.
	void pump(uint64_t timeoutUsec)
	{
		while (sd_bus_process(bus, nullptr) > 0) {
		}
		sd_bus_wait(bus, timeoutUsec);
		while (sd_bus_process(bus, nullptr) > 0) {
		}
	}
};

// What came back: ipchubd's answers, and which of them were its own errors.
struct Answers {
	size_t replies = 0;
	// Answers ipchubd sent (not the bus, for a call it could not deliver).
	size_t fromIpchubd = 0;
	size_t ipchubErrors = 0;
	// The last error, for a failure's message.
	std::string last;

	static int onReply(sd_bus_message *reply, void *userdata, sd_bus_error *)
	{
		auto *self = static_cast<Answers *>(userdata);
		++self->replies;
		const char *sender = sd_bus_message_get_sender(reply);
		if (sender && std::string_view(sender) != "org.freedesktop.DBus")
			++self->fromIpchubd;
		const sd_bus_error *error = sd_bus_message_get_error(reply);
		if (error && error->name)
			self->last = std::string(error->name) + ": " +
				     (error->message ? error->message : "");
		if (error && error->name &&
		    std::string_view(error->name).starts_with("io.github.ipchub1.Error."))
			++self->ipchubErrors;
		return 0;
	}
};

class Fuzzer
{
public:
	Fuzzer(uint32_t seed, std::vector<std::string> paths)
		: random_(seed), paths_(std::move(paths))
	{
	}

	Answers answers;

	// Sends one random call on bus, not waiting for its reply.
	// managerOnly: a Manager method on the manager, with random arguments of its
	// signature, which ipchubd's own code reads.
	void sendOne(sd_bus *bus, bool managerOnly = false)
	{
		const std::string path = managerOnly ? paths_.front() : pick(paths_);
		const auto &[interface, members] = managerOnly ? kInterfaces.front()
							       : pick(kInterfaces);
		std::string member = !managerOnly && chance(10) ? randomName() : pick(members);
		sd_bus_message *raw = nullptr;
		if (sd_bus_message_new_method_call(bus, &raw, kName, path.c_str(),
						   interface.empty() ? nullptr : interface.c_str(),
						   member.c_str()) < 0)
			return;
		std::unique_ptr<sd_bus_message, decltype(&sd_bus_message_unref)> message(
			raw, &sd_bus_message_unref);
		// Mostly the member's own signature with random values, which ipchubd reads;
		// else random arguments, which the bus library refuses before ipchubd's code.
		const auto signature = kSignatures.find(member);
		if (signature != kSignatures.end() && (managerOnly || !chance(3))) {
			for (char type : signature->second)
				if (appendTyped(message.get(), type) < 0)
					break;
		} else {
			const int arguments = static_cast<int>(below(6));
			for (int i = 0; i < arguments; ++i)
				if (appendValue(message.get(), 0) < 0)
					break;
		}
		// A flood of descriptors in one message, now and then.
		if (!managerOnly && chance(40))
			appendDescriptorFlood(message.get());
		sd_bus_call_async(bus, nullptr, message.get(), &Answers::onReply, &answers, 0);
	}

	// A call with one string of size bytes: large, but under what dbus-daemon and
	// sd-bus take, so that ipchubd reads it whole and answers it.
	static void sendLarge(sd_bus *bus, size_t size)
	{
		const std::string key(size, 'k');
		sd_bus_call_method_async(bus, nullptr, kName, "/io/github/ipchub1",
					 "io.github.ipchub1.Manager", "OpenSemaphore", nullptr,
					 nullptr, "sa{sv}", key.c_str(), 0);
	}

	uint64_t below(uint64_t n)
	{
		return std::uniform_int_distribution<uint64_t>(0, n - 1)(random_);
	}
	bool chance(uint64_t oneIn) { return below(oneIn) == 0; }

private:
	template <typename T>
	const T &pick(const std::vector<T> &from)
	{
		return from[below(from.size())];
	}

	std::string randomName()
	{
		std::string name(1 + below(12), 'x');
		for (auto &c : name)
			c = static_cast<char>('A' + below(26));
		return name;
	}

	std::string randomText()
	{
		static const std::vector<std::string> special{"",
							      "jobs",
							      "x/y",
							      "a b",
							      "..",
							      "org.example.App",
							      std::string(255, 'k'),
							      std::string(256, 'k'),
							      "exclusive",
							      "shared",
							      "read",
							      "write",
							      "\xc3\xa9t\xc3\xa9"};
		if (chance(2))
			return pick(special);
		std::string text(below(40), ' ');
		for (auto &c : text)
			c = static_cast<char>(0x20 + below(0x5f));
		return text;
	}

	uint64_t randomNumber()
	{
		static const std::vector<uint64_t> edges{0,
							 1,
							 2,
							 3,
							 255,
							 256,
							 4096,
							 UINT32_MAX,
							 uint64_t{UINT32_MAX} + 1,
							 UINT64_MAX,
							 UINT64_MAX - 1,
							 uint64_t{1} << 40};
		return chance(2) ? pick(edges) : random_();
	}

	// A descriptor of a random kind, owned by the caller.
	int randomDescriptor()
	{
		switch (below(6)) {
		case 0:
			return memfd_create("fuzz", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		case 1: {
			int fds[2];
			if (pipe2(fds, O_CLOEXEC) < 0)
				return -1;
			const int keep = static_cast<int>(below(2));
			close(fds[1 - keep]);
			return fds[keep];
		}
		case 2:
			return open("/dev/null", O_RDWR | O_CLOEXEC);
		case 3:
			return eventfd(0, EFD_CLOEXEC);
		case 4: {
			int fds[2];
			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
				return -1;
			close(fds[1]);
			return fds[0];
		}
		default:
			return open("/proc/self/status", O_RDONLY | O_CLOEXEC);
		}
	}

	int appendDescriptor(sd_bus_message *message)
	{
		const int fd = randomDescriptor();
		if (fd < 0)
			return 0;
		// sd-bus keeps a duplicate.
		const int r = sd_bus_message_append_basic(message, 'h', &fd);
		close(fd);
		return r;
	}

	void appendDescriptorFlood(sd_bus_message *message)
	{
		if (sd_bus_message_open_container(message, 'a', "h") < 0)
			return;
		const int count = static_cast<int>(1 + below(200));
		for (int i = 0; i < count; ++i)
			if (appendDescriptor(message) < 0)
				break;
		sd_bus_message_close_container(message);
	}

	int appendValue(sd_bus_message *message, int depth)
	{
		switch (below(depth < 2 ? 12 : 9)) {
		case 0: {
			const std::string text = randomText();
			return sd_bus_message_append_basic(message, 's', text.c_str());
		}
		case 1: {
			const auto value = static_cast<uint32_t>(randomNumber());
			return sd_bus_message_append_basic(message, 'u', &value);
		}
		case 2: {
			const uint64_t value = randomNumber();
			return sd_bus_message_append_basic(message, 't', &value);
		}
		case 3: {
			const int value = static_cast<int>(below(2));
			return sd_bus_message_append_basic(message, 'b', &value);
		}
		case 4:
			return appendDescriptor(message);
		case 5: {
			const std::string path = pick(paths_);
			return sd_bus_message_append_basic(message, 'o', path.c_str());
		}
		case 6: {
			const auto value = static_cast<int32_t>(randomNumber());
			return sd_bus_message_append_basic(message, 'i', &value);
		}
		case 7: {
			const double value = static_cast<double>(randomNumber());
			return sd_bus_message_append_basic(message, 'd', &value);
		}
		case 8: {
			std::string bytes(below(64), '\0');
			for (auto &c : bytes)
				c = static_cast<char>(below(256));
			return sd_bus_message_append_array(message, 'y', bytes.data(),
							   bytes.size());
		}
		case 9:
			return appendOptions(message, depth);
		case 10: {
			int r = sd_bus_message_open_container(message, 'a', "s");
			for (uint64_t n = below(8); r >= 0 && n > 0; --n) {
				const std::string text = randomText();
				r = sd_bus_message_append_basic(message, 's', text.c_str());
			}
			return r < 0 ? r : sd_bus_message_close_container(message);
		}
		default:
			return appendVariant(message, depth + 1);
		}
	}

	// a{sv}: options, known names or not, values of any type.
	int appendOptions(sd_bus_message *message, int depth)
	{
		static const std::vector<std::string> names{"open_existing",	   "max",
							    "persistent",	   "return_on_exit",
							    "allowed_apps",	   "scope",
							    "allowed_apps_access", "bogus"};
		int r = sd_bus_message_open_container(message, 'a', "{sv}");
		for (uint64_t n = below(5); r >= 0 && n > 0; --n) {
			r = sd_bus_message_open_container(message, 'e', "sv");
			const std::string name = chance(5) ? randomText() : pick(names);
			if (r >= 0)
				r = sd_bus_message_append_basic(message, 's', name.c_str());
			if (r >= 0)
				r = appendVariant(message, depth + 1);
			if (r >= 0)
				r = sd_bus_message_close_container(message);
		}
		return r < 0 ? r : sd_bus_message_close_container(message);
	}

	// One argument of a signature's type; 'a' stands for a{sv}.
	int appendTyped(sd_bus_message *message, char type)
	{
		switch (type) {
		case 's': {
			const std::string text = randomText();
			return sd_bus_message_append_basic(message, 's', text.c_str());
		}
		case 'u': {
			const auto value = static_cast<uint32_t>(randomNumber() %
								 (chance(2) ? 8 : UINT64_MAX));
			return sd_bus_message_append_basic(message, 'u', &value);
		}
		case 't': {
			const uint64_t value = chance(2) ? below(200000) : randomNumber();
			return sd_bus_message_append_basic(message, 't', &value);
		}
		case 'b': {
			const int value = static_cast<int>(below(2));
			return sd_bus_message_append_basic(message, 'b', &value);
		}
		case 'o': {
			const std::string path = pick(paths_);
			return sd_bus_message_append_basic(message, 'o', path.c_str());
		}
		case 'v':
			return appendVariant(message, 1);
		default:
			return appendOptions(message, 1);
		}
	}

	int appendVariant(sd_bus_message *message, int depth)
	{
		static const std::vector<std::string> types{"s", "u", "t", "b", "h", "as", "i"};
		const std::string type = pick(types);
		int r = sd_bus_message_open_container(message, 'v', type.c_str());
		if (r < 0)
			return r;
		if (type == "s") {
			const std::string text = randomText();
			r = sd_bus_message_append_basic(message, 's', text.c_str());
		} else if (type == "u" || type == "i") {
			const auto value = static_cast<uint32_t>(randomNumber());
			r = sd_bus_message_append_basic(message, type[0], &value);
		} else if (type == "t") {
			const uint64_t value = randomNumber();
			r = sd_bus_message_append_basic(message, 't', &value);
		} else if (type == "b") {
			const int value = static_cast<int>(below(2));
			r = sd_bus_message_append_basic(message, 'b', &value);
		} else if (type == "h") {
			r = appendDescriptor(message);
		} else {
			r = sd_bus_message_open_container(message, 'a', "s");
			for (uint64_t n = below(4); r >= 0 && n > 0; --n) {
				const std::string text = randomText();
				r = sd_bus_message_append_basic(message, 's', text.c_str());
			}
			if (r >= 0)
				r = sd_bus_message_close_container(message);
		}
		(void)depth;
		return r < 0 ? r : sd_bus_message_close_container(message);
	}

	using Interface = std::pair<std::string, std::vector<std::string>>;
	const std::vector<Interface> kInterfaces{
		{"io.github.ipchub1.Manager",
		 {"CreateSemaphore", "OpenSemaphore", "CreateSharedMemory", "OpenSharedMemory",
		  "CreateLock", "OpenLock", "Remove"}},
		{"io.github.ipchub1.Semaphore",
		 {"Acquire", "TryAcquire", "Release", "Close", "Wait", "CancelWait"}},
		{"io.github.ipchub1.Lock",
		 {"Acquire", "TryAcquire", "AcquireHandle", "Release", "Close", "Wait",
		  "CancelWait"}},
		{"io.github.ipchub1.SharedMemory",
		 {"Attach", "Seal", "Lock", "Unlock", "Close", "Wait", "CancelWait"}},
		{"org.freedesktop.DBus.Properties", {"Get", "GetAll", "Set"}},
		{"org.freedesktop.DBus.Introspectable", {"Introspect"}},
		{"org.freedesktop.DBus.ObjectManager", {"GetManagedObjects"}},
		{"org.freedesktop.DBus.Peer", {"Ping", "GetMachineId"}},
		{"", {"Acquire", "Close", "Get"}},
	};

	// The members' signatures ('a' for a{sv}), by member name.
	const std::map<std::string, std::string> kSignatures{{"CreateSemaphore", "sua"},
							     {"OpenSemaphore", "sa"},
							     {"CreateSharedMemory", "sta"},
							     {"OpenSharedMemory", "sa"},
							     {"CreateLock", "sa"},
							     {"OpenLock", "sa"},
							     {"Remove", "o"},
							     {"Acquire", "ut"},
							     {"TryAcquire", "u"},
							     {"Release", "u"},
							     {"AcquireHandle", "st"},
							     {"Attach", "b"},
							     {"Lock", "t"},
							     {"Get", "ss"},
							     {"GetAll", "s"},
							     {"Set", "ssv"}};

	std::mt19937_64 random_;
	std::vector<std::string> paths_;
};

TEST_F(BusFuzzTest, RandomCallsDescriptorFloodsAndLargeMessagesLeaveIpchubdServingAndLeakFree)
{
	const char *replay = std::getenv("IPCHUB_FUZZ_SEED");
	const uint32_t seed = replay ? static_cast<uint32_t>(std::strtoul(replay, nullptr, 10))
				     : static_cast<uint32_t>(std::random_device{}());
	std::cout << "seed " << seed << " (IPCHUB_FUZZ_SEED=" << seed << " replays it)\n";

	// Objects for the calls to land on, held by a client that stays.
	auto owner = connect();
	auto semaphore = owner.createSemaphore("fuzz-sem", 3);
	auto lock = owner.createLock("fuzz-lock");
	auto sharedMemory = owner.createSharedMemory("fuzz-shm", 4096);
	ASSERT_TRUE(semaphore && lock && sharedMemory);
	const size_t before = descriptorsOf(daemonPid());

	std::vector<std::string> paths{"/io/github/ipchub1",
				       "/io/github/ipchub1/semaphore/fuzz_2dsem",
				       "/io/github/ipchub1/lock/fuzz_2dlock",
				       "/io/github/ipchub1/shm/fuzz_2dshm",
				       "/io/github/ipchub1/semaphore/absent",
				       "/io/github/ipchub1/lock",
				       "/io/github/ipchub1/shm/org_2eexample_2eApp/x",
				       "/",
				       "/io/github/ipchub1/semaphore/fuzz_2dsem/deeper"};
	Fuzzer fuzzer(seed, paths);

	// A message past what ipchubd's bus library reads: dbus-daemon takes a call 8 bytes
	// short of 128 MiB, and the sender's name it adds takes it past. At a random point
	// of the fuzz, from a connection that then goes on calling.
	const size_t oversizedAt = 20 + fuzzer.below(200);
	std::unique_ptr<RawSocket> oversizedSender;

	auto deadline = std::chrono::steady_clock::now() + 8s;
	size_t calls = 0;
	int connections = 0;
	while (std::chrono::steady_clock::now() < deadline) {
		// A connection sends a batch and, as often as not, leaves with calls in flight.
		Bus bus(address());
		++connections;
		const uint64_t batch = 20 + fuzzer.below(200);
		for (uint64_t i = 0; i < batch; ++i, ++calls) {
			if (calls == oversizedAt) {
				oversizedSender = std::make_unique<RawSocket>(address());
				oversizedSender->greet();
				constexpr size_t kBusLargest = size_t{128} << 20;
				const auto call = [](const std::string &key) {
					return RawSocket::methodCall(
						2, kName, "/io/github/ipchub1",
						"io.github.ipchub1.Manager", "OpenSemaphore", "s",
						RawSocket::u32(static_cast<uint32_t>(key.size())) +
							key + std::string(1, '\0'));
				};
				oversizedSender->send(
					call(std::string(kBusLargest - 8 - call("").size(), 'k')));
				// Sending 128 MiB takes a while: the fuzz goes on as long after it.
				deadline = std::chrono::steady_clock::now() + 6s;
			}
			fuzzer.sendOne(bus.bus);
			if (i % 16 == 0)
				bus.pump(0);
		}
		if (connections % 10 == 1)
			Fuzzer::sendLarge(bus.bus, (size_t{1} << 20) * (1 + fuzzer.below(32)));
		if (fuzzer.chance(2))
			bus.pump(20000);
	}
	std::cout << calls << " calls on " << connections << " connections; "
		  << fuzzer.answers.replies << " answers read, " << fuzzer.answers.fromIpchubd
		  << " from ipchubd, " << fuzzer.answers.ipchubErrors
		  << " of them its own errors\n";
	// Most answers are never read: their connection left first, by design.
	// And a last batch, whose every answer is read: Manager calls with random
	// arguments of their signatures, answered by ipchubd's own code.
	{
		Bus bus(address());
		fuzzer.answers = {};
		constexpr size_t kLast = 200;
		for (size_t i = 0; i < kLast; ++i)
			fuzzer.sendOne(bus.bus, true);
		const auto until = std::chrono::steady_clock::now() + 20s;
		while (fuzzer.answers.replies < kLast && std::chrono::steady_clock::now() < until)
			bus.pump(100000);
		EXPECT_EQ(fuzzer.answers.fromIpchubd, kLast)
			<< fuzzer.answers.replies << " answers, the last " << fuzzer.answers.last;
		EXPECT_GT(fuzzer.answers.ipchubErrors, kLast / 4);
	}

	// The oversized call was refused, and its sender is served after it.
	ASSERT_TRUE(oversizedSender) << "the fuzz ended before the oversized message";
	EXPECT_NE(oversizedSender->receiveUntil("LimitExceeded").find("LimitExceeded"),
		  std::string::npos);
	oversizedSender->send(RawSocket::openSemaphore(3, "after-the-oversized-one"));
	EXPECT_NE(oversizedSender->receiveUntil("does not exist").find("does not exist"),
		  std::string::npos);

	// ipchubd still serves: a new client's calls work as before.
	ASSERT_TRUE(nameOwned());
	auto client = connect();
	auto after = client.createSemaphore("after-the-fuzz", 2);
	ASSERT_TRUE(after) << after.error().message;
	EXPECT_TRUE(after->acquire(2, 1s)) << "both units are free";
	EXPECT_TRUE(after->release(2));
	auto ping = run({"busctl", "--user", "call", kName, "/io/github/ipchub1",
			 "org.freedesktop.DBus.Peer", "Ping"});
	EXPECT_EQ(ping.status, 0) << ping.err;

	// Persistent objects the fuzzer made stay until removed: remove them, as their
	// descriptors are not a leak.
	auto tree = run({"busctl", "--user", "--list", "tree", kName});
	ASSERT_EQ(tree.status, 0) << tree.err;
	std::istringstream lines(tree.out);
	for (std::string path; std::getline(lines, path);) {
		if (path.find("/fuzz_2d") != std::string::npos ||
		    std::count(path.begin(), path.end(), '/') < 5)
			continue;
		run({"busctl", "--user", "call", kName, "/io/github/ipchub1",
		     "io.github.ipchub1.Manager", "Remove", "o", path});
	}

	// Every fuzzing connection has left: whatever they made ipchubd hold (grants,
	// handles, attachments, waits) is given back, descriptors included.
	EXPECT_TRUE(waitFor([&] { return descriptorsOf(daemonPid()) <= before + 4; }, 10s))
		<< "ipchubd holds " << descriptorsOf(daemonPid()) << " descriptors, " << before
		<< " before the fuzz";
}

} // namespace
} // namespace ipchub::test
