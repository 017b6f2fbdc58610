#include "core/http/httpdate.h"

#include <QtCore/QDate>
#include <QtCore/QDateTime>
#include <QtCore/QList>
#include <QtCore/QTime>

#include <array>
#include <cmath>

namespace opsdeck::http {

namespace {

constexpr std::array<QByteArrayView, 12> kMonths{"jan", "feb", "mar", "apr", "may", "jun",
                                                 "jul", "aug", "sep", "oct", "nov", "dec"};

std::optional<int> monthOf(QByteArrayView token)
{
    if (token.size() != 3)
        return std::nullopt;
    for (int i = 0; i < int(kMonths.size()); ++i) {
        if (token.compare(kMonths[size_t(i)], Qt::CaseInsensitive) == 0)
            return i + 1;
    }
    return std::nullopt;
}

bool isDigits(QByteArrayView token)
{
    if (token.isEmpty())
        return false;
    for (const char c : token) {
        if (c < '0' || c > '9')
            return false;
    }
    return true;
}

std::optional<int> numberOf(QByteArrayView token, int minDigits, int maxDigits)
{
    if (!isDigits(token) || token.size() < minDigits || token.size() > maxDigits)
        return std::nullopt;
    return token.toInt();
}

std::optional<QTime> timeOf(QByteArrayView token)
{
    // hh:mm:ss
    if (token.size() != 8 || token[2] != ':' || token[5] != ':')
        return std::nullopt;
    const auto h = numberOf(token.sliced(0, 2), 2, 2);
    const auto m = numberOf(token.sliced(3, 2), 2, 2);
    const auto s = numberOf(token.sliced(6, 2), 2, 2);
    if (!h || !m || !s || *h > 23 || *m > 59 || *s > 60)
        return std::nullopt;
    return QTime(*h, *m, qMin(*s, 59)); // a leap second reads as :59
}

// Offset east of UTC in seconds.
std::optional<int> zoneOf(QByteArrayView token)
{
    if (token.compare("GMT", Qt::CaseInsensitive) == 0
        || token.compare("UTC", Qt::CaseInsensitive) == 0
        || token.compare("UT", Qt::CaseInsensitive) == 0 || token.compare("Z") == 0)
        return 0;
    if (token.size() == 5 && (token[0] == '+' || token[0] == '-')) {
        const auto hh = numberOf(token.sliced(1, 2), 2, 2);
        const auto mm = numberOf(token.sliced(3, 2), 2, 2);
        if (!hh || !mm || *mm > 59)
            return std::nullopt;
        const int seconds = *hh * 3600 + *mm * 60;
        return token[0] == '-' ? -seconds : seconds;
    }
    return std::nullopt;
}

QList<QByteArrayView> tokenize(QByteArrayView text)
{
    QList<QByteArrayView> tokens;
    qsizetype start = -1;
    for (qsizetype i = 0; i <= text.size(); ++i) {
        const bool separator = i == text.size() || text[i] == ' ' || text[i] == '\t'
                               || text[i] == ',' || text[i] == '-';
        // A '-' starts a numeric zone ("-0130") when it follows a space.
        const bool zoneSign = i < text.size() && text[i] == '-' && start < 0;
        if (separator && !zoneSign) {
            if (start >= 0)
                tokens.append(text.sliced(start, i - start));
            start = -1;
        } else if (start < 0) {
            start = i;
        }
    }
    return tokens;
}

} // namespace

std::optional<qint64> parseHttpDate(QByteArrayView text, qint64 wallNowMs)
{
    const QList<QByteArrayView> t = tokenize(text.trimmed());
    std::optional<int> day, month, year;
    std::optional<QTime> time;
    int offset = 0;
    bool twoDigitYear = false;

    if (t.size() == 5 && monthOf(t[1])) {
        // asctime: wkday month day time year
        month = monthOf(t[1]);
        day = numberOf(t[2], 1, 2);
        time = timeOf(t[3]);
        year = numberOf(t[4], 4, 4);
    } else if (t.size() == 5 || t.size() == 6) {
        // IMF-fixdate / RFC 850: wkday day month year time [zone]
        day = numberOf(t[1], 1, 2);
        month = monthOf(t[2]);
        year = numberOf(t[3], 4, 4);
        if (!year) {
            year = numberOf(t[3], 2, 2);
            twoDigitYear = year.has_value();
        }
        time = timeOf(t[4]);
        if (t.size() == 6) {
            const auto zone = zoneOf(t[5]);
            if (!zone)
                return std::nullopt;
            offset = *zone;
        }
    } else {
        return std::nullopt;
    }
    if (!day || !month || !year || !time)
        return std::nullopt;

    if (twoDigitYear) {
        const int nowYear = QDateTime::fromMSecsSinceEpoch(wallNowMs, Qt::UTC).date().year();
        int full = nowYear - nowYear % 100 + *year;
        if (full > nowYear + 50)
            full -= 100;
        year = full;
    }
    const QDate date(*year, *month, *day);
    if (!date.isValid())
        return std::nullopt;
    return QDateTime(date, *time, Qt::UTC).toMSecsSinceEpoch() - qint64(offset) * 1000;
}

std::optional<std::chrono::milliseconds> parseRetryAfter(QByteArrayView value, qint64 wallNowMs)
{
    const QByteArrayView trimmed = value.trimmed();
    if (trimmed.isEmpty())
        return std::nullopt;
    if (trimmed[0] >= '0' && trimmed[0] <= '9') {
        bool ok = false;
        const double seconds = trimmed.toDouble(&ok);
        if (ok && std::isfinite(seconds) && seconds >= 0.0 && !trimmed.contains('e')
            && !trimmed.contains('E')) {
            // A year is plenty; anything longer is as good as "never" for a retry.
            const double capped = std::min(seconds, 365.0 * 24 * 3600);
            return std::chrono::milliseconds(qint64(std::ceil(capped * 1000.0)));
        }
    }
    const auto at = parseHttpDate(trimmed, wallNowMs);
    if (!at)
        return std::nullopt;
    return std::chrono::milliseconds(qMax<qint64>(0, *at - wallNowMs));
}

} // namespace opsdeck::http
