import YibaoCore
import YibaoStore

/// What closing a day did: the channel's three-way reconciliation (when the channel gives statements),
/// the exception queue's scan, and the day's fund report.
public struct DailyClose: Sendable, Hashable, Codable {
    /// The day closed.
    public var day: CivilDate
    /// The channel reconciliation, when the channel gives statements.
    public var channel: ChannelReconciliationResult?
    /// Items opened in the exception queue by this run.
    public var exceptionsOpened: Int
    /// Items the run found resolved (matched on a later run, an operation that went through).
    public var exceptionsResolved: Int
    /// The day's fund report, with the ledger verified.
    public var fundReport: FundReport
    /// What the ledger's verification covered and found: the day's entries with every balance against
    /// the previous close's verified sums, or the whole ledger (`Platform.verifyLedger(closing:)`).
    public var ledger: LedgerReport?
}

/// The platform's calendar as the daily close sees it.
public struct ServiceDays: Sendable, Hashable, Codable {
    /// Today in China, by the platform's clock (the sandbox's clock in a demo).
    public var today: CivilDate
    /// The day the installation went into service: its database was created that day. A day before it
    /// is never closed; the first day closed is this one, after 01:00 the next day.
    public var inServiceSince: CivilDate
}

extension Platform {
    /// How many failed attempts make a channel operation an exception.
    public static let failingAttempts: Int64 = 8
    /// How long a settlement may wait for its bank before it is an exception (a hold should not outlast it).
    public static let pendingTooLongSeconds: Int64 = 3600

    /// Three-way reconciliation of a day: the channel's statement against Yibao's channel postings (and
    /// so the settlements, premiums and refunds they belong to). Breaks open exception items; items of
    /// the day a rerun no longer finds are resolved. Refused when no channel that gives statements is
    /// configured.
    public func reconcileChannel(day: CivilDate) async throws -> ChannelReconciliationResult {
        guard let source = channel as? any ChannelStatementSource else {
            throw Refusal(.partyNotConfigured, "the payment channel \(channel.name) gives no statements")
        }
        try checkPeriodEnded(.day(day))
        let statement = try await source.statement(day: day)
        let nextDay = try await source.statement(day: day.adding(days: 1)).movements
        let name = channel.name
        let ids = self.ids
        let recordID = ids.next("RC")
        // Read and compare on a reader; only the exception items and the record go through the writer.
        let (ours, around) = try await read { db, _ in
            (
                try ExceptionRepository.channelMovements(channel: name, start: day.startInChina, end: day.adding(days: 1).startInChina, in: db),
                try ExceptionRepository.channelMovements(channel: name, start: day.adding(days: -1).startInChina, end: day.startInChina, in: db)
                    + ExceptionRepository.channelMovements(
                        channel: name, start: day.adding(days: 1).startInChina, end: day.adding(days: 2).startInChina, in: db)
            )
        }
        let result = ChannelReconciliation.compare(statement: statement, nextDay: nextDay, yibaoDay: ours, yibaoAround: around)
        return try await write { db, now in
            let scope = "channel:\(name):\(day)"
            for item in result.breaks {
                let detail =
                    "\(item.movement.rawValue) \(item.key) on \(day): channel \(item.channel.map(\.description) ?? "—"), Yibao \(item.yibao.map(\.description) ?? "—")"
                try ExceptionRepository.open(
                    ExceptionItem(
                        id: ids.next("EX"), kind: ExceptionItem.Kind(item.kind), reference: item.key, detail: detail, state: "open", createdAt: now),
                    scope: scope, in: db)
            }
            _ = try ExceptionRepository.resolveVanished(
                scope: scope, kinds: [.channelMissingInYibao, .channelMissingAtChannel, .channelAmountDiffers],
                stillThere: Set(result.breaks.map(\.key)),
                now: now, in: db)
            let period = StatementPeriod.day(day)
            try ClearingRepository.insertReconciliation(
                ReconciliationRecord(
                    id: recordID, institutionCode: "channel:" + name, kind: "channel", period: period, balanced: result.breaks.isEmpty,
                    summary: "\(result.statementMovements) on the statement, \(result.yibaoMovements) in Yibao, \(result.breaks.count) breaks",
                    createdAt: now), in: db)
            return result
        }
    }

