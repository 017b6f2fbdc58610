// DataDir: the data directory (CONTRACTS.md "Files and places") and the QLockFile that keeps a
// second instance off it. Created on the main thread at start-up, before any part opens a file.
#pragma once

#include "core/support/result.h"

#include <QtCore/QLockFile>
#include <QtCore/QString>

#include <memory>

namespace opsdeck {

class DataDir final
{
public:
    // Creates the directory (and exports/) if needed and takes `opsdeck.lock`. Fails with
    // "data_dir_locked" (exit 4) when another live process holds the lock, and with
    // "data_dir_unusable" when the directory cannot be created or written.
    static Result<std::unique_ptr<DataDir>> open(const QString &path);

    // The platform default: QStandardPaths::AppDataLocation.
    static QString defaultPath();
    // The platform default config file: QStandardPaths::AppConfigLocation/opsdeck.ini.
    static QString defaultConfigPath();

    QString path() const { return m_path; }
    QString filePath(const QString &name) const;
    QString exportsPath() const;

    DataDir(const DataDir &) = delete;
    DataDir &operator=(const DataDir &) = delete;
    ~DataDir();

private:
    explicit DataDir(QString path);

    QString m_path;
    QLockFile m_lock;
};

} // namespace opsdeck
