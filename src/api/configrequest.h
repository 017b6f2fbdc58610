// configrequest: GET/PUT /config bodies over a RuntimeConfig, for wiring ConfigControl. A PUT
// body (INI text or JSON {section: {key: value}}) is laid over the running configuration and the
// result validated exactly like the INI file (RuntimeConfig::fromIni); any finding refuses the
// whole change. Pure functions; any thread.
//
//     control.put = [&](const QByteArray &body, const QByteArray &type) -> Result<QJsonObject> {
//         Result<ConfigChange> change = configrequest::parseChange(current(), body, type);
//         if (!change) return tl::unexpected(change.error());
//         apply(change->config);                   // the lead's part: live keys now
//         return configrequest::changeAnswer(*change);
//     };
#pragma once

#include "core/runtime/runtimeconfig.h"
#include "core/support/result.h"

#include <QtCore/QByteArray>
#include <QtCore/QJsonObject>
#include <QtCore/QStringList>

namespace opsdeck::api::configrequest {

struct ConfigChange
{
    RuntimeConfig config;        // the running config with the body's values laid over it
    QStringList applied;         // "section/key" changed and applied live
    QStringList restartRequired; // "section/key" changed, effective after a restart
};

// Errors: "unsupported_media_type"; "invalid_json" (not an object of objects of scalars);
// "invalid_config" with details {"findings": [ConfigFinding::toJson() without line numbers]}.
Result<ConfigChange>
parseChange(const RuntimeConfig &current, const QByteArray &body, const QByteArray &contentType);

// {"applied", "restart_required", "message"}.
QJsonObject changeAnswer(const ConfigChange &change);

// {"sections": {section: {key: value as written in the INI}}, "live_keys": ["section/key"],
//  "restart_keys": ["section/key"]} for GET /config.
QJsonObject configDocument(const RuntimeConfig &config);

} // namespace opsdeck::api::configrequest
