// LoadSchedule: when operations are meant to start, as offsets from the run's start. Open model:
// the rate rises linearly from 0 to R over the ramp-up (so N(t) = R·t²/(2T) operations are due by
// t < T), then stays at R for the measured window; operation k starts at the t where N(t) = k.
// Closed model: worker i of N starts at T·i/N. Pure arithmetic; any thread.
//
//     LoadSchedule s(2000.0, 5s, 60s);
//     while (auto at = s.intendedOffset(k++)) ... // nullopt once past ramp-up + duration
#pragma once

#include "core/support/clock.h"

#include <optional>

namespace opsdeck::perf {

class LoadSchedule
{
public:
    LoadSchedule(double ratePerSecond, Clock::Duration rampUp, Clock::Duration measured);

    // Offset of operation k (0-based) from the run's start; nullopt at or past rampUp + measured.
    std::optional<Clock::Duration> intendedOffset(qint64 k) const;
    // Operations due before the end of the ramp-up / in the whole run (ramp-up + measured).
    qint64 rampUpOperations() const { return m_rampOps; }
    qint64 totalOperations() const { return m_totalOps; }
    double rate() const { return m_rate; }

    // Closed model: when worker `worker` (0-based) of `workers` starts.
    static Clock::Duration workerStartOffset(int worker, int workers, Clock::Duration rampUp);

private:
    double offsetSeconds(qint64 k) const;
    qint64 countBefore(double seconds) const; // operations with an offset < seconds

    double m_rate;
    double m_rampSeconds;
    double m_endSeconds;
    qint64 m_rampOps = 0;
    qint64 m_totalOps = 0;
};

} // namespace opsdeck::perf
