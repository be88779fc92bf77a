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
    static func hash(lane: Int64, seq: Int64, at: Instant, actor: String, action: String, subject: String, detail: String, previous: String) -> String
    {
        Secrets.sha256Hex("\(lane)|\(seq)|\(at.millisecondsSinceEpoch)|\(actor)|\(action)|\(subject)|\(detail)|\(previous)")
    }

    /// Appends a record to the caller's transaction. In a write transaction it is chained when the
    /// transaction is about to commit (`flush`): a lane's head is then locked only for the last moments
    /// of the transaction, and lanes are always locked in the same order (no deadlocks between lanes).
    static func append(actor: String, action: String, subject: String, detail: String, now: Instant, in db: any SQLExecutor) throws {
        let record = PendingAudit.Record(lane: lane(of: subject), at: now, actor: actor, action: action, subject: subject, detail: detail)
        if let pending = db.pendingAudit {
            pending.add(record)
        } else {
            try chain([record], in: db)
        }
    }

    /// Chains the transaction's waiting records, lane by lane in lane order, in the order they were
    /// appended.
    static func flush(_ db: any SQLExecutor) throws {
        guard let records = db.pendingAudit?.take(), !records.isEmpty else { return }
        try chain(records, in: db)
    }

    private static func chain(_ records: [PendingAudit.Record], in db: any SQLExecutor) throws {
        for lane in Set(records.map(\.lane)).sorted() {
            guard let head = try db.queryOne("SELECT seq, hash FROM audit_heads WHERE lane = ? FOR UPDATE", [.integer(lane)]) else {
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
            try db.execute("INSERT INTO audit_log (lane, seq, at, actor, action, subject, detail, prev_hash, hash) VALUES \(rows)", values)
            try db.execute("UPDATE audit_heads SET seq = ?, hash = ? WHERE lane = ?", [.integer(seq), .text(previous), .integer(lane)])
        }
    }

    /// Appends a record whose detail is a value encoded with Yibao's JSON (sorted keys).
    static func append<T: Encodable>(actor: String, action: String, subject: String, value: T, now: Instant, in db: any SQLExecutor) throws {
        try append(actor: actor, action: action, subject: subject, detail: YibaoJSON.string(value), now: now, in: db)
    }
}

/// What `verify-audit` found.
public struct AuditReport: Sendable, Hashable, Codable {
    /// A lane's head: its length and last hash (the anchor to publish).
    public struct Head: Sendable, Hashable, Codable, CustomStringConvertible {
        /// The lane.
        public var lane: Int64
        /// Records in the lane.
        public var seq: Int64
        /// The last record's hash.
        public var hash: String

        /// `lane:seq:hash`, as printed in reports and given to `--anchor`.
        public var description: String { "\(lane):\(seq):\(hash)" }

        /// Parses `lane:seq:hash`.
        public init?(_ text: String) {
            let parts = text.split(separator: ":")
            guard parts.count == 3, let lane = Int64(parts[0]), let seq = Int64(parts[1]), parts[2].count == 64 else { return nil }
            self.init(lane: lane, seq: seq, hash: String(parts[2]))
        }

        /// Creates a head.
        public init(lane: Int64, seq: Int64, hash: String) {
            self.lane = lane
            self.seq = seq
            self.hash = hash
        }
    }

    /// Records checked.
    public var records: Int64
    /// Every lane's head.
    public var heads: [Head]
    /// The first broken link of each broken lane, and anchors not found.
    public var problems: [String]

    /// True when every chain verifies.
    public var passed: Bool { problems.isEmpty }
}

