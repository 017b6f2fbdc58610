// The running `opsdeck --headless` driven by clients other than Qt: curl and Debian's python3
// requests (tests/integration/apiclient_checks.py, which also validates error bodies with
// python3-jsonschema), over HTTP and over HTTPS with the checked-in self-signed pair: auth
// (none, wrong, X-API-Key, Bearer), /health open, 404, 405, HEAD, 413 and the existing routes.
#include "support/testutil.h"

#include <QtCore/QFile>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

#include <csignal>

using namespace opsdeck;
using namespace Qt::StringLiterals;

namespace {

const QString kBinary = QStringLiteral(OPSDECK_BINARY);
const QString kTlsData = QStringLiteral(OPSDECK_TLS_DATA);
const QString kScript = QStringLiteral(OPSDECK_CLIENT_SCRIPT);
const QString kPython = QStringLiteral("/usr/bin/python3"); // Debian's, which sees python3-requests

// A headless opsdeck in a temporary root (own XDG dirs, config and data dir), stopped with SIGTERM.
class Instance
{
public:
    ~Instance()
    {
        if (m_process.state() != QProcess::NotRunning) {
            m_process.kill();
            m_process.waitForFinished();
        }
    }

    bool start(const QByteArray &ini)
    {
        QFile config(m_root.filePath(QStringLiteral("opsdeck.ini")));
        if (!config.open(QIODevice::WriteOnly))
            return false;
        config.write(ini);
        config.close();
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.remove(QStringLiteral("DISPLAY"));
        env.insert(QStringLiteral("XDG_CONFIG_HOME"), m_root.filePath(QStringLiteral("xdg-config")));
        env.insert(QStringLiteral("XDG_DATA_HOME"), m_root.filePath(QStringLiteral("xdg-data")));
        m_process.setProcessEnvironment(env);
        m_process.start(kBinary, {QStringLiteral("--headless"), QStringLiteral("--api-port"), QStringLiteral("0"),
                                  QStringLiteral("--config"), config.fileName(), QStringLiteral("--data-dir"),
                                  m_root.filePath(QStringLiteral("data"))});
        const QRegularExpression api(QStringLiteral("^OPSDECK_API (https?://127\\.0\\.0\\.1:\\d+)$"),
                                     QRegularExpression::MultilineOption);
        const QRegularExpression keyFile(QStringLiteral("^OPSDECK_API_KEY_FILE (.+)$"),
                                         QRegularExpression::MultilineOption);
        QElapsedTimer timer;
        timer.start();
        QByteArray out;
        while (timer.elapsed() < test::scaledMs(20000)) {
            if (!m_process.waitForReadyRead(500) && m_process.state() == QProcess::NotRunning)
                return false;
            out += m_process.readAllStandardOutput();
            const QString text = QString::fromUtf8(out);
            if (const QRegularExpressionMatch m = api.match(text); m.hasMatch()) {
                m_baseUrl = m.captured(1);
                m_keyFile = keyFile.match(text).captured(1);
                QFile key(m_keyFile);
                if (key.open(QIODevice::ReadOnly))
                    m_key = QString::fromLatin1(key.readAll().trimmed());
                return !m_key.isEmpty();
            }
        }
        return false;
    }

    int stop()
    {
        ::kill(pid_t(m_process.processId()), SIGTERM);
        if (!m_process.waitForFinished(test::scaledMs(15000)))
            return -100;
        return m_process.exitStatus() == QProcess::NormalExit ? m_process.exitCode() : -1;
    }

    QString baseUrl() const { return m_baseUrl; }
    QString keyFile() const { return m_keyFile; }
    QString key() const { return m_key; }
    QString path(const QString &name) const { return m_root.filePath(name); }

private:
    QTemporaryDir m_root;
    QProcess m_process;
    QString m_baseUrl;
    QString m_keyFile;
    QString m_key;
};

struct CurlResult
{
    int status = 0; // 0: no HTTP answer (connection or TLS failure)
    QByteArray headers;
    QByteArray body;
};

CurlResult curl(const QStringList &args)
{
    QTemporaryDir dir;
    const QString headers = dir.filePath(QStringLiteral("headers"));
    QProcess p;
    p.start(QStringLiteral("curl"), QStringList{QStringLiteral("-s"), QStringLiteral("-D"), headers,
                                                QStringLiteral("-o"), QStringLiteral("-"), QStringLiteral("-w"),
                                                QStringLiteral("\n%{http_code}")}
                                        + args);
    p.waitForFinished(test::scaledMs(20000));
    CurlResult result;
    QByteArray out = p.readAllStandardOutput();
    const qsizetype nl = out.lastIndexOf('\n');
    result.status = out.mid(nl + 1).trimmed().toInt();
    result.body = out.left(std::max<qsizetype>(nl, 0));
    QFile h(headers);
    if (h.open(QIODevice::ReadOnly))
        result.headers = h.readAll();
    return result;
}

QString errorCode(const QByteArray &body)
{
    return QJsonDocument::fromJson(body).object()[u"error"_s][u"code"_s].toString();
}

} // namespace

class TstApiClients : public QObject
{
    Q_OBJECT

