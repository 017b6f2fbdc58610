// The load tester's self-check against the real embedded simulator: an open-model http run at a
// fixed rate while the simulator stalls (answers nothing) for `stallMs` at the end of every
// `stallEverySeconds`. Coordinated omission makes the stall visible only in the corrected
// latency: the fraction f = stall / period of intended starts wait for the stall's end, their
// latencies spread over (0, stall], so the corrected p99 should be about stall·(1 − 0.01/f) (plus
// the backlog's drain: the check replays the run's schedule through a queue model), while
// the uncorrected p99 (from actual starts; only the few requests already in flight see the stall)
// stays near the unstalled latency. The raw (end − intended start) samples are also kept, and
// their exact nearest-rank p99 must match the histogram's.
//
//     SelfCheckReport r = *runLoadTestSelfCheck({}, progress);   // about 10 s
//     puts(r.text); return r.passed ? 0 : 1;
#pragma once

#include "core/perf/runinfo.h"
#include "core/support/result.h"

#include <QtCore/QJsonObject>
#include <QtCore/QStringList>

namespace opsdeck::perf {

struct SelfCheckSettings
{
    int stallMs = 1000;
    double stallEverySeconds = 5.0;
    double durationSeconds
        = 10.0;          // whole periods, so the window holds exactly duration/period stalls
    double rate = 100.0; // requests per second
    // Outstanding requests at most. Only these few meet a stall from their actual start, so with
    // concurrency / (rate · period) below 1 % the uncorrected p99 never sees a stall.
    int concurrency = 4;
    // Allowed |corrected p99 − expected| as a fraction of the stall (scaled by timeFactor).
    double tolerance = 0.15;
    double timeFactor = 1.0; // OPSDECK_TIME_FACTOR
    quint64 seed = 1;
};

struct SelfCheckReport
{
    quint64 operations = 0;
    quint64 errors = 0;
    double stallFraction = 0; // stall / period
    double modelP99Ms = 0;    // stall·(1 − 0.01/f): an infinitely fast server
    // A replay of this run's intended starts through `concurrency` slots with the measured
    // unstalled service time and the simulator's stall rule: what the corrected p99 should be.
    double expectedCorrectedP99Ms = 0;
    double correctedP99Ms = 0;    // from the histogram
    double rawCorrectedP99Ms = 0; // exact nearest rank of the raw samples
    double uncorrectedP99Ms = 0;
    double correctedP50Ms = 0;
    double uncorrectedP50Ms = 0;
    double achievedRate = 0; // completions per second in the window
    bool passed = false;
    QStringList failures; // why it did not pass
    QString text;         // the printed report
    QJsonObject toJson() const;
};

// Errors: the simulator or the pool could not start (exit 3).
Result<SelfCheckReport> runLoadTestSelfCheck(const SelfCheckSettings &settings,
                                             ProgressCallback progress = {});

} // namespace opsdeck::perf
