#include "api/apicontrols.h"

namespace opsdeck::api {

int controlErrorStatus(const QString &code)
{
    static const QStringList notFound{QStringLiteral("unknown_alert"),
                                      QStringLiteral("unknown_task"),
                                      QStringLiteral("unknown_agent"), QStringLiteral("not_found")};
    static const QStringList badRequest{
        QStringLiteral("invalid_rules"),    QStringLiteral("invalid_config"),
        QStringLiteral("invalid_json"),     QStringLiteral("invalid_pattern"),
        QStringLiteral("invalid_argument"), QStringLiteral("invalid_value")};
    static const QStringList serverFault{QStringLiteral("config_apply_failed"),
                                         QStringLiteral("internal_error"),
                                         QStringLiteral("io_error")};
    if (notFound.contains(code))
        return 404;
    if (badRequest.contains(code))
        return 400;
    if (code == u"unsupported_media_type")
        return 415;
    if (code.endsWith(u"_unavailable"))
        return 503;
    if (serverFault.contains(code))
        return 500;
    return 409; // the part refused the operation in its current state
}

} // namespace opsdeck::api
