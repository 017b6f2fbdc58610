// HTTP dates and Retry-After values (RFC 9110 5.6.7 and 10.2.3). Pure functions, thread-safe,
// no I/O; "now" is passed in (Clock::wallMsecs()) so tests run on a ManualClock.
// Hand-parsed because QDateTime::fromString(Qt::RFC2822Date) in Qt 6.4 rejects the "GMT" zone
// every HTTP date carries, and knows neither the RFC 850 nor (reliably) the asctime form.
#pragma once

#include <QtCore/QByteArrayView>
#include <QtCore/QtGlobal>

#include <chrono>
#include <optional>

namespace opsdeck::http {

// Milliseconds since the Unix epoch (UTC) for any of the three HTTP-date forms:
//   IMF-fixdate  "Sun, 06 Nov 1994 08:49:37 GMT"
//   RFC 850      "Sunday, 06-Nov-94 08:49:37 GMT" (a two-digit year more than 50 years in the
//                future of wallNowMs means the previous century, RFC 9110 5.6.7)
//   asctime      "Sun Nov  6 08:49:37 1994"
// Lenient where it costs nothing: case-insensitive names, a one-digit day, "UTC" or a numeric
// offset ("+0000", "-0130") instead of "GMT"; the weekday is not checked. nullopt otherwise.
std::optional<qint64> parseHttpDate(QByteArrayView text, qint64 wallNowMs);

// The wait a Retry-After value asks for: delay-seconds ("120", also "1.5") or an HTTP-date
// (a date in the past gives 0). nullopt when the value is neither.
std::optional<std::chrono::milliseconds> parseRetryAfter(QByteArrayView value, qint64 wallNowMs);

} // namespace opsdeck::http
