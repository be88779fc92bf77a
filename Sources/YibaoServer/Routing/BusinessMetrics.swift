import Prometheus
import Synchronization
import YibaoApp
import YibaoCore

/// What the business does, for `/metrics`: counters of settlements, refunds and reversals by outcome and
/// refusal code and of the amounts each bucket paid (this instance's, since it started), and gauges read
/// from the database when scraped (shared by every instance): the exception queue, the outbox and
/// webhook backlogs, channel operations pending and failing, settlements pending, days not reconciled.
struct BusinessMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    /// The counters made so far, by metric and labels: the registry builds the metric's name and looks
    /// it up under its lock at every `makeCounter`, which cost every settlement four times over.
    private let counters = Counters()

    init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    /// Counts a settlement, refund or reversal that completed or is pending.
    func record(_ record: SettlementRecord) {
        let kind = record.kind.rawValue
        counter(Self.settlements, ("kind", kind), ("outcome", record.state.rawValue)).increment()
        guard record.state == .completed else { return }
        for (bucket, amount) in [
            ("fund", record.breakdown.fundTotal), ("account", record.breakdown.accountPaid), ("cash", record.breakdown.cashPaid),
        ] where amount != .zero {
            counter(Self.amounts, ("kind", kind), ("bucket", bucket)).increment(by: Int64(amount.fen.magnitude))
        }
    }

    /// Counts a refused settlement, refund or reversal by its code.
    func refused(_ kind: SettlementKind, _ refusal: Refusal) {
        counter(Self.refusals, ("kind", kind.rawValue), ("code", refusal.code.rawValue)).increment()
    }

    /// The counter of `descriptor` with two labels, made by the registry the first time only.
    private func counter(_ descriptor: MetricNameDescriptor, _ first: (String, String), _ second: (String, String)) -> Counter {
        let key = Counters.Key(metric: descriptor.metricName, first: first.1, second: second.1)
        return counters.made.withLock { made in
            if let counter = made[key] { return counter }
            let counter = registry.makeCounter(descriptor: descriptor, labels: [first, second])
            made[key] = counter
            return counter
        }
    }

    private final class Counters: Sendable {
        struct Key: Hashable {
            let metric: String
            let first: String
            let second: String
        }

        let made = Mutex<[Key: Counter]>([:])
    }

    /// Runs a settlement, refund or reversal and counts its outcome.
    func count(_ kind: SettlementKind, _ work: () async throws -> SettlementRecord) async throws -> SettlementRecord {
        do {
            let result = try await work()
            record(result)
            return result
        } catch let refusal as Refusal {
            refused(kind, refusal)
            throw refusal
        }
    }

    static var settlements: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "yibao", metricName: "settlements", unitName: "total", helpText: "Settlements, refunds and reversals by kind and outcome")
    }
    static var refusals: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "yibao", metricName: "settlements_refused", unitName: "total", helpText: "Refused settlements, refunds and reversals by code")
    }
    static var amounts: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "yibao", metricName: "settled_amount", unitName: "fen_total",
            helpText: "Amounts moved by kind and bucket (refunds and reversals as given back)")
    }

    /// This instance's waits for the database server's answers (PostgreSQL), as Prometheus text: the
    /// round trips per settlement are what bounds the settlement rate on PostgreSQL (`bench/postgres`).
    static func roundTrips(_ count: Int) -> String {
        """
        # HELP yibao_database_round_trips_total Times this instance waited for the database server's answer (one per statement or batch)
        # TYPE yibao_database_round_trips_total counter
        yibao_database_round_trips_total \(count)

        """
    }

    /// The gauges as Prometheus text.
    static func gauges(_ g: OperationalGauges) -> String {
        var lines: [String] = []
        func gauge(_ name: String, _ help: String, _ samples: [(labels: String, value: Int64)]) {
            lines.append("# HELP yibao_\(name) \(help)")
            lines.append("# TYPE yibao_\(name) gauge")
            for sample in samples { lines.append("yibao_\(name)\(sample.labels) \(sample.value)") }
        }
        let open = Dictionary(g.exceptions.map { ($0.kind, $0) }, uniquingKeysWith: { first, _ in first })
        let kinds = ExceptionItem.Kind.allCases.map(\.rawValue)
        gauge("exceptions_open", "Open items in the exception queue", kinds.map { ("{kind=\"\($0)\"}", open[$0]?.count ?? 0) })
        gauge(
            "exceptions_oldest_age_seconds", "Age of the oldest open item of each kind",
            kinds.map { ("{kind=\"\($0)\"}", open[$0]?.oldestAgeSeconds ?? 0) })
        gauge("outbox_backlog", "Outbox rows not yet expanded", [("", g.outbox.count)])
        gauge("outbox_oldest_age_seconds", "Age of the oldest outbox row", [("", g.outbox.oldestAgeSeconds)])
        gauge("webhook_backlog", "Webhook deliveries waiting", [("", g.webhooks.count)])
        gauge("webhook_oldest_age_seconds", "Age of the oldest waiting webhook delivery", [("", g.webhooks.oldestAgeSeconds)])
        gauge("channel_operations_pending", "Captures, refunds and partner calls not yet confirmed", [("", g.channelOperations.pending)])
        gauge(
            "channel_operations_failing", "Channel operations tried at least \(Platform.failingAttempts) times", [("", g.channelOperations.failing)])
        gauge("settlements_pending", "Settlements waiting for their bank's answer", [("", g.pendingSettlements)])
        gauge(
            "institution_days_unreconciled", "Days up to yesterday not covered by a balanced reconciliation",
            g.daysUnreconciled.map { ("{institution=\"\($0.institution)\"}", $0.days) })
        return lines.joined(separator: "\n") + "\n"
    }
}
