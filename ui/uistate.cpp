#include "ui/uistate.h"

namespace opsdeck::ui {

UiState::UiState(const QString &path)
    : m_settings(std::make_unique<QSettings>(path, QSettings::IniFormat))
{}

} // namespace opsdeck::ui