    /// Scans for channel operations that keep failing and settlements pending too long: each opens an
    /// exception item once; items whose cause went away are resolved. Returns (opened, resolved).
    public func scanExceptions() async throws -> (opened: Int, resolved: Int) {
        await flushChannelWork()
        let ids = self.ids
        return try await write { db, now in
            let before = try ExceptionRepository.openCounts(in: db).reduce(0) { $0 + Int($1.count) }
            let failing = try ExceptionRepository.failingOperations(attempts: Platform.failingAttempts, in: db)
            let pending = try ExceptionRepository.longPending(before: now.adding(seconds: -Platform.pendingTooLongSeconds), in: db)
            for (kind, scope, found) in [
                (ExceptionItem.Kind.channelOperationFailing, "operations", failing), (.settlementPendingTooLong, "pending", pending),
            ] {
                for item in found {
                    try ExceptionRepository.open(
                        ExceptionItem(id: ids.next("EX"), kind: kind, reference: item.id, detail: item.detail, state: "open", createdAt: now),
                        scope: scope,
                        in: db)
                }
            }
            let resolved =
                try ExceptionRepository.resolveVanished(
                    scope: "operations", kinds: [.channelOperationFailing], stillThere: Set(failing.map(\.id)), now: now, in: db)
                + ExceptionRepository.resolveVanished(
                    scope: "pending", kinds: [.settlementPendingTooLong], stillThere: Set(pending.map(\.id)), now: now, in: db)
            let after = try ExceptionRepository.openCounts(in: db).reduce(0) { $0 + Int($1.count) }
            return (after - before + resolved, resolved)
        }
    }

    /// Exception items in a state (`open` or `resolved`), oldest first.
    public func exceptions(state: String) async throws -> [ExceptionItem] {
        guard state == "open" || state == "resolved" else { throw Refusal.invalid("state", "state is open or resolved") }
        return try await read { db, _ in try ExceptionRepository.list(state: state, in: db) }
    }

    /// An operator resolves an item, saying how (audited).
    public func resolveException(id: String, resolution: String, operatorName: String) async throws -> ExceptionItem {
        guard !resolution.isEmpty, resolution.count <= 500 else { throw Refusal.invalid("resolution", "the resolution is 1 to 500 characters") }
        return try await write { db, now in
            guard var item = try ExceptionRepository.find(id: id, in: db) else { throw Refusal(.notFound, "no exception item \(id)") }
            guard item.state == "open" else { throw Refusal(.alreadyExists, "exception item \(id) is already resolved") }
            try ExceptionRepository.resolve(id: id, resolution: resolution, by: "operator:" + operatorName, now: now, in: db)
            try AuditRepository.append(
                actor: "operator:" + operatorName, action: "exception.resolve", subject: item.reference,
                value: ["exception": id, "kind": item.kind.rawValue, "resolution": resolution], now: now, in: db)
            item.state = "resolved"
            item.resolvedAt = now
            item.resolvedBy = "operator:" + operatorName
            item.resolution = resolution
            return item
        }
    }

    /// Open exception items per kind, with the oldest one's age in seconds (for `/metrics`).
    public func openExceptions() async throws -> [(kind: String, count: Int64, oldestAgeSeconds: Int64)] {
        try await read { db, now in
            try ExceptionRepository.openCounts(in: db).map {
                ($0.kind, $0.count, max(0, (now.millisecondsSinceEpoch - $0.oldest.millisecondsSinceEpoch) / 1000))
            }
        }
    }

    /// Closes a day (yesterday in China by default): reconciles the channel, scans the exception queue and
    /// makes the day's fund report with the ledger verified (the day's entries against the previous
    /// close, or the whole ledger: `verifyLedger(closing:)`), and keeps it. Idempotent: a day already
    /// closed returns the kept result unless `again`; running it again refreshes the result.
    /// A day's entries may be many: the close waits for the database as long as it takes (`DatabaseWait`).
    public func closeDay(_ day: CivilDate? = nil, again: Bool = false) async throws -> DailyClose {
        try await DatabaseWait.unbounded { try await closeDayUnbounded(day, again: again) }
    }

    private func closeDayUnbounded(_ day: CivilDate?, again: Bool) async throws -> DailyClose {
        let now = clock.now()
        let day = day ?? ChinaTime.date(now).adding(days: -1)
        try checkPeriodEnded(.day(day))
        if !again, let kept = try await read({ db, _ in try ExceptionRepository.dailyClose(day: day, in: db) }) {
            return try YibaoJSON.decodeStored(DailyClose.self, from: kept)
        }
        let channelResult = channel is any ChannelStatementSource ? try await reconcileChannel(day: day) : nil
        let scan = try await scanExceptions()
        await flushProjections()
        let ledger = try await verifyLedger(closing: day)
        let report = try await fundReport(period: .day(day), verification: ledger)
        let close = DailyClose(
            day: day, channel: channelResult, exceptionsOpened: scan.opened + (channelResult?.breaks.count ?? 0), exceptionsResolved: scan.resolved,
            fundReport: report, ledger: ledger)
        let stored = try YibaoJSON.storageString(close)
        try await write { db, now in try ExceptionRepository.keepDailyClose(day: day, report: stored, now: now, in: db) }
        return close
    }

