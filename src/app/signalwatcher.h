// SignalWatcher: turns SIGINT, SIGTERM and SIGHUP into Qt signals through a self-pipe read by a
// QSocketNotifier. The handler only write()s one byte: no Qt calls in signal context.
// Create one, in the main thread, after the QCoreApplication.
#pragma once

#include <QtCore/QObject>

class QSocketNotifier;

namespace opsdeck {

class SignalWatcher final : public QObject
{
    Q_OBJECT

public:
    explicit SignalWatcher(QObject *parent = nullptr);
    ~SignalWatcher() override;

Q_SIGNALS:
    void stopRequested(int signalNumber); // SIGINT or SIGTERM
    void reloadRequested();               // SIGHUP

private:
    void readPipe();

    QSocketNotifier *m_notifier = nullptr;
};

} // namespace opsdeck
