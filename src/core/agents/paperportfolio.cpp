#include "core/agents/paperportfolio.h"

#include "core/cache/sqlitedb.h"
#include "core/support/logging.h"

#include <QtCore/QDateTime>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>

#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>

namespace opsdeck::agents {

namespace {

constexpr double kQtyEpsilon = 1e-12;

double sign(double v)
{
    return v > 0 ? 1.0 : (v < 0 ? -1.0 : 0.0);
}

QByteArray compact(const QJsonObject &o)
{
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

// A row whose JSON does not parse: the file is damaged.
struct BadRow
{
    QString what;
};

QJsonObject parseRow(const QByteArray &bytes, const char *table)
{
    QJsonParseError error{};
    const QJsonDocument doc = QJsonDocument::fromJson(bytes, &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject())
        throw BadRow{QStringLiteral("a %1 row is not a JSON object").arg(QLatin1String(table))};
    return doc.object();
}

// Schema migrations: kMigrations[v] takes a file from user_version v to v + 1.
const char *const kMigrations[] = {
    // 0 → 1
    "CREATE TABLE IF NOT EXISTS positions (agent BLOB NOT NULL, symbol BLOB NOT NULL,"
    " data BLOB NOT NULL, PRIMARY KEY (agent, symbol));"
    "CREATE TABLE IF NOT EXISTS quotes (id INTEGER PRIMARY KEY, data BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS agent_stats (agent BLOB PRIMARY KEY, data BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS fills (id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " time_ms INTEGER NOT NULL, data BLOB NOT NULL);"
    "PRAGMA user_version = 1;",
};
static_assert(std::size(kMigrations) == PaperPortfolio::kSchemaVersion);

} // namespace

struct PaperPortfolio::Db
{
    cache::SqliteDb db;
};

// --- value types --------------------------------------------------------------------------

bool Position::isOpen() const
{
    return std::abs(quantity) > kQtyEpsilon;
}

double Position::unrealizedPnl() const
{
    return markPrice > 0 && isOpen() ? quantity * (markPrice - averagePrice) : 0.0;
}

double Position::costBasis() const
{
    return std::abs(quantity) * averagePrice;
}

QJsonObject Position::toJson() const
{
    return {{QStringLiteral("agent_id"), agentId},
            {QStringLiteral("symbol"), symbol},
            {QStringLiteral("quantity"), quantity},
            {QStringLiteral("average_price"), averagePrice},
            {QStringLiteral("realized_pnl"), realizedPnl},
            {QStringLiteral("unrealized_pnl"), unrealizedPnl()},
            {QStringLiteral("fees"), fees},
            {QStringLiteral("trip_pnl"), tripPnl},
            {QStringLiteral("mark_price"), markPrice},
            {QStringLiteral("opened_at_ms"), double(openedAtMs)},
            {QStringLiteral("updated_at_ms"), double(updatedAtMs)}};
}

Position Position::fromJson(const QJsonObject &o)
{
    Position p;
    p.agentId = o.value(QStringLiteral("agent_id")).toString();
    p.symbol = o.value(QStringLiteral("symbol")).toString();
    p.quantity = o.value(QStringLiteral("quantity")).toDouble();
    p.averagePrice = o.value(QStringLiteral("average_price")).toDouble();
    p.realizedPnl = o.value(QStringLiteral("realized_pnl")).toDouble();
    p.fees = o.value(QStringLiteral("fees")).toDouble();
    p.tripPnl = o.value(QStringLiteral("trip_pnl")).toDouble();
    p.markPrice = o.value(QStringLiteral("mark_price")).toDouble();
    p.openedAtMs = qint64(o.value(QStringLiteral("opened_at_ms")).toDouble());
    p.updatedAtMs = qint64(o.value(QStringLiteral("updated_at_ms")).toDouble());
    return p;
}

QJsonObject Quote::toJson() const
{
    return {{QStringLiteral("id"), double(id)},
            {QStringLiteral("agent_id"), agentId},
            {QStringLiteral("symbol"), symbol},
            {QStringLiteral("side"), toString(side)},
            {QStringLiteral("price"), price},
            {QStringLiteral("quantity"), quantity},
            {QStringLiteral("placed_at_ms"), double(placedAtMs)},
            {QStringLiteral("last_trade_id"), double(lastTradeId)}};
}

Quote Quote::fromJson(const QJsonObject &o)
{
    Quote q;
    q.id = qint64(o.value(QStringLiteral("id")).toDouble());
    q.agentId = o.value(QStringLiteral("agent_id")).toString();
    q.symbol = o.value(QStringLiteral("symbol")).toString();
    q.side = o.value(QStringLiteral("side")).toString() == u"SELL" ? Side::Sell : Side::Buy;
    q.price = o.value(QStringLiteral("price")).toDouble();
    q.quantity = o.value(QStringLiteral("quantity")).toDouble();
    q.placedAtMs = qint64(o.value(QStringLiteral("placed_at_ms")).toDouble());
    q.lastTradeId = qint64(o.value(QStringLiteral("last_trade_id")).toDouble(-1));
    return q;
}

QJsonObject Fill::toJson() const
{
    return {
        {QStringLiteral("agent_id"), agentId},
        {QStringLiteral("symbol"), symbol},
        {QStringLiteral("side"), toString(side)},
        {QStringLiteral("price"), price},
        {QStringLiteral("quantity"), quantity},
        {QStringLiteral("fee"), fee},
        {QStringLiteral("liquidity"), maker ? QStringLiteral("maker") : QStringLiteral("taker")},
        {QStringLiteral("realized_pnl"), realizedPnl},
        {QStringLiteral("time_ms"), double(timeMs)},
        {QStringLiteral("quote_id"), double(quoteId)}};
}

QJsonObject AgentTradingStats::toJson() const
{
    return {{QStringLiteral("positions_opened"), double(positionsOpened)},
            {QStringLiteral("open_positions"), openPositions},
            {QStringLiteral("round_trips"), double(roundTrips)},
            {QStringLiteral("wins"), double(wins)},
            {QStringLiteral("win_rate"), winRate()},
            {QStringLiteral("fills"), double(fills)},
            {QStringLiteral("realized_pnl"), realizedPnl},
            {QStringLiteral("unrealized_pnl"), unrealizedPnl},
            {QStringLiteral("total_profit"), totalProfit()},
            {QStringLiteral("fees"), fees}};
}

namespace {

QJsonObject storedStats(const AgentTradingStats &s)
{
    return {{QStringLiteral("positions_opened"), double(s.positionsOpened)},
            {QStringLiteral("round_trips"), double(s.roundTrips)},
            {QStringLiteral("wins"), double(s.wins)},
            {QStringLiteral("fills"), double(s.fills)},
            {QStringLiteral("realized_pnl"), s.realizedPnl},
            {QStringLiteral("fees"), s.fees}};
}

AgentTradingStats statsFromJson(const QJsonObject &o)
{
    AgentTradingStats s;
    s.positionsOpened = quint64(o.value(QStringLiteral("positions_opened")).toDouble());
    s.roundTrips = quint64(o.value(QStringLiteral("round_trips")).toDouble());
    s.wins = quint64(o.value(QStringLiteral("wins")).toDouble());
    s.fills = quint64(o.value(QStringLiteral("fills")).toDouble());
    s.realizedPnl = o.value(QStringLiteral("realized_pnl")).toDouble();
    s.fees = o.value(QStringLiteral("fees")).toDouble();
    return s;
}

// Renames the file (and its -wal and -journal) to <path>.corrupt-<stamp>[-n], drops its -shm.
// Returns the new name, or empty when it could not be moved.
QString moveAside(const QString &path, const QDateTime &now)
{
    const QString stamp = now.toUTC().toString(QStringLiteral("yyyyMMddThhmmss"));
    QString aside = path + QStringLiteral(".corrupt-") + stamp;
    for (int n = 2; QFile::exists(aside); ++n)
        aside = path + QStringLiteral(".corrupt-") + stamp + QStringLiteral("-%1").arg(n);
    auto rename = [](const QString &from, const QString &to) {
        return std::rename(QFile::encodeName(from).constData(), QFile::encodeName(to).constData())
               == 0;
    };
    if (!rename(path, aside))
        return {};
    for (const char *suffix : {"-wal", "-journal"}) {
        const QString from = path + QLatin1String(suffix);
        if (QFile::exists(from))
            rename(from, aside + QLatin1String(suffix));
    }
    QFile::remove(path + QStringLiteral("-shm"));
    return aside;
}

} // namespace

// --- PaperPortfolio --------------------------------------------------------------------------

PaperPortfolio::PaperPortfolio(PortfolioSettings settings, const Clock &clock)
    : m_settings(std::move(settings))
    , m_clock(clock)
{}

PaperPortfolio::~PaperPortfolio()
{
    close();
}

bool PaperPortfolio::isPersistent() const
{
    std::lock_guard lock(m_mutex);
    return m_db != nullptr;
}

void PaperPortfolio::close()
{
    std::lock_guard lock(m_mutex);
    m_opened = false;
    if (m_db) {
        m_db->db.close(true);
        m_db.reset();
    }
}

Status PaperPortfolio::open()
{
    std::lock_guard lock(m_mutex);
    if (m_opened)
        return ok();
    m_positions.clear();
    m_quotes.clear();
    m_stats.clear();
    m_nextQuoteId = 1;
    if (m_settings.path.isEmpty()) {
        m_opened = true;
        return ok();
    }

    const QString path = m_settings.path;
    auto db = std::make_unique<Db>();
    auto corrupt = [&](const QString &why) -> Status {
        db->db.close(false);
        const QString aside = moveAside(path, m_clock.wallTime());
        m_positions.clear();
        m_quotes.clear();
        m_stats.clear();
        const QString message
            = aside.isEmpty()
                  ? QStringLiteral("The portfolio file %1 is damaged (%2) and could not be moved "
                                   "aside; remove it to start an empty portfolio.")
                        .arg(path, why)
                  : QStringLiteral("The portfolio file %1 is damaged (%2); it was moved aside to "
                                   "%3. Open again to start an empty portfolio.")
                        .arg(path, why, aside);
        qCWarning(lcAgents).noquote() << message;
        return fail(QStringLiteral("portfolio_corrupt"), message,
                    {{QStringLiteral("path"), path}, {QStringLiteral("moved_to"), aside}});
    };
    try {
        db->db.open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
        db->db.setBusyTimeout(2000);
        if (const QByteArray check = db->db.queryText("PRAGMA quick_check"); check != "ok")
            return corrupt(QStringLiteral("integrity check: %1").arg(QString::fromUtf8(check)));
        const qint64 version = db->db.queryInt64("PRAGMA user_version");
        if (version > kSchemaVersion) {
            db->db.close(false);
            return fail(
                QStringLiteral("portfolio_newer_version"),
                QStringLiteral("The portfolio file %1 has schema version %2; this OpsDeck "
                               "reads up to %3. It was left untouched.")
                    .arg(path)
                    .arg(version)
                    .arg(kSchemaVersion),
                {{QStringLiteral("path"), path}, {QStringLiteral("version"), double(version)}});
        }
        db->db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
        for (qint64 v = version; v < kSchemaVersion; ++v) {
            db->db.exec("BEGIN IMMEDIATE");
            db->db.exec(kMigrations[v]);
            db->db.exec("COMMIT");
        }
        m_db = std::move(db);
        if (Status loaded = loadLocked(); !loaded) {
            db = std::move(m_db);
            return corrupt(loaded.error().message);
        }
    } catch (const cache::SqliteError &e) {
        if (!db)
            db = std::move(m_db);
        if (cache::isCorruptionCode(e.code))
            return corrupt(e.message);
        db->db.close(false);
        return fail(
            QStringLiteral("portfolio_io_error"),
            QStringLiteral("The portfolio file %1 cannot be opened: %2").arg(path, e.message),
            {{QStringLiteral("path"), path}});
    }
    m_opened = true;
    qsizetype count = 0;
    for (const auto &bySymbol : std::as_const(m_positions))
        count += bySymbol.size();
    qCInfo(lcAgents).noquote() << QStringLiteral("paper portfolio %1: %2 positions, %3 quotes")
                                      .arg(path)
                                      .arg(count)
                                      .arg(m_quotes.size());
    return ok();
}

Status PaperPortfolio::loadLocked()
{
    try {
        cache::SqliteDb &db = m_db->db;
        {
            cache::SqliteStatement s = db.prepare("SELECT data FROM positions");
            while (s.step()) {
                Position p = Position::fromJson(parseRow(s.blob(0), "positions"));
                if (p.agentId.isEmpty() || p.symbol.isEmpty())
                    throw BadRow{QStringLiteral("a position row has no agent or symbol")};
                m_positions[p.agentId].insert(p.symbol, p);
            }
        }
        {
            cache::SqliteStatement s = db.prepare("SELECT id, data FROM quotes");
            while (s.step()) {
                Quote q = Quote::fromJson(parseRow(s.blob(1), "quotes"));
                q.id = s.int64(0);
                m_quotes.insert(q.id, q);
                m_nextQuoteId = std::max(m_nextQuoteId, q.id + 1);
            }
        }
        {
            cache::SqliteStatement s = db.prepare("SELECT agent, data FROM agent_stats");
            while (s.step()) {
                m_stats.insert(QString::fromUtf8(s.blob(0)),
                               statsFromJson(parseRow(s.blob(1), "agent_stats")));
            }
        }
    } catch (const BadRow &bad) {
        return fail(QStringLiteral("portfolio_corrupt"), bad.what);
    }
    return ok();
}

void PaperPortfolio::persistLocked(const QList<Key> &positions,
                                   const QStringList &agents,
                                   const QList<qint64> &quotesChanged,
                                   const QList<Fill> &fills)
{
    if (!m_db)
        return;
    cache::SqliteDb &db = m_db->db;
    try {
        db.exec("BEGIN");
        if (!positions.isEmpty()) {
            cache::SqliteStatement s = db.prepare(
                "INSERT OR REPLACE INTO positions (agent, symbol, data) VALUES (?, ?, ?)");
            for (const Key &key : positions) {
                const QByteArray agent = key.first.toUtf8();
                const QByteArray symbol = key.second.toUtf8();
                const QByteArray data
                    = compact(m_positions.value(key.first).value(key.second).toJson());
                cache::StatementScope scope(s);
                s.bindBlob(1, agent);
                s.bindBlob(2, symbol);
                s.bindBlob(3, data);
                s.step();
            }
        }
        if (!agents.isEmpty()) {
            cache::SqliteStatement s
                = db.prepare("INSERT OR REPLACE INTO agent_stats (agent, data) VALUES (?, ?)");
            for (const QString &id : agents) {
                const QByteArray agent = id.toUtf8();
                const QByteArray data = compact(storedStats(m_stats.value(id)));
                cache::StatementScope scope(s);
                s.bindBlob(1, agent);
                s.bindBlob(2, data);
                s.step();
            }
        }
        if (!quotesChanged.isEmpty()) {
            cache::SqliteStatement put
                = db.prepare("INSERT OR REPLACE INTO quotes (id, data) VALUES (?, ?)");
            cache::SqliteStatement del = db.prepare("DELETE FROM quotes WHERE id = ?");
            for (qint64 id : quotesChanged) {
                const auto it = m_quotes.constFind(id);
                if (it == m_quotes.constEnd()) {
                    cache::StatementScope scope(del);
                    del.bindInt64(1, id);
                    del.step();
                } else {
                    const QByteArray data = compact(it->toJson());
                    cache::StatementScope scope(put);
                    put.bindInt64(1, id);
                    put.bindBlob(2, data);
                    put.step();
                }
            }
        }
        if (!fills.isEmpty()) {
            cache::SqliteStatement s
                = db.prepare("INSERT INTO fills (time_ms, data) VALUES (?, ?)");
            for (const Fill &f : fills) {
                const QByteArray data = compact(f.toJson());
                cache::StatementScope scope(s);
                s.bindInt64(1, f.timeMs);
                s.bindBlob(2, data);
                s.step();
            }
            // The fill history is bounded: the newest fillsKept rows stay.
            cache::SqliteStatement prune = db.prepare("DELETE FROM fills WHERE id <= ?");
            prune.bindInt64(1, db.lastInsertRowid() - std::max<qint64>(1, m_settings.fillsKept));
            prune.step();
        }
        db.exec("COMMIT");
    } catch (const cache::SqliteError &e) {
        ++m_persistErrors;
        qCWarning(lcAgents).noquote()
            << QStringLiteral("paper portfolio: a write failed (%1); the change is kept in memory")
                   .arg(e.message);
        try {
            db.exec("ROLLBACK");
        } catch (const cache::SqliteError &) {
        }
    }
}

Fill PaperPortfolio::applyFillLocked(const QString &agentId,
                                     const QString &symbol,
                                     Side side,
                                     double price,
                                     double quantity,
                                     bool maker,
                                     qint64 timeMs,
                                     qint64 quoteId)
{
    Position &p = m_positions[agentId][symbol];
    p.agentId = agentId;
    p.symbol = symbol;
    AgentTradingStats &stats = m_stats[agentId];
    const double fee
        = price * quantity * (maker ? m_settings.makerFeeRate : m_settings.takerFeeRate);
    const double signedQty = side == Side::Buy ? quantity : -quantity;

    Fill fill;
    fill.agentId = agentId;
    fill.symbol = symbol;
    fill.side = side;
    fill.price = price;
    fill.quantity = quantity;
    fill.fee = fee;
    fill.maker = maker;
    fill.timeMs = timeMs;
    fill.quoteId = quoteId;

    auto openTrip = [&](double qty) {
        p.quantity = qty;
        p.averagePrice = price;
        p.tripPnl = 0;
        p.openedAtMs = timeMs;
        ++stats.positionsOpened;
    };
    auto book = [&](double pnl) {
        p.realizedPnl += pnl;
        p.tripPnl += pnl;
        stats.realizedPnl += pnl;
        fill.realizedPnl += pnl;
    };

    if (!p.isOpen()) {
        openTrip(signedQty);
        book(-fee);
    } else if (sign(p.quantity) == sign(signedQty)) {
        const double total = std::abs(p.quantity) + quantity;
        p.averagePrice = (std::abs(p.quantity) * p.averagePrice + quantity * price) / total;
        p.quantity += signedQty;
        book(-fee);
    } else {
        const double closing = std::min(quantity, std::abs(p.quantity));
        const double opening = quantity - closing;
        const double closeFee = fee * closing / quantity;
        book((price - p.averagePrice) * closing * sign(p.quantity) - closeFee);
        p.quantity += sign(signedQty) * closing;
        if (std::abs(p.quantity) <= kQtyEpsilon * std::max(1.0, closing)) {
            p.quantity = 0;
            ++stats.roundTrips;
            if (p.tripPnl > 0)
                ++stats.wins;
            if (opening > kQtyEpsilon) {
                openTrip(sign(signedQty) * opening);
                book(-(fee - closeFee));
            } else {
                p.averagePrice = 0;
                p.tripPnl = 0;
            }
        }
    }
    p.fees += fee;
    p.updatedAtMs = timeMs;
    stats.fees += fee;
    ++stats.fills;
    if (p.markPrice <= 0)
        p.markPrice = price;
    m_recentFills.append(fill);
    if (m_recentFills.size() > 200)
        m_recentFills.remove(0, m_recentFills.size() - 200);
    return fill;
}

qint64 PaperPortfolio::placeQuote(const QString &agentId,
                                  const QString &symbol,
                                  Side side,
                                  double price,
                                  double quantity,
                                  qint64 placedAtMs)
{
    std::lock_guard lock(m_mutex);
    Quote q;
    q.id = m_nextQuoteId++;
    q.agentId = agentId;
    q.symbol = symbol;
    q.side = side;
    q.price = price;
    q.quantity = quantity;
    q.placedAtMs = placedAtMs;
    m_quotes.insert(q.id, q);
    persistLocked({}, {}, {q.id}, {});
    return q.id;
}

int PaperPortfolio::cancelQuotes(const QString &agentId, const QString &symbol)
{
    std::lock_guard lock(m_mutex);
    QList<qint64> removed;
    for (auto it = m_quotes.begin(); it != m_quotes.end();) {
        if (it->agentId == agentId && (symbol.isEmpty() || it->symbol == symbol)) {
            removed.append(it.key());
            it = m_quotes.erase(it);
        } else {
            ++it;
        }
    }
    persistLocked({}, {}, removed, {});
    return int(removed.size());
}

QList<Quote> PaperPortfolio::quotes(const QString &agentId, const QString &symbol) const
{
    std::lock_guard lock(m_mutex);
    QList<Quote> out;
    for (const Quote &q : m_quotes) {
        if ((agentId.isEmpty() || q.agentId == agentId) && (symbol.isEmpty() || q.symbol == symbol))
            out.append(q);
    }
    std::sort(out.begin(), out.end(), [](const Quote &a, const Quote &b) { return a.id < b.id; });
    return out;
}

QList<Fill> PaperPortfolio::matchTrades(const QString &symbol, const QList<Trade> &trades)
{
    QList<Trade> sorted = trades;
    std::sort(sorted.begin(), sorted.end(), [](const Trade &a, const Trade &b) {
        return a.timeMs != b.timeMs ? a.timeMs < b.timeMs : a.id < b.id;
    });
    std::lock_guard lock(m_mutex);
    QList<qint64> ids;
    for (const Quote &q : std::as_const(m_quotes)) {
        if (q.symbol == symbol)
            ids.append(q.id);
    }
    std::sort(ids.begin(), ids.end()); // oldest quote first at the same trade
    QList<Fill> fills;
    QList<Key> touched;
    QStringList agents;
    QList<qint64> changed;
    // In trade order, so fills of different quotes are booked in the order they happened.
    for (const Trade &t : std::as_const(sorted)) {
        for (qint64 id : std::as_const(ids)) {
            const auto it = m_quotes.find(id);
            if (it == m_quotes.end())
                continue;
            Quote &q = *it;
            if (t.timeMs <= q.placedAtMs || t.id <= q.lastTradeId)
                continue;
            q.lastTradeId = t.id;
            if (!changed.contains(id))
                changed.append(id);
            const bool touch = m_settings.fillOnTouch && t.price == q.price;
            const bool crosses
                = q.side == Side::Buy ? (t.price < q.price || touch) : (t.price > q.price || touch);
            if (!crosses)
                continue;
            const double qty = std::min(q.quantity, t.quantity);
            fills.append(
                applyFillLocked(q.agentId, symbol, q.side, q.price, qty, true, t.timeMs, q.id));
            q.quantity -= qty;
            touched.append({q.agentId, symbol});
            agents.append(q.agentId);
            if (q.quantity <= kQtyEpsilon)
                m_quotes.erase(it);
        }
    }
    agents.removeDuplicates();
    if (!changed.isEmpty() || !fills.isEmpty())
        persistLocked(touched, agents, changed, fills);
    return fills;
}

Result<TakerResult> PaperPortfolio::executeTaker(const QString &agentId,
                                                 const QString &symbol,
                                                 Side side,
                                                 double quantity,
                                                 const OrderBook &book,
                                                 qint64 timeMs)
{
    if (!(quantity > 0))
        return fail(QStringLiteral("invalid_argument"),
                    QStringLiteral("A taker order needs a positive quantity."));
    const QList<BookLevel> &levels = side == Side::Buy ? book.asks : book.bids;
    if (levels.isEmpty())
        return fail(
            QStringLiteral("no_liquidity"),
            QStringLiteral("The %1 book has no %2 to take.")
                .arg(symbol, side == Side::Buy ? QStringLiteral("asks") : QStringLiteral("bids")));
    const double slip = m_settings.extraSlippageBps / 10'000.0;
    std::lock_guard lock(m_mutex);
    TakerResult result;
    result.requested = quantity;
    double notional = 0;
    for (const BookLevel &level : levels) {
        const double left = quantity - result.filled;
        if (left <= kQtyEpsilon)
            break;
        const double qty = std::min(left, level.quantity);
        if (qty <= 0)
            continue;
        const double price = level.price * (side == Side::Buy ? 1 + slip : 1 - slip);
        Fill f = applyFillLocked(agentId, symbol, side, price, qty, false, timeMs, 0);
        result.fills.append(f);
        result.filled += qty;
        result.fee += f.fee;
        result.realizedPnl += f.realizedPnl;
        notional += price * qty;
    }
    if (result.filled > 0) {
        result.averagePrice = notional / result.filled;
        const double mid = book.mid();
        if (mid > 0) {
            result.slippageBps
                = (side == Side::Buy ? result.averagePrice - mid : mid - result.averagePrice) / mid
                  * 10'000.0;
        }
    }
    persistLocked({{agentId, symbol}}, {agentId}, {}, result.fills);
    return result;
}

Result<TakerResult> PaperPortfolio::closePosition(const QString &agentId,
                                                  const QString &symbol,
                                                  const OrderBook &book,
                                                  qint64 timeMs)
{
    const double qty = netQuantity(agentId, symbol);
    if (std::abs(qty) <= kQtyEpsilon)
        return fail(QStringLiteral("no_position"),
                    QStringLiteral("Agent %1 has no open %2 position.").arg(agentId, symbol));
    // Another thread may trade in between: executeTaker takes what is asked, so re-check after.
    return executeTaker(agentId, symbol, qty > 0 ? Side::Sell : Side::Buy, std::abs(qty), book,
                        timeMs);
}

void PaperPortfolio::markToMarket(const QString &symbol, double price)
{
    if (!(price > 0))
        return;
    std::lock_guard lock(m_mutex);
    for (auto &bySymbol : m_positions) {
        auto it = bySymbol.find(symbol);
        if (it != bySymbol.end())
            it->markPrice = price;
    }
}

std::optional<Position> PaperPortfolio::position(const QString &agentId,
                                                 const QString &symbol) const
{
    std::lock_guard lock(m_mutex);
    const auto agent = m_positions.constFind(agentId);
    if (agent == m_positions.constEnd())
        return std::nullopt;
    const auto it = agent->constFind(symbol);
    if (it == agent->constEnd())
        return std::nullopt;
    return *it;
}

double PaperPortfolio::netQuantity(const QString &agentId, const QString &symbol) const
{
    const auto p = position(agentId, symbol);
    return p ? p->quantity : 0.0;
}

QList<Position> PaperPortfolio::positions(const QString &agentId) const
{
    std::lock_guard lock(m_mutex);
    QList<Position> out;
    for (const auto &bySymbol : m_positions) {
        for (const Position &p : bySymbol) {
            if (agentId.isEmpty() || p.agentId == agentId)
                out.append(p);
        }
    }
    std::sort(out.begin(), out.end(), [](const Position &a, const Position &b) {
        return a.agentId != b.agentId ? a.agentId < b.agentId : a.symbol < b.symbol;
    });
    return out;
}

QList<Position> PaperPortfolio::openPositions() const
{
    QList<Position> out = positions();
    out.removeIf([](const Position &p) { return !p.isOpen(); });
    return out;
}

AgentTradingStats PaperPortfolio::statsLocked(const QString &agentId) const
{
    AgentTradingStats s = m_stats.value(agentId);
    for (const Position &p : m_positions.value(agentId)) {
        if (p.isOpen()) {
            ++s.openPositions;
            s.unrealizedPnl += p.unrealizedPnl();
        }
    }
    return s;
}

AgentTradingStats PaperPortfolio::agentStats(const QString &agentId) const
{
    std::lock_guard lock(m_mutex);
    return statsLocked(agentId);
}

QList<Fill> PaperPortfolio::recentFills(int limit) const
{
    std::lock_guard lock(m_mutex);
    return m_recentFills.mid(std::max<qsizetype>(0, m_recentFills.size() - limit));
}

quint64 PaperPortfolio::persistErrors() const
{
    std::lock_guard lock(m_mutex);
    return m_persistErrors;
}

QJsonObject PaperPortfolio::toJson() const
{
    const QList<Position> all = positions();
    const QList<Quote> resting = quotes();
    std::lock_guard lock(m_mutex);
    QJsonArray positionsJson;
    for (const Position &p : all)
        positionsJson.append(p.toJson());
    QJsonArray quotesJson;
    for (const Quote &q : resting)
        quotesJson.append(q.toJson());
    QJsonObject agents;
    QStringList ids = m_stats.keys();
    std::sort(ids.begin(), ids.end());
    for (const QString &id : std::as_const(ids))
        agents.insert(id, statsLocked(id).toJson());
    return {{QStringLiteral("persistent"), m_db != nullptr},
            {QStringLiteral("path"), m_settings.path},
            {QStringLiteral("positions"), positionsJson},
            {QStringLiteral("quotes"), quotesJson},
            {QStringLiteral("agents"), agents},
            {QStringLiteral("persist_errors"), double(m_persistErrors)}};
}

} // namespace opsdeck::agents
