#include "core/support/taskpriority.h"

namespace opsdeck {

QString toString(TaskPriority priority)
{
    switch (priority) {
    case TaskPriority::Critical:
        return QStringLiteral("CRITICAL");
    case TaskPriority::High:
        return QStringLiteral("HIGH");
    case TaskPriority::Normal:
        return QStringLiteral("NORMAL");
    case TaskPriority::Low:
        return QStringLiteral("LOW");
    case TaskPriority::Idle:
        return QStringLiteral("IDLE");
    }
    return QStringLiteral("NORMAL");
}

std::optional<TaskPriority> taskPriorityFromString(const QString &text)
{
    const QString t = text.trimmed();
    bool isNumber = false;
    const int n = t.toInt(&isNumber);
    if (isNumber)
        return (n >= 0 && n < kTaskPriorityCount) ? std::optional(static_cast<TaskPriority>(n))
                                                  : std::nullopt;
    for (TaskPriority p : kAllTaskPriorities) {
        if (t.compare(toString(p), Qt::CaseInsensitive) == 0)
            return p;
    }
    return std::nullopt;
}

} // namespace opsdeck
