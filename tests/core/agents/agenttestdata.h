// Recorded market data for the agent tests (tests/core/agents/data/, see its README.md), and a
// FaultServer set up to serve it on the exchange's paths. Test-only; any thread.
#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QFile>
#include <QtCore/QString>
#include <QtTest/QTest>

namespace opsdeck::test {

inline QString agentsDataDir()
{
    return QString::fromUtf8(OPSDECK_AGENTS_TEST_DATA);
}

// The bytes of a fixture; fails the running test (and returns empty) when it cannot be read.
inline QByteArray fixture(const char *name)
{
    QFile file(agentsDataDir() + u'/' + QLatin1String(name));
    if (!file.open(QIODevice::ReadOnly)) {
        qWarning("fixture %s not found in %s", name, OPSDECK_AGENTS_TEST_DATA);
        return {};
    }
    return file.readAll();
}

// The error message of a failed Result (empty for a value): QVERIFY2(r.has_value(), why(r)).
template<typename R> QByteArray whyBytes(const R &result)
{
    return result ? QByteArray()
                  : (result.error().code + QStringLiteral(": ") + result.error().message).toUtf8();
}
#define why(result) opsdeck::test::whyBytes(result).constData()

// 2027-01-01T00:00:00Z: ManualClock's default start, and the fixtures' reference time.
inline constexpr qint64 kFixtureTimeMs = 1'798'761'600'000;

} // namespace opsdeck::test
