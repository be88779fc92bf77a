import YibaoCore
import YibaoStore

extension Platform {
    /// Verifies every audit lane: contiguous sequence numbers, each record's previous hash equal to the
    /// hash before it, each hash recomputed from the record, the head equal to the last record; and that
    /// each anchor (a head published earlier) is still in its chain.
    public func verifyAudit(anchors: [AuditReport.Head] = []) async throws -> AuditReport {
        await flushProjections()
        return try await read { db, _ in
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
        await flushProjections()
        return try await read { db, _ in
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

extension Platform {
    /// The audit trail of a subject (a person number, an institution code, a partner …), oldest first.
    public func auditTrail(subject: String, limit: Int = 200) async throws -> [AuditEntry] {
        await flushProjections()
        return try await read { db, _ in
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

    /// Creates a report.
    public init(records: Int64, heads: [Head], problems: [String]) {
        self.records = records
        self.heads = heads
        self.problems = problems
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

    /// Creates an entry.
    public init(at: Instant, actor: String, action: String, subject: String, detail: String) {
        self.at = at
        self.actor = actor
        self.action = action
        self.subject = subject
        self.detail = detail
    }
}
