import YibaoCore
import YibaoStore

/// The sandbox bank as a partner for medical credit lines.
///
/// **Credit standing model** (the sandbox's stand-in for a bank's underwriting, docs/credit.md): the bank
/// keeps a credit-bureau row per ID number — a score (default 700, settable by an operator through
/// `PUT /v1/sandbox/credit-standing`) and a delinquency flag that overdue reports set and repaid reports
/// clear. An application is refused when the applicant is not insured now, is under 18 or over 75, has
/// a delinquency on record, or scores below 600. Otherwise the limit is 5,000 yuan (score 600–679),
/// 10,000 yuan (680–749) or 20,000 yuan (750 and above). One line per person: a repeated application
/// returns the line already granted.
extension SandboxBank: CreditProvider {
    public var partner: String { name }

    /// The score of someone the bureau has no record of.
    public static let defaultScore = 700

    /// The sandbox's decision, pure: a refusal reason, or the limit.
    public static func decide(score: Int, delinquent: Bool, age: Int, insured: Bool) -> Result<Money, CreditRefusal> {
        if !insured { return .failure(CreditRefusal("the applicant is not insured now (未处于参保状态)")) }
        if age < 18 || age > 75 { return .failure(CreditRefusal("the applicant's age \(age) is outside 18–75 (年龄不符)")) }
        if delinquent { return .failure(CreditRefusal("an unpaid overdue record at the credit bureau (征信有逾期未还记录)")) }
        if score < 600 { return .failure(CreditRefusal("credit score \(score) is below 600 (信用评分不足)")) }
        return .success(score >= 750 ? .yuan(20_000) : score >= 680 ? .yuan(10_000) : .yuan(5_000))
    }

    /// A refusal with its reason.
    public struct CreditRefusal: Error, Sendable, Hashable {
        /// Words for the patient.
        public let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    /// Sets a person's score at the sandbox credit bureau (operators, demos, tests).
    public func setCreditScore(idNumber: String, score: Int) async throws {
        let hash = Secrets.sha256Hex(idNumber.uppercased())
        let now = clock.now()
        _ = try await backend.write { db in
            try db.execute(
                """
                INSERT INTO sandbox_credit_bureau (holder_id_hash, score, delinquent, updated_at) VALUES (?, ?, 0, ?)
                ON CONFLICT (holder_id_hash) DO UPDATE SET score = excluded.score, updated_at = excluded.updated_at
                """,
                [.text(hash), .integer(Int64(score)), .instant(now)]
            )
        }
    }

    /// A person's bureau row: score and delinquency.
    public func creditStanding(idNumber: String) async throws -> (score: Int, delinquent: Bool) {
        let hash = Secrets.sha256Hex(idNumber.uppercased())
        return try await backend.read { db in
            guard let row = try db.queryOne("SELECT score, delinquent FROM sandbox_credit_bureau WHERE holder_id_hash = ?", [.text(hash)]) else {
                return (SandboxBank.defaultScore, false)
            }
            return (Int(try row.int64("score")), try row.int64("delinquent") != 0)
        }
    }

    public func apply(_ application: CreditApplication) async throws -> CreditDecision {
        try await enter(moneyMoving: false)
        let hash = Secrets.sha256Hex(application.idNumber.uppercased())
        if let existing = try await backend.read({ db in
            try db.queryOne("SELECT * FROM sandbox_cards WHERE holder_id_hash = ? AND kind = 'medical_credit'", [.text(hash)]).map(SandboxBank.decode)
        }) {
            return .approved(
                BoundCard(token: existing.token, masked: SandboxBank.maskLine(existing.number), kind: .medicalCredit, bank: existing.bank),
                limit: existing.creditLimit)
        }
        let standing = try await creditStanding(idNumber: application.idNumber)
        let age = application.birthDate.age(on: ChinaTime.date(clock.now()))
        switch SandboxBank.decide(score: standing.score, delinquent: standing.delinquent, age: age, insured: application.insured) {
        case .failure(let refusal):
            return .refused(refusal.reason)
        case .success(let limit):
            let card = try await issueCard(
                holderIDNumber: application.idNumber, holderName: application.name, kind: .medicalCredit, creditLimit: limit,
                number: SandboxBank.cardNumber(bin: "625809")
            )
            return .approved(
                BoundCard(token: card.token, masked: SandboxBank.maskLine(card.number), kind: .medicalCredit, bank: card.bank), limit: limit)
        }
    }

    public func repay(token: String, reference: String, principal: Money) async throws {
        try await enter(moneyMoving: false)
        let now = clock.now()
        try await backend.write { db in
            guard try db.queryOne("SELECT reference FROM sandbox_credit_events WHERE reference = ?", [.text(reference)]) == nil else { return }
            try db.execute(
                "INSERT INTO sandbox_credit_events (reference, token, kind, amount, created_at) VALUES (?, ?, 'repay', ?, ?)",
                [.text(reference), .text(token), .money(principal), .instant(now)]
            )
            try db.execute(
                "UPDATE sandbox_cards SET used = used - ?, updated_at = ? WHERE token = ? AND kind = 'medical_credit'",
                [.money(principal), .instant(now), .text(token)]
            )
        }
    }

    public func setSuspended(token: String, suspended: Bool) async throws {
        try await enter(moneyMoving: false)
        let now = clock.now()
        _ = try await backend.write { db in
            try db.execute(
                "UPDATE sandbox_cards SET status = ?, updated_at = ? WHERE token = ? AND kind = 'medical_credit'",
                [.text(suspended ? "suspended" : "active"), .instant(now), .text(token)]
            )
        }
    }

    public func report(_ record: CreditReport) async throws {
        try await enter(moneyMoving: false)
        let now = clock.now()
        try await backend.write { db in
            guard try db.queryOne("SELECT reference FROM sandbox_credit_events WHERE reference = ?", [.text(record.id)]) == nil else { return }
            try db.execute(
                "INSERT INTO sandbox_credit_events (reference, token, kind, amount, created_at) VALUES (?, ?, ?, ?, ?)",
                [.text(record.id), .text(record.token), .text("report_" + record.kind), .money(record.amount), .instant(now)]
            )
            guard
                let hash = try db.queryOne("SELECT holder_id_hash FROM sandbox_cards WHERE token = ?", [.text(record.token)])?.string(
                    "holder_id_hash")
            else { return }
            try db.execute(
                """
                INSERT INTO sandbox_credit_bureau (holder_id_hash, score, delinquent, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (holder_id_hash) DO UPDATE SET delinquent = excluded.delinquent, updated_at = excluded.updated_at
                """,
                [.text(hash), .integer(Int64(SandboxBank.defaultScore)), .integer(record.kind == "overdue" ? 1 : 0), .instant(now)]
            )
        }
    }

    /// `医疗信用 **** 1234`.
    static func maskLine(_ number: String) -> String { "医疗信用 **** " + String(number.suffix(4)) }
}