    // The same curl checks over HTTP and HTTPS; `tls` holds the curl TLS arguments.
    void curlChecks(const Instance &app, const QStringList &tls)
    {
        const QString base = app.baseUrl();
        const QStringList key{QStringLiteral("-H"), u"X-API-Key: "_s + app.key()};
        const QString metrics = base + QStringLiteral("/monitoring/metrics?category=system&limit=1");

        QCOMPARE(curl(tls + QStringList{base + QStringLiteral("/health")}).status, 200);
        QTRY_COMPARE_WITH_TIMEOUT(curl(tls + key + QStringList{metrics}).status, 200, 15000);
        QCOMPARE(curl(tls + QStringList{QStringLiteral("--oauth2-bearer"), app.key(), metrics}).status, 200);
        CurlResult r = curl(tls + QStringList{metrics});
        QCOMPARE(r.status, 401);
        QVERIFY2(r.headers.contains("WWW-Authenticate: Bearer"), r.headers.constData());
        QCOMPARE(errorCode(r.body), u"unauthorized"_s);
        r = curl(tls + QStringList{QStringLiteral("-H"), QStringLiteral("X-API-Key: nope"), metrics});
        QCOMPARE(r.status, 401);
        QCOMPARE(errorCode(r.body), u"unauthorized"_s);
        // The existing routes with the key.
        r = curl(tls + key + QStringList{base + QStringLiteral("/agents")});
        QVERIFY2(r.status == 200 || r.status == 503, r.body.constData());
        r = curl(tls + key + QStringList{base + QStringLiteral("/api/v1/monitoring/metrics?limit=2")});
        QCOMPARE(r.status, 200);
        QCOMPARE(QJsonDocument::fromJson(r.body).object()[u"metrics"_s].toObject().size(), 4);
        // 404, 405 with Allow, HEAD without a body, 413 before the body.
        r = curl(tls + key + QStringList{base + QStringLiteral("/no/such/path")});
        QCOMPARE(r.status, 404);
        QCOMPARE(errorCode(r.body), u"not_found"_s);
        r = curl(tls + QStringList{QStringLiteral("-X"), QStringLiteral("DELETE"), base + QStringLiteral("/health")});
        QCOMPARE(r.status, 405);
        QVERIFY2(r.headers.contains("Allow: GET, HEAD, OPTIONS"), r.headers.constData());
        r = curl(tls + key + QStringList{QStringLiteral("-I"), metrics});
        QCOMPARE(r.status, 200);
        QVERIFY(r.headers.contains("Content-Length:"));
        QVERIFY2(!r.body.contains("{"), r.body.constData()); // -I prints the headers, no body follows
        QTemporaryDir dir;
        const QString big = dir.filePath(QStringLiteral("big.bin"));
        QFile f(big);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QByteArray(2 * 1024 * 1024, 'z'));
        f.close();
        r = curl(tls + key + QStringList{QStringLiteral("--data-binary"), u'@' + big, base + QStringLiteral("/monitoring/metrics")});
        QCOMPARE(r.status, 413);
        QCOMPARE(errorCode(r.body), u"body_too_large"_s);
        QCOMPARE(curl(tls + QStringList{base + QStringLiteral("/health")}).status, 200); // still serving
    }

    void pythonChecks(const Instance &app, const QString &ca)
    {
        QProcess p;
        QStringList args{kScript, app.baseUrl(), app.keyFile()};
        if (!ca.isEmpty())
            args.append(ca);
        p.start(kPython, args);
        QVERIFY(p.waitForFinished(test::scaledMs(90000)));
        const QByteArray out = p.readAllStandardOutput() + p.readAllStandardError();
        qInfo("%s", out.right(400).constData());
        QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0, out.constData());
        QVERIFY2(out.contains("0 failure(s)"), out.constData());
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(QFileInfo::exists(kBinary), qPrintable(kBinary));
        QVERIFY2(!QStandardPaths::findExecutable(QStringLiteral("curl")).isEmpty(), "curl is needed");
        QProcess probe;
        probe.start(kPython, {QStringLiteral("-c"), QStringLiteral("import requests, jsonschema")});
        QVERIFY(probe.waitForFinished(20000));
        QVERIFY2(probe.exitCode() == 0, "Debian's python3-requests and python3-jsonschema are needed (scripts/deps.sh)");
    }

    void overHttp()
    {
        Instance app;
        QVERIFY(app.start("[monitor]\ncollection_interval = 0.2\n"));
        QVERIFY(app.baseUrl().startsWith(u"http://"));
        curlChecks(app, {});
        pythonChecks(app, {});
        QCOMPARE(app.stop(), 0);
    }

    void overHttps()
    {
        Instance app;
        const QString cert = kTlsData + QStringLiteral("/localhost.crt");
        const QString key = kTlsData + QStringLiteral("/localhost.key");
        QVERIFY(app.start("[monitor]\ncollection_interval = 0.2\n[api]\ntls_cert = " + cert.toUtf8()
                          + "\ntls_key = " + key.toUtf8() + "\n"));
        QVERIFY2(app.baseUrl().startsWith(u"https://"), qPrintable(app.baseUrl()));
        // Without the CA, curl refuses the self-signed certificate.
        QCOMPARE(curl({app.baseUrl() + QStringLiteral("/health")}).status, 0);
        curlChecks(app, {QStringLiteral("--cacert"), cert});
        pythonChecks(app, cert);
        QCOMPARE(app.stop(), 0);
    }
};

QTEST_GUILESS_MAIN(TstApiClients)
#include "tst_apiclients.moc"
