#include "api/apikey.h"

#include "core/support/logging.h"

#include <QtCore/QCryptographicHash>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QRandomGenerator>

#include <unistd.h>

namespace opsdeck::api {

namespace {

constexpr qsizetype kMinKeyLength = 32;
constexpr qsizetype kMaxKeyLength = 256;

constexpr QFileDevice::Permissions kOthersMayTouch
    = QFileDevice::ReadGroup | QFileDevice::WriteGroup | QFileDevice::ExeGroup
      | QFileDevice::ReadOther | QFileDevice::WriteOther | QFileDevice::ExeOther;

QString octalMode(QFileDevice::Permissions p)
{
    int mode = 0;
    mode |= p & QFileDevice::ReadOwner ? 0400 : 0;
    mode |= p & QFileDevice::WriteOwner ? 0200 : 0;
    mode |= p & QFileDevice::ExeOwner ? 0100 : 0;
    mode |= p & QFileDevice::ReadGroup ? 040 : 0;
    mode |= p & QFileDevice::WriteGroup ? 020 : 0;
    mode |= p & QFileDevice::ExeGroup ? 010 : 0;
    mode |= p & QFileDevice::ReadOther ? 04 : 0;
    mode |= p & QFileDevice::WriteOther ? 02 : 0;
    mode |= p & QFileDevice::ExeOther ? 01 : 0;
    return QStringLiteral("%1").arg(mode, 4, 8, QLatin1Char('0'));
}

Result<QByteArray> readExisting(const QString &path)
{
    const QFileInfo info(path);
    if (!info.isFile()) {
        return fail(QStringLiteral("api_key_unreadable"),
                    QStringLiteral("The API key file %1 is not a regular file.").arg(path));
    }
    if (info.ownerId() != ::geteuid()) {
        return fail(QStringLiteral("api_key_insecure"),
                    QStringLiteral("The API key file %1 belongs to another user (uid %2): it must "
                                   "be owned by the user running OpsDeck.")
                        .arg(path)
                        .arg(info.ownerId()));
    }
    const QFileDevice::Permissions permissions = QFile::permissions(path);
    if (permissions & kOthersMayTouch) {
        return fail(
            QStringLiteral("api_key_insecure"),
            QStringLiteral("The API key file %1 has mode %2: other users may read it. "
                           "Run \"chmod 600 %1\" (or delete it to get a new key) and start "
                           "again.")
                .arg(path, octalMode(permissions)),
            {{QStringLiteral("path"), path}, {QStringLiteral("mode"), octalMode(permissions)}});
    }
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        return fail(
            QStringLiteral("api_key_unreadable"),
            QStringLiteral("Cannot read the API key file %1: %2.").arg(path, file.errorString()));
    }
    QByteArray key = file.read(kMaxKeyLength + 64).trimmed();
    if (!ApiKeyFile::isWellFormed(key)) {
        return fail(
            QStringLiteral("api_key_invalid"),
            QStringLiteral("The API key file %1 does not hold a key: it must be one line of "
                           "%2 to %3 characters A-Z, a-z, 0-9, '-' or '_'. Delete it to get "
                           "a new key.")
                .arg(path)
                .arg(kMinKeyLength)
                .arg(kMaxKeyLength),
            {{QStringLiteral("path"), path}});
    }
    return key;
}

Result<QByteArray> create(const QString &path)
{
    const QByteArray key = ApiKeyFile::generate();
    const QString temp = path + QStringLiteral(".new");
    QFile::remove(temp); // a leftover of a crash during creation holds no key anyone uses
    QFile file(temp);
    // Created with 0600 at once: the key is never readable by others, not even for a moment.
    if (!file.open(QIODevice::WriteOnly | QIODevice::NewOnly,
                   QFileDevice::ReadOwner | QFileDevice::WriteOwner)) {
        return fail(
            QStringLiteral("api_key_create_failed"),
            QStringLiteral("Cannot create the API key file %1: %2.").arg(temp, file.errorString()));
    }
    const bool written = file.write(key + '\n') == key.size() + 1 && file.flush();
    ::fsync(file.handle());
    file.close();
    if (!written || !QFile::rename(temp, path)) {
        QFile::remove(temp);
        return fail(QStringLiteral("api_key_create_failed"),
                    QStringLiteral("Cannot write the API key file %1.").arg(path));
    }
    qCInfo(lcApi, "Created a new API key in %s", qUtf8Printable(path));
    return key;
}

} // namespace

QByteArray ApiKeyFile::generate()
{
    QByteArray raw(32, Qt::Uninitialized);
    QRandomGenerator::system()->generate(reinterpret_cast<quint32 *>(raw.data()),
                                         reinterpret_cast<quint32 *>(raw.data() + raw.size()));
    return raw.toHex();
}

bool ApiKeyFile::isWellFormed(QByteArrayView key)
{
    if (key.size() < kMinKeyLength || key.size() > kMaxKeyLength)
        return false;
    for (const char c : key) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                        || c == '-' || c == '_';
        if (!ok)
            return false;
    }
    return true;
}

Result<QByteArray> ApiKeyFile::load(const QString &path)
{
    if (!QFileInfo::exists(path)) {
        return fail(QStringLiteral("api_key_missing"),
                    QStringLiteral("There is no API key at %1 yet: it is created when OpsDeck "
                                   "first starts with this data directory.")
                        .arg(path));
    }
    return readExisting(path);
}

Result<QByteArray> ApiKeyFile::loadOrCreate(const QString &path)
{
    if (QFileInfo::exists(path) || QFileInfo(path).isSymLink())
        return readExisting(path);
    return create(path);
}

bool constantTimeEquals(QByteArrayView a, QByteArrayView b)
{
    const QByteArray da = QCryptographicHash::hash(a, QCryptographicHash::Sha256);
    const QByteArray db = QCryptographicHash::hash(b, QCryptographicHash::Sha256);
    unsigned char diff = 0;
    for (qsizetype i = 0; i < da.size(); ++i)
        diff |= static_cast<unsigned char>(da[i] ^ db[i]);
    return diff == 0 && a.size() == b.size();
}

} // namespace opsdeck::api
