// TaskPriority: CRITICAL 0 .. IDLE 4 (lower runs first), shared by the executor, the HTTP pool's
// lanes and the preloader, so priority travels end to end.
#pragma once

#include <QtCore/QString>

#include <array>
#include <optional>

namespace opsdeck {

enum class TaskPriority : int { Critical = 0, High = 1, Normal = 2, Low = 3, Idle = 4 };

inline constexpr int kTaskPriorityCount = 5;
inline constexpr std::array<TaskPriority, kTaskPriorityCount> kAllTaskPriorities{
    TaskPriority::Critical, TaskPriority::High, TaskPriority::Normal, TaskPriority::Low,
    TaskPriority::Idle};

// "CRITICAL", "HIGH", "NORMAL", "LOW", "IDLE" (the old system's names).
QString toString(TaskPriority priority);
// Case-insensitive name, or the number 0..4.
std::optional<TaskPriority> taskPriorityFromString(const QString &text);

constexpr int toInt(TaskPriority priority)
{
    return static_cast<int>(priority);
}

// One level more urgent (CRITICAL stays CRITICAL): used by aging.
constexpr TaskPriority raised(TaskPriority priority)
{
    return priority == TaskPriority::Critical ? priority
                                              : static_cast<TaskPriority>(toInt(priority) - 1);
}

} // namespace opsdeck
