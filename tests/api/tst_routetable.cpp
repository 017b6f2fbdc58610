#include "api/routetable.h"

#include <QtCore/QJsonDocument>
#include <QtTest/QtTest>

using namespace opsdeck::api;

namespace {

ApiRequest request(const QByteArray &method, const QString &path, const QByteArray &query = {})
{
    ApiRequest r;
    r.method = method;
    r.path = path;
    r.query = parseQuery(query);
    return r;
}

QString errorCode(const HttpReply &reply)
{
    return QJsonDocument::fromJson(reply.body).object().value(QStringLiteral("error")).toObject()
        .value(QStringLiteral("code")).toString();
}

QByteArray header(const HttpReply &reply, const QByteArray &name)
{
    for (const auto &[key, value] : reply.headers) {
        if (key == name)
            return value;
    }
    return {};
}

RouteTable makeTable()
{
    RouteTable table;
    table.add("GET", QStringLiteral("/health"),
              [](const ApiRequest &, const RouteMatch &) {
                  return HttpReply::json({{QStringLiteral("status"), QStringLiteral("ok")}});
              }, {}, true);
    table.add("GET", QStringLiteral("/items/{id}"), [](const ApiRequest &, const RouteMatch &m) {
        return HttpReply::json({{QStringLiteral("id"), m.params.value(QStringLiteral("id"))}});
    });
    table.add("POST", QStringLiteral("/items/{id}/ack"), [](const ApiRequest &, const RouteMatch &) {
        return HttpReply::json({{QStringLiteral("acked"), true}});
    });
    table.add("GET", QStringLiteral("/boom"), [](const ApiRequest &, const RouteMatch &) -> HttpReply {
        throw std::runtime_error("secret internal detail");
    });
    return table;
}

} // namespace

class TstRouteTable : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void dispatchesWithCaptures()
    {
        const RouteTable table = makeTable();
        const HttpReply reply = table.dispatch(request("GET", QStringLiteral("/items/42")));
        QCOMPARE(reply.status, 200);
        QCOMPARE(QJsonDocument::fromJson(reply.body).object().value(QStringLiteral("id")).toString(),
                 QStringLiteral("42"));
    }

    void versionPrefixIsAnAlias()
    {
        const RouteTable table = makeTable();
        QCOMPARE(table.dispatch(request("GET", QStringLiteral("/api/v1/items/7"))).status, 200);
        QCOMPARE(table.dispatch(request("GET", QStringLiteral("/api/v1/health"))).status, 200);
    }

    void statuses_data()
    {
        QTest::addColumn<QByteArray>("method");
        QTest::addColumn<QString>("path");
        QTest::addColumn<int>("status");
        QTest::addColumn<QString>("code");
        QTest::newRow("unknown path") << QByteArray("GET") << QStringLiteral("/nope") << 404 << QStringLiteral("not_found");
        QTest::newRow("too deep") << QByteArray("GET") << QStringLiteral("/items/1/2") << 404 << QStringLiteral("not_found");
        QTest::newRow("wrong method") << QByteArray("DELETE") << QStringLiteral("/health") << 405 << QStringLiteral("method_not_allowed");
        QTest::newRow("get on post route") << QByteArray("GET") << QStringLiteral("/items/1/ack") << 405 << QStringLiteral("method_not_allowed");
        QTest::newRow("head is get") << QByteArray("HEAD") << QStringLiteral("/health") << 200 << QString();
        QTest::newRow("options") << QByteArray("OPTIONS") << QStringLiteral("/health") << 204 << QString();
        QTest::newRow("exception") << QByteArray("GET") << QStringLiteral("/boom") << 500 << QStringLiteral("internal_error");
    }
    void statuses()
    {
        QFETCH(QByteArray, method);
        QFETCH(QString, path);
        QFETCH(int, status);
        QFETCH(QString, code);
        const RouteTable table = makeTable();
        const HttpReply reply = table.dispatch(request(method, path));
        QCOMPARE(reply.status, status);
        if (!code.isEmpty())
            QCOMPARE(errorCode(reply), code);
    }

    void methodNotAllowedListsAllow()
    {
        const RouteTable table = makeTable();
        HttpReply reply = table.dispatch(request("POST", QStringLiteral("/health")));
        QCOMPARE(header(reply, "Allow"), QByteArray("GET, HEAD, OPTIONS"));
        reply = table.dispatch(request("GET", QStringLiteral("/items/3/ack")));
        QCOMPARE(header(reply, "Allow"), QByteArray("POST, OPTIONS"));
        reply = table.dispatch(request("OPTIONS", QStringLiteral("/items/3")));
        QCOMPARE(header(reply, "Allow"), QByteArray("GET, HEAD, OPTIONS"));
    }

    void exceptionTextIsNeverEchoed()
    {
        const RouteTable table = makeTable();
        const HttpReply reply = table.dispatch(request("GET", QStringLiteral("/boom")));
        QVERIFY(!reply.body.contains("secret"));
    }

    void authHookGuardsAllButPublic()
    {
        RouteTable table = makeTable();
        int calls = 0;
        table.setAuthHook([&calls](const ApiRequest &, const Route &) -> std::optional<HttpReply> {
            ++calls;
            return HttpReply::error(401, QStringLiteral("unauthorized"), QStringLiteral("No key."));
        });
        QCOMPARE(table.dispatch(request("GET", QStringLiteral("/health"))).status, 200);
        QCOMPARE(calls, 0);
        QCOMPARE(table.dispatch(request("GET", QStringLiteral("/items/1"))).status, 401);
        QCOMPARE(calls, 1);
        // 404 and 405 are decided before auth: they reveal nothing a key would protect.
        QCOMPARE(table.dispatch(request("GET", QStringLiteral("/nope"))).status, 404);
    }

    void queryDecoding_data()
    {
        QTest::addColumn<QByteArray>("query");
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("value");
        QTest::newRow("plain") << QByteArray("a=1") << QStringLiteral("a") << QStringLiteral("1");
        QTest::newRow("plus is space") << QByteArray("q=a+b") << QStringLiteral("q") << QStringLiteral("a b");
        QTest::newRow("percent") << QByteArray("q=a%2Bb%20c") << QStringLiteral("q") << QStringLiteral("a+b c");
        QTest::newRow("no value") << QByteArray("flag") << QStringLiteral("flag") << QString();
        QTest::newRow("utf8") << QByteArray("n=%C3%A9") << QStringLiteral("n") << QStringLiteral("é");
    }
    void queryDecoding()
    {
        QFETCH(QByteArray, query);
        QFETCH(QString, key);
        QFETCH(QString, value);
        const QueryList list = parseQuery(query);
        QCOMPARE(list.size(), 1);
        QCOMPARE(list.first().first, key);
        QCOMPARE(list.first().second, value);
    }

    void headReplyHasLengthButNoBody()
    {
        const HttpReply reply = HttpReply::json({{QStringLiteral("a"), 1}});
        const QByteArray head = reply.serialize(false, true);
        QVERIFY(head.endsWith("\r\n\r\n"));
        QVERIFY(head.contains(QByteArray("Content-Length: " + QByteArray::number(reply.body.size()))));
        const QByteArray full = reply.serialize(true, false);
        QVERIFY(full.endsWith(reply.body));
        QVERIFY(full.contains("Connection: close"));
    }
};

QTEST_GUILESS_MAIN(TstRouteTable)
#include "tst_routetable.moc"
