// Small helpers shared by the QtTest suites. Stateless and thread-safe; rawHttp() runs a local
// event loop in the calling thread, so it also reaches a server living in that same thread.
//
//     QTRY_VERIFY_WITH_TIMEOUT(done, opsdeck::test::scaledMs(2000));
//     const QByteArray reply = opsdeck::test::rawHttp(port, "GET / HTTP/1.1\r\n\r\n", 2000);
//     QCOMPARE(opsdeck::test::httpStatus(reply), 400);
#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QtGlobal>

namespace opsdeck::test {

// OPSDECK_TIME_FACTOR (default 1.0; unset, unparsable or <= 0 also give 1.0). Tests labelled
// `timing` multiply their real-time tolerances by it on slow or loaded machines.
double timeFactor();
// ms * timeFactor(), rounded up.
int scaledMs(int ms);

// Connects to 127.0.0.1:port, writes requestBytes as they are, and returns every byte received
// until the server closes the connection or timeoutMs passes (whatever arrived by then). Returns
// an empty array if the connection fails. Send "Connection: close" to avoid waiting for the
// timeout on a keep-alive server.
QByteArray rawHttp(quint16 port, const QByteArray &requestBytes, int timeoutMs = 5000);

// The status code of the first status line in a raw response ("HTTP/1.1 404 ..."), or -1.
int httpStatus(const QByteArray &rawResponse);

} // namespace opsdeck::test
