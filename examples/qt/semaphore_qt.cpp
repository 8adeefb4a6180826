// SPDX-License-Identifier: LGPL-2.1-or-later
// ipchub from Qt with QDBusInterface (Qt 5 QtDBus): a semaphore and a lock, nothing
// of ipchub's linked in. Build: c++ -fPIC semaphore_qt.cpp $(pkg-config --cflags --libs Qt5DBus)

#include <cstdlib>

#include <QCoreApplication>
#include <QDBusConnection>
#include <QDBusInterface>
#include <QDBusArgument>
#include <QDBusObjectPath>
#include <QDBusReply>
#include <QTextStream>
#include <QVariantMap>

namespace {

const QString kService = QStringLiteral("io.github.ipchub1");

QTextStream &out()
{
	static QTextStream stream(stdout);
	return stream;
}

// The reply's value, or the D-Bus error printed and the program ended.
template <typename T>
T check(const QDBusReply<T> &reply, const char *what)
{
	if (!reply.isValid()) {
		QTextStream(stderr) << what << ": " << reply.error().name() << ": "
				    << reply.error().message() << Qt::endl;
		std::exit(EXIT_FAILURE);
	}
	return reply.value();
}

void check(const QDBusReply<void> &reply, const char *what)
{
	if (!reply.isValid()) {
		QTextStream(stderr) << what << ": " << reply.error().name() << ": "
				    << reply.error().message() << Qt::endl;
		std::exit(EXIT_FAILURE);
	}
}

} // namespace

int main(int argc, char **argv)
{
	QCoreApplication app(argc, argv);
	QDBusConnection bus = QDBusConnection::sessionBus();
	QDBusInterface manager(kService, QStringLiteral("/io/github/ipchub1"),
			       QStringLiteral("io.github.ipchub1.Manager"), bus);
	// QDBusInterface::property() reads only simple types; a compound one (Limits is
	// a{sv}) comes through Properties.Get and qdbus_cast.
	QDBusInterface properties(kService, manager.path(),
				  QStringLiteral("org.freedesktop.DBus.Properties"), bus);
	const QDBusReply<QDBusVariant> limitsReply = properties.call(
		QStringLiteral("Get"), manager.interface(), QStringLiteral("Limits"));
	const auto limits = qdbus_cast<QVariantMap>(check(limitsReply, "Get Limits").variant());
	out() << "keys up to " << limits.value(QStringLiteral("key_length")).toUInt() << " bytes"
	      << Qt::endl;

	// Arguments must have the D-Bus types exactly: uint for u, qulonglong for t.
	const QDBusReply<QDBusObjectPath> created = manager.call(
		QStringLiteral("CreateSemaphore"), QStringLiteral("qtjobs"), 2u, QVariantMap());
	const QString path = check(created, "CreateSemaphore").path();
	QDBusInterface semaphore(kService, path, QStringLiteral("io.github.ipchub1.Semaphore"), bus);
	check(QDBusReply<void>(semaphore.call(QStringLiteral("Acquire"), 2u, qulonglong(0))), "Acquire");
	out() << path << ": acquired 2, value " << semaphore.property("Value").toUInt() << Qt::endl;

	const QDBusReply<bool> tried = semaphore.call(QStringLiteral("TryAcquire"), 1u);
	out() << "try-acquire with none free: " << (check(tried, "TryAcquire") ? "true" : "false")
	      << Qt::endl;
	// A timed wait that runs out: 100 ms, then io.github.ipchub1.Error.Timeout.
	const QDBusReply<void> timedOut =
		semaphore.call(QStringLiteral("Acquire"), 1u, qulonglong(100'000));
	out() << "acquire for 100 ms: " << timedOut.error().name() << Qt::endl;
	check(QDBusReply<void>(semaphore.call(QStringLiteral("Release"), 2u)), "Release");

	// A lock: Acquire's reply is the grant's fencing token.
	const QDBusReply<QDBusObjectPath> lockCreated =
		manager.call(QStringLiteral("CreateLock"), QStringLiteral("qtlock"), QVariantMap());
	QDBusInterface lock(kService, check(lockCreated, "CreateLock").path(),
			    QStringLiteral("io.github.ipchub1.Lock"), bus);
	const QDBusReply<qulonglong> token =
		lock.call(QStringLiteral("Acquire"), QStringLiteral("shared"), qulonglong(0));
	out() << "lock " << lock.path() << ": " << lock.property("Mode").toString() << ", token "
	      << check(token, "Lock.Acquire") << Qt::endl;
	check(QDBusReply<void>(lock.call(QStringLiteral("Release"))), "Lock.Release");
	return EXIT_SUCCESS;
}
