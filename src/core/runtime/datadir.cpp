#include "core/runtime/datadir.h"

#include <QtCore/QDir>
#include <QtCore/QFileInfo>
#include <QtCore/QStandardPaths>

namespace opsdeck {

DataDir::DataDir(QString path)
    : m_path(std::move(path))
    , m_lock(QDir(m_path).filePath(QStringLiteral("opsdeck.lock")))
{
    m_lock.setStaleLockTime(0); // a lock is stale only when its process is gone
}

DataDir::~DataDir()
{
    m_lock.unlock();
}

Result<std::unique_ptr<DataDir>> DataDir::open(const QString &path)
{
    const QString absolute = QFileInfo(path).absoluteFilePath();
    QDir dir(absolute);
    if (!dir.mkpath(QStringLiteral(".")) || !dir.mkpath(QStringLiteral("exports"))) {
        return fail(QStringLiteral("data_dir_unusable"),
                    QStringLiteral("Cannot create the data directory %1.").arg(absolute),
                    {{QStringLiteral("path"), absolute}});
    }
    std::unique_ptr<DataDir> dataDir(new DataDir(absolute));
    if (!dataDir->m_lock.tryLock(0)) {
        if (dataDir->m_lock.error() == QLockFile::LockFailedError) {
            qint64 pid = 0;
            QString host, app;
            dataDir->m_lock.getLockInfo(&pid, &host, &app);
            return fail(QStringLiteral("data_dir_locked"),
                        QStringLiteral("Another OpsDeck instance (pid %1) is using the data "
                                       "directory %2. Stop it, or start this one with "
                                       "--data-dir pointing elsewhere.")
                            .arg(pid)
                            .arg(absolute),
                        {{QStringLiteral("path"), absolute}, {QStringLiteral("pid"), pid}});
        }
        return fail(QStringLiteral("data_dir_unusable"),
                    QStringLiteral("Cannot write the lock file in %1.").arg(absolute),
                    {{QStringLiteral("path"), absolute}});
    }
    return dataDir;
}

QString DataDir::defaultPath()
{
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
}

QString DataDir::defaultConfigPath()
{
    return QDir(QStandardPaths::writableLocation(QStandardPaths::AppConfigLocation))
        .filePath(QStringLiteral("opsdeck.ini"));
}

QString DataDir::filePath(const QString &name) const
{
    return QDir(m_path).filePath(name);
}

QString DataDir::exportsPath() const
{
    return QDir(m_path).filePath(QStringLiteral("exports"));
}

} // namespace opsdeck
