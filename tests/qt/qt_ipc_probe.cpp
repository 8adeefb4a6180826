// SPDX-License-Identifier: MIT
// qt-ipc-probe: one step of what an application does with Qt 5's QSystemSemaphore,
// QSharedMemory or QLockFile, so that qt_ipc_test.sh can kill it, run it in another
// PID or IPC namespace and look at what is left. It prints one line per step on
// stdout (flushed: the test waits for "ready" before it kills) and exits 0.
//
//   sem-create KEY N                 create with N units (Create: resets an existing one)
//   sem-acquire KEY                  acquire 1 unit (blocks while none is free)
//   sem-release KEY N                post N units
//   shm-create KEY SIZE BYTE         create SIZE bytes, fill them with BYTE
//   shm-attach KEY                   attach, print the first byte, detach
//   shm-lock KEY                     attach and lock() (blocks while another holds it)
//   lock PATH                        QLockFile::tryLock(0), print "locked" or the error
//   sysv-present sem|shm KEY         does Qt's SysV object for KEY exist in the kernel
//
// A trailing "hold" keeps the process alive after its step (until it is killed);
// without it the process returns from main, running Qt's destructors.
#include <QCoreApplication>
#include <QCryptographicHash>
#include <QDir>
#include <QLockFile>
#include <QSharedMemory>
#include <QSystemSemaphore>

#include <cstdio>
#include <cstring>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

namespace {

void say(const QString &line)
{
	std::printf("%s\n", qPrintable(line));
	std::fflush(stdout);
}

// Qt 5's name of the file whose ftok() key names the SysV object of KEY
// (QSharedMemoryPrivate::makePlatformSafeKey): prefix, KEY's letters, SHA-1 of KEY.
QString keyFile(const QString &prefix, const QString &key)
{
	QString letters;
	for (QChar c : key)
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			letters += c;
	const QByteArray hash =
		QCryptographicHash::hash(key.toUtf8(), QCryptographicHash::Sha1).toHex();
	return QDir::tempPath() + "/" + prefix + letters + QString::fromLatin1(hash);
}

int sysvPresent(const QString &kind, const QString &key)
{
	const bool sem = kind == "sem";
	const QString file = keyFile(sem ? "qipc_systemsem_" : "qipc_sharedmemory_", key);
	const key_t id = ftok(QFile::encodeName(file).constData(), 'Q');
	if (id == -1) {
		say("absent (no key file)");
		return 0;
	}
	const int object = sem ? semget(id, 0, 0) : shmget(id, 0, 0);
	if (object == -1) {
		say("absent");
		return 0;
	}
	if (sem)
		say(QString("present value=%1").arg(semctl(object, 0, GETVAL)));
	else
		say("present");
	return 0;
}

int step(const QStringList &args)
{
	const QString verb = args.value(0);
	const QString key = args.value(1);
	if (verb == "sem-create") {
		QSystemSemaphore sem(key, args.value(2).toInt(), QSystemSemaphore::Create);
		if (sem.error() != QSystemSemaphore::NoError)
			return say(sem.errorString()), 1;
		say("ready");
		if (args.last() == "hold")
			pause();
		return 0;
	}
	if (verb == "sem-acquire" || verb == "sem-release") {
		QSystemSemaphore sem(key, 0, QSystemSemaphore::Open);
		const bool ok = verb == "sem-acquire" ? sem.acquire() : sem.release(args.value(2).toInt());
		if (!ok)
			return say(sem.errorString()), 1;
		say("ready");
		if (args.last() == "hold")
			pause();
		return 0;
	}
	if (verb == "shm-create") {
		QSharedMemory shm(key);
		if (!shm.create(args.value(2).toInt()))
			return say(QString("create failed: %1").arg(shm.error())), 1;
		std::memset(shm.data(), args.value(3).toInt(), shm.size());
		say("ready");
		if (args.last() == "hold")
			pause();
		return 0;
	}
	if (verb == "shm-attach") {
		QSharedMemory shm(key);
		if (!shm.attach())
			return say(QString("attach failed: %1").arg(shm.error())), 0;
		say(QString("attached byte=%1").arg(static_cast<const unsigned char *>(shm.constData())[0]));
		return 0;
	}
	if (verb == "shm-lock") {
		QSharedMemory shm(key);
		if (!shm.attach() || !shm.lock())
			return say(QString("lock failed: %1").arg(shm.error())), 1;
		say("ready");
		if (args.last() == "hold")
			pause();
		return 0;
	}
	if (verb == "lock") {
		QLockFile lock(key);
		if (!lock.tryLock(0))
			return say(QString("busy error=%1").arg(lock.error())), 0;
		say("locked");
		if (args.last() == "hold")
			pause();
		return 0;
	}
	if (verb == "sysv-present")
		return sysvPresent(key, args.value(2));
	say("usage: see the head of qt_ipc_probe.cpp");
	return 2;
}

} // namespace

int main(int argc, char **argv)
{
	QCoreApplication app(argc, argv);
	QStringList args = app.arguments();
	args.removeFirst();
	return step(args);
}
