// UiState: window geometry, splitters and other UI state in `state.ini` beside the config file,
// never in the config itself (CONTRACTS.md). Typed keys are declared where they are used:
//     static const Preference<QByteArray> geometry{"mainwindow/geometry"};
//     restoreGeometry(geometry.get(state));
// GUI thread only.
#pragma once

#include <QtCore/QSettings>
#include <QtCore/QString>
#include <QtCore/QVariant>

#include <memory>

namespace opsdeck::ui {

class UiState final
{
public:
    explicit UiState(const QString &path);
    QSettings &settings() { return *m_settings; }
    QString path() const { return m_settings->fileName(); }
    void sync() { m_settings->sync(); }

private:
    std::unique_ptr<QSettings> m_settings;
};

template<typename T>
class Preference
{
public:
    constexpr Preference(const char *key, T defaultValue = T())
        : m_key(key)
        , m_default(std::move(defaultValue))
    {}

    T get(UiState &state) const
    {
        const QVariant value = state.settings().value(QString::fromLatin1(m_key));
        return value.isValid() && value.canConvert<T>() ? value.value<T>() : m_default;
    }
    void set(UiState &state, const T &value) const
    {
        state.settings().setValue(QString::fromLatin1(m_key), QVariant::fromValue(value));
    }

private:
    const char *m_key;
    T m_default;
};

} // namespace opsdeck::ui