    /// The closes kept for the days of `period`, the latest day first (a day not closed is absent), as
    /// `closeDay` answered them.
    public func dailyCloses(period: StatementPeriod) async throws -> [DailyClose] {
        let kept = try await read { db, _ in try ExceptionRepository.dailyCloses(from: period.from, through: period.through, in: db) }
        return try kept.map { try YibaoJSON.decodeStored(DailyClose.self, from: $0) }
    }

    /// The server's own close: yesterday, once the clock is past 01:00 in China (when yesterday's late
    /// captures and refunds are through), if it is not closed yet and Yibao was in service that day (a day
    /// before the database was created has nothing to close). Nil when no day is due.
    public func closeYesterdayIfDue() async throws -> DailyClose? {
        let now = ChinaTime.localDateTime(clock.now())
        let yesterday = now.date.adding(days: -1)
        // Once yesterday is closed this is one read a minute's tick, as before the service day was asked.
        guard now.hour >= 1, try await !isClosed(yesterday), yesterday >= (try await serviceDays()).inServiceSince else { return nil }
        return try await closeDay(yesterday)
    }

    /// What the daily close's calendar needs: today by the platform's clock (China), and the day this
    /// installation went into service (its database was created). Days before it have nothing to close.
    public func serviceDays() async throws -> ServiceDays {
        try await read { db, now in
            let today = ChinaTime.date(now)
            return ServiceDays(today: today, inServiceSince: try Migrations.createdAt(in: db).map(ChinaTime.date) ?? today)
        }
    }

    /// Whether a day was closed.
    public func isClosed(_ day: CivilDate) async throws -> Bool {
        try await read { db, _ in try ExceptionRepository.dailyClose(day: day, in: db) != nil }
    }
}

/// What an operator alerts on, read from the database when `/metrics` is scraped.
public struct OperationalGauges: Sendable {
    /// Open exception items per kind, with the oldest one's age in seconds.
    public var exceptions: [(kind: String, count: Int64, oldestAgeSeconds: Int64)]
    /// Outbox rows not yet expanded, and the oldest one's age.
    public var outbox: (count: Int64, oldestAgeSeconds: Int64)
    /// Webhook deliveries not yet delivered, and the oldest one's age.
    public var webhooks: (count: Int64, oldestAgeSeconds: Int64)
    /// Channel operations not done, and those failing (at least `failingAttempts` attempts).
    public var channelOperations: (pending: Int64, failing: Int64)
    /// Settlements waiting for their bank.
    public var pendingSettlements: Int64
    /// Per institution: whole days up to yesterday not covered by a balanced reconciliation.
    public var daysUnreconciled: [(institution: String, days: Int64)]
}

extension Platform {
    /// The gauges of `/metrics`: a handful of indexed counts.
    public func operationalGauges() async throws -> OperationalGauges {
        await flushChannelWork()
        return try await read { db, now in
            func age(_ oldest: Instant?) -> Int64 { oldest.map { max(0, (now.millisecondsSinceEpoch - $0.millisecondsSinceEpoch) / 1000) } ?? 0 }
            let exceptions = try ExceptionRepository.openCounts(in: db).map { ($0.kind, $0.count, age($0.oldest)) }
            let outbox = try ExceptionRepository.backlog("SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox", in: db)
            let webhooks = try ExceptionRepository.backlog(
                "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM webhook_deliveries WHERE state = 'pending'", in: db)
            let pending = try ChannelOperationRepository.pendingCount(in: db)
            let failing = try ExceptionRepository.backlog(
                "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM channel_operations WHERE state = 'pending' AND attempts >= \(Platform.failingAttempts)",
                in: db)
            let settlements = try ExceptionRepository.backlog(
                "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM settlements WHERE state = 'pending'", in: db)
            let yesterday = ChinaTime.date(now).adding(days: -1)
            let days = try ExceptionRepository.reconciliationStanding(in: db).map { standing -> (String, Int64) in
                let from = standing.balancedThrough.flatMap(CivilDate.init).map { $0.adding(days: 1) } ?? ChinaTime.date(standing.first)
                return (standing.institution, max(0, yesterday.daysSinceEpoch - from.daysSinceEpoch + 1))
            }
            return OperationalGauges(
                exceptions: exceptions, outbox: (outbox.count, age(outbox.oldest)), webhooks: (webhooks.count, age(webhooks.oldest)),
                channelOperations: (pending, failing.count), pendingSettlements: settlements.count, daysUnreconciled: days)
        }
    }
}
