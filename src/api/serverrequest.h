// toApiRequest: one QHttpServerRequest (Qt 6.4's parsed request) as our plain ApiRequest:
// upper-case method, decoded path, query pairs ('+' read as space), lower-case header names,
// body. Shared by the API's front and the market simulator's. Any thread.
#pragma once

#include "api/httpreply.h"

QT_BEGIN_NAMESPACE
class QHttpServerRequest;
QT_END_NAMESPACE

namespace opsdeck::api {

ApiRequest toApiRequest(const QHttpServerRequest &request);

} // namespace opsdeck::api
