// ApiKeyFile: the API key in the data directory (`api-key`, mode 0600; CONTRACTS.md "Files and
// places"). loadOrCreate() makes one on first run (32 bytes of QRandomGenerator::system() as 64
// lower-case hex characters, written to a 0600 temp file and renamed) and reuses it afterwards;
// load() only reads (for `opsdeck --show-api-key`). A key file others may read, or one that is
// not a key, is an error naming the file and the fix, never silently replaced. Any thread;
// plain file I/O.
#pragma once

#include "core/support/result.h"

#include <QtCore/QByteArray>
#include <QtCore/QByteArrayView>
#include <QtCore/QString>

namespace opsdeck::api {

class ApiKeyFile final
{
public:
    static inline const QString kFileName = QStringLiteral("api-key");

    // Errors: "api_key_insecure" (group or other permission bits set, or another owner),
    // "api_key_invalid" (not 32 to 256 characters of A-Z a-z 0-9 '-' '_'),
    // "api_key_unreadable" (I/O, a directory), "api_key_create_failed".
    static Result<QByteArray> loadOrCreate(const QString &path);
    // As loadOrCreate, but a missing file is "api_key_missing".
    static Result<QByteArray> load(const QString &path);
    // 64 hex characters from the system's cryptographic random source.
    static QByteArray generate();
    // Whether `key` has the form a key file may hold (see "api_key_invalid").
    static bool isWellFormed(QByteArrayView key);
};

// Compares in time that depends only on the lengths' hashing, not on where the values differ:
// both sides are hashed (SHA-256) and the digests compared without an early exit.
bool constantTimeEquals(QByteArrayView a, QByteArrayView b);

} // namespace opsdeck::api
