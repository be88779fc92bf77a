import Synchronization
import YibaoCore

/// The tamper-evident audit log: every money movement and every sensitive read or change appends a
/// record carrying the hash of the record before it, in the same transaction as what it records.
///
/// There are `lanes` independent chains (a subject always lands in the same lane), so that on
/// PostgreSQL concurrent transactions do not all wait for one chain head; `verify-audit` proves every
/// lane. Each lane starts from a genesis hash written by the migration.
public enum AuditRepository {
    /// The number of chains.
    public static let lanes: Int64 = 8

    /// The lane of a subject (FNV-1a of its bytes).
    public static func lane(of subject: String) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in subject.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return Int64(hash % UInt64(lanes))
    }

    /// The genesis hash of a lane.
    public static func genesis(lane: Int64) -> String { Secrets.sha256Hex("yibao-audit-genesis|\(lane)") }

    /// The hash of a record.
    package static func hash(
        lane: Int64, seq: Int64, at: Instant, actor: String, action: String, subject: String, detail: String, previous: String
    ) -> String {
        Secrets.sha256Hex("\(lane)|\(seq)|\(at.millisecondsSinceEpoch)|\(actor)|\(action)|\(subject)|\(detail)|\(previous)")
    }

    /// Appends a record to the caller's transaction. In a write transaction it is chained when the
    /// transaction is about to commit (`flush`): a lane's head is then locked only for the last moments
    /// of the transaction, and lanes are always locked in the same order (no deadlocks between lanes).
    package static func append(actor: String, action: String, subject: String, detail: String, now: Instant, in db: any SQLExecutor) throws {
        let record = PendingAudit.Record(lane: lane(of: subject), at: now, actor: actor, action: action, subject: subject, detail: detail)
        if let pending = db.pendingAudit {
            pending.add(record)
        } else {
            try chain([record], in: db)
        }
    }

    /// Chains the transaction's waiting records, lane by lane in lane order, in the order they were
    /// appended.
    package static func flush(_ db: any SQLExecutor) throws {
        guard let records = db.pendingAudit?.take(), !records.isEmpty else { return }
        try chain(records, in: db)
    }

    /// Chains `records` in two round trips whatever the number of lanes: the heads of every lane they
    /// touch read and locked by one statement (in lane order, so transactions never wait for each other
    /// in a cycle), then every lane's records and new head written in one batch.
    private static func chain(_ records: [PendingAudit.Record], in db: any SQLExecutor) throws {
        let lanes = Set(records.map(\.lane)).sorted()
        let heads = try db.query(
            "SELECT lane, seq, hash FROM audit_heads WHERE lane IN (\(placeholders(lanes.count))) ORDER BY lane FOR UPDATE",
            lanes.map { .integer($0) })
        var statements: [SQLStatement] = []
        for lane in lanes {
            guard let head = try heads.first(where: { try $0.int64("lane") == lane }) else {
                throw StoreError.decoding("audit lane \(lane) has no head")
            }
            var seq = try head.int64("seq")
            var previous = try head.string("hash")
            var values: [SQLValue] = []
            for record in records where record.lane == lane {
                seq += 1
                let hash = hash(
                    lane: lane, seq: seq, at: record.at, actor: record.actor, action: record.action, subject: record.subject, detail: record.detail,
                    previous: previous)
                values += [
                    .integer(lane), .integer(seq), .instant(record.at), .text(record.actor), .text(record.action), .text(record.subject),
                    .text(record.detail), .text(previous), .text(hash),
                ]
                previous = hash
            }
            let rows = placeholders(values.count / 9, "(?, ?, ?, ?, ?, ?, ?, ?, ?)")
            statements.append(
                SQLStatement("INSERT INTO audit_log (lane, seq, at, actor, action, subject, detail, prev_hash, hash) VALUES \(rows)", values))
            statements.append(
                SQLStatement("UPDATE audit_heads SET seq = ?, hash = ? WHERE lane = ?", [.integer(seq), .text(previous), .integer(lane)]))
        }
        // Each lane's records and head: no statement reads another's rows.
        try db.writeTogether(statements)
    }

    /// Appends a record whose detail is a value encoded with Yibao's JSON (sorted keys).
    package static func append<T: Encodable>(actor: String, action: String, subject: String, value: T, now: Instant, in db: any SQLExecutor) throws {
        try append(actor: actor, action: action, subject: subject, detail: YibaoJSON.string(value), now: now, in: db)
    }
}

/// A write transaction's audit records waiting to be chained at commit.
public final class PendingAudit: Sendable {
    package struct Record: Sendable {
        let lane: Int64
        let at: Instant
        let actor: String
        let action: String
        let subject: String
        let detail: String
    }

    private let records = Mutex<[Record]>([])

    init() {}

    func add(_ record: Record) { records.withLock { $0.append(record) } }

    func take() -> [Record] {
        records.withLock { records in
            defer { records = [] }; return records
        }
    }
}