extension Store {
    /// Verifies every audit lane: contiguous sequence numbers, each record's previous hash equal to the
    /// hash before it, each hash recomputed from the record, the head equal to the last record; and that
    /// each anchor (a head published earlier) is still in its chain.
    public func verifyAudit(anchors: [AuditReport.Head] = []) async throws -> AuditReport {
        try await read { db, _ in
            var problems: [String] = []
            var heads: [AuditReport.Head] = []
            var records: Int64 = 0
            for lane in 0..<AuditRepository.lanes {
                var expectedSeq: Int64 = 1
                var previous = AuditRepository.genesis(lane: lane)
                var broken = false
                var hashes: [Int64: String] = [:]
                let wanted = Set(anchors.filter { $0.lane == lane }.map(\.seq))
                var after: Int64 = 0
                batches: while true {
                    let rows = try db.query(
                        "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_log WHERE lane = ? AND seq > ? ORDER BY seq LIMIT 1000",
                        [.integer(lane), .integer(after)]
                    )
                    guard let last = rows.last else { break }
                    for row in rows {
                        records += 1
                        let seq = try row.int64("seq")
                        let stored = try row.string("hash")
                        if wanted.contains(seq) { hashes[seq] = stored }
                        guard !broken else { continue }
                        let recomputed = AuditRepository.hash(
                            lane: lane, seq: seq, at: try row.instant("at"), actor: try row.string("actor"), action: try row.string("action"),
                            subject: try row.string("subject"), detail: try row.string("detail"), previous: try row.string("prev_hash")
                        )
                        if seq != expectedSeq {
                            problems.append("lane \(lane): record \(expectedSeq) is missing (found \(seq) next): deleted or reordered")
                            broken = true
                        } else if try row.string("prev_hash") != previous {
                            problems.append(
                                "lane \(lane) record \(seq): its previous hash does not match record \(seq - 1): deleted, inserted or reordered")
                            broken = true
                        } else if recomputed != stored {
                            problems.append("lane \(lane) record \(seq): its content does not match its hash: edited")
                            broken = true
                        }
                        previous = stored
                        expectedSeq = seq + 1
                    }
                    after = try last.int64("seq")
                    if rows.count < 1000 { break batches }
                }
                guard let head = try db.queryOne("SELECT seq, hash FROM audit_heads WHERE lane = ?", [.integer(lane)]) else {
                    problems.append("lane \(lane): the head is missing")
                    continue
                }
                let headSeq = try head.int64("seq")
                let headHash = try head.string("hash")
                if !broken && (headSeq != expectedSeq - 1 || headHash != previous) {
                    problems.append(
                        "lane \(lane): the head says \(headSeq) records but the chain has \(expectedSeq - 1): truncated or appended outside Yibao")
                }
                heads.append(AuditReport.Head(lane: lane, seq: headSeq, hash: headHash))
                for anchor in anchors where anchor.lane == lane && hashes[anchor.seq] != anchor.hash {
                    problems.append("lane \(lane): anchor \(anchor) is not in the chain: the log was rewritten or truncated after it was published")
                }
            }
            return AuditReport(records: records, heads: heads, problems: problems)
        }
    }

    /// The current heads of every lane: publish them (the daily report prints them) to make a later
    /// rewrite or truncation visible.
    public func auditHeads() async throws -> [AuditReport.Head] {
        try await read { db, _ in
            try db.query("SELECT lane, seq, hash FROM audit_heads ORDER BY lane", []).map {
                AuditReport.Head(lane: try $0.int64("lane"), seq: try $0.int64("seq"), hash: try $0.string("hash"))
            }
        }
    }

    /// Appends an audit record on its own (sensitive reads: an operator viewing a person, a family
    /// member viewing a member's records).
    public func audit(actor: String, action: String, subject: String, detail: [String: String] = [:]) async throws {
        try await write { db, now in try AuditRepository.append(actor: actor, action: action, subject: subject, value: detail, now: now, in: db) }
    }
}

/// A write transaction's audit records waiting to be chained at commit.
public final class PendingAudit: Sendable {
    struct Record: Sendable {
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

/// One audit record as an operator reads it.
public struct AuditEntry: Sendable, Hashable, Codable {
    /// When.
    public var at: Instant
    /// Who (`operator:<name>`, `patient:<number>`, `institution:<code>`, `system:…`).
    public var actor: String
    /// What.
    public var action: String
    /// About whom or what.
    public var subject: String
    /// The details, as recorded (JSON).
    public var detail: String
}

extension Store {
    /// The audit trail of a subject (a person number, an institution code, a partner …), oldest first.
    public func auditTrail(subject: String, limit: Int = 200) async throws -> [AuditEntry] {
        try await read { db, _ in
            try db.query(
                "SELECT at, actor, action, subject, detail FROM audit_log WHERE subject = ? ORDER BY at, lane, seq LIMIT \(max(1, min(limit, 1000)))",
                [.text(subject)]
            ).map {
                AuditEntry(
                    at: try $0.instant("at"), actor: try $0.string("actor"), action: try $0.string("action"), subject: try $0.string("subject"),
                    detail: try $0.string("detail"))
            }
        }
    }
}
