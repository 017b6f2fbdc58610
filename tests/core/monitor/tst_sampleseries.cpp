#include "core/monitor/sampleseries.h"

#include <QtTest/QtTest>

#include <algorithm>

using namespace opsdeck;

namespace {

using Series = SampleSeries<int>;
constexpr int kChunk = int(Series::kChunkSize);

std::vector<int> values(const Series &s)
{
    return std::vector<int>(s.begin(), s.end());
}

std::vector<int> range(int first, int last) // [first, last)
{
    std::vector<int> out;
    for (int i = first; i < last; ++i)
        out.push_back(i);
    return out;
}

} // namespace

class TstSampleSeries : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void readsLikeAVector()
    {
        Series s;
        QVERIFY(s.empty());
        for (int i = 0; i < 3 * kChunk + 5; ++i)
            s.push_back(i);
        QCOMPARE(s.size(), size_t(3 * kChunk + 5));
        QCOMPARE(s.front(), 0);
        QCOMPARE(s.back(), 3 * kChunk + 4);
        QCOMPARE(s[size_t(kChunk)], kChunk);
        QCOMPARE(values(s), range(0, 3 * kChunk + 5));
        QCOMPARE(*s.rbegin(), 3 * kChunk + 4);
        QCOMPARE(std::distance(s.begin(), s.end()), std::ptrdiff_t(s.size()));
        QCOMPARE(*(s.end() - 1), s.back());
        QVERIFY(std::is_sorted(s.begin(), s.end()));
    }

    void popFrontAndNewest_data()
    {
        QTest::addColumn<int>("pushed");
        QTest::addColumn<int>("dropped");
        QTest::addColumn<int>("newest");
        QTest::newRow("inside one chunk") << 10 << 3 << 5;
        QTest::newRow("across chunks") << 5 * kChunk + 7 << kChunk + 3 << 2 * kChunk + 1;
        QTest::newRow("drop whole chunks") << 4 * kChunk << 2 * kChunk << kChunk;
        QTest::newRow("newest more than size") << 20 << 0 << 100;
        QTest::newRow("drop everything") << 30 << 30 << 5;
    }
    void popFrontAndNewest()
    {
        QFETCH(int, pushed);
        QFETCH(int, dropped);
        QFETCH(int, newest);
        Series s;
        for (int i = 0; i < pushed; ++i)
            s.push_back(i);
        s.pop_front(size_t(dropped));
        QCOMPARE(values(s), range(dropped, pushed));
        QVERIFY(s.chunkCount() <= size_t((pushed - dropped) / kChunk + 2));
        const Series tail = s.newest(size_t(newest));
        const int kept = std::min(newest, pushed - dropped);
        QCOMPARE(values(tail), range(pushed - kept, pushed));
        // Appending after a drop keeps indexing right.
        s.push_back(pushed);
        QCOMPARE(values(s), range(dropped, pushed + 1));
    }

    void copiesNeverChange()
    {
        Series ring;
        std::vector<Series> published;
        for (int i = 0; i < 3 * kChunk; ++i) {
            ring.push_back(i);
            ring.truncateFront(100);
            published.push_back(ring.newest(50));
        }
        for (size_t i = 0; i < published.size(); ++i) {
            const int last = int(i) + 1;
            QCOMPARE(values(published[i]), range(std::max(0, last - 50), last));
        }
        QCOMPARE(values(ring), range(3 * kChunk - 100, 3 * kChunk));
        // A copy and the original diverge without touching each other.
        Series copy = ring;
        copy.push_back(-1);
        ring.push_back(-2);
        QCOMPARE(copy.back(), -1);
        QCOMPARE(ring.back(), -2);
        QCOMPARE(copy.size(), ring.size());
    }

    void sharesChunksInsteadOfCopying()
    {
        Series ring;
        for (int i = 0; i < 10 * kChunk; ++i)
            ring.push_back(i);
        const Series view = ring.newest(5 * kChunk);
        QCOMPARE(view.chunkCount(), size_t(5));
        QVERIFY(&view[0] == &ring[size_t(5 * kChunk)]); // the same memory
    }

    void initializerList()
    {
        const Series s{1, 2, 3};
        QCOMPARE(values(s), (std::vector<int>{1, 2, 3}));
    }
};

QTEST_GUILESS_MAIN(TstSampleSeries)
#include "tst_sampleseries.moc"
