// disktier_crashwriter PATH SEED: writes to a DiskTier at PATH as fast as it can (sets of 0.5-3 KiB
// values under a small byte budget, so eviction and vacuum run too; removes, touches, clears now
// and then) and prints "progress N" after each committed flush, until tst_disktier kills it with
// SIGKILL. Not a test by itself.
#include "core/cache/disktier.h"

#include <QtCore/QByteArray>
#include <QtCore/QRandomGenerator>
#include <QtCore/QString>

#include <cstdio>
#include <cstdlib>

using namespace opsdeck;
using namespace opsdeck::cache;

int main(int argc, char **argv)
{
    if (argc < 3) {
        std::fprintf(stderr, "usage: disktier_crashwriter PATH SEED\n");
        return 2;
    }
    DiskTier::Settings settings;
    settings.path = QString::fromLocal8Bit(argv[1]);
    settings.maxBytes = 2 * 1024 * 1024;
    settings.policy = Policy::Lru;
    DiskTier tier(settings, Clock::system());
    if (!tier.open() || !tier.available()) {
        std::fprintf(stderr, "disktier_crashwriter: the tier did not open\n");
        return 3;
    }
    QRandomGenerator rng(quint32(std::atoi(argv[2])) + 1);
    for (int batch = 1;; ++batch) {
        for (int i = 0; i < 2000; ++i) {
            const QByteArray key = "key:" + QByteArray::number(rng.bounded(5000));
            const int pick = rng.bounded(100);
            if (pick < 80) {
                DiskTier::Entry entry;
                entry.value = QByteArray(512 + rng.bounded(2560), char('a' + rng.bounded(26)));
                entry.expiresAtWallMs = pick < 20 ? Clock::system().wallMsecs() + 60000 : 0;
                if (pick < 40)
                    entry.tags = {"tag" + QByteArray::number(rng.bounded(10))};
                tier.set(key, entry);
            } else if (pick < 95) {
                tier.remove(key);
            } else if (pick < 99) {
                tier.touch(key, Clock::system().wallMsecs() + 1000);
            } else if (rng.bounded(20) == 0) {
                tier.clear();
            } else {
                tier.get(key);
            }
        }
        tier.flush().waitForFinished();
        std::printf("progress %d\n", batch);
        std::fflush(stdout);
    }
}
