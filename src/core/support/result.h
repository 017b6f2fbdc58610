// Result<T> / Error: the return type of every fallible core call (tl::expected, C++23's
// std::expected is not in libstdc++ 12). Error codes are snake_case and stable; messages are
// English sentences for logs and API answers.
#pragma once

#include <QtCore/QJsonObject>
#include <QtCore/QString>

#include <tl/expected.hpp>

namespace opsdeck {

struct Error
{
    QString code;       // snake_case, stable: "invalid_argument", "not_found", "timeout", ...
    QString message;    // an English sentence
    QJsonObject details; // optional structured context (key, value, min, max, allowed, ...)

    bool operator==(const Error &other) const = default;
};

template<typename T>
using Result = tl::expected<T, Error>;

using Status = tl::expected<void, Error>;

inline tl::unexpected<Error> fail(QString code, QString message, QJsonObject details = {})
{
    return tl::unexpected<Error>(Error{std::move(code), std::move(message), std::move(details)});
}

inline Status ok()
{
    return {};
}

} // namespace opsdeck
