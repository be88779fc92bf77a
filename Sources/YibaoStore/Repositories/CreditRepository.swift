import YibaoCore

/// Medical credit lines, their bills and entries, repayments, credit-report records, partners' terms
/// and frictionless authorisations.
package enum CreditRepository {
    // MARK: Partners

    package static func terms(partner: String, in db: any SQLExecutor) throws -> CreditTerms? {
        if let row = try db.queryOne("SELECT terms FROM credit_partners WHERE id = ?", [.text(partner)]) {
            return try YibaoJSON.decode(CreditTerms.self, from: try row.string("terms"))
        }
        return partner == CreditTerms.sandbox.partner ? CreditTerms.sandbox : nil
    }

    package static func allTerms(in db: any SQLExecutor) throws -> [CreditTerms] {
        var terms = try db.query("SELECT terms FROM credit_partners ORDER BY id", []).map {
            try YibaoJSON.decode(CreditTerms.self, from: try $0.string("terms"))
        }
        if !terms.contains(where: { $0.partner == CreditTerms.sandbox.partner }) { terms.insert(.sandbox, at: 0) }
        return terms
    }

    package static func saveTerms(_ terms: CreditTerms, now: Instant, in db: any SQLExecutor) throws {
        try db.execute(
            """
            INSERT INTO credit_partners (id, terms, updated_at) VALUES (?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET terms = excluded.terms, updated_at = excluded.updated_at
            """,
            [.text(terms.partner), .text(try YibaoJSON.string(terms)), .instant(now)]
        )
    }

    // MARK: Lines

    package static let lineColumns = """
        id, person_number, partner, funding_source_id, masked, credit_limit, state, terms, opened_at, suspended_at, next_statement, processed_through
        """

    package static func insert(_ line: CreditLine, token: String, in db: any SQLExecutor) throws {
        try db.execute(
            """
            INSERT INTO credit_lines (id, person_number, partner, funding_source_id, token, masked, credit_limit, state, terms, opened_at, suspended_at,
            next_statement, processed_through, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, NULL, ?)
            """,
            [
                .text(line.id), .text(line.personNumber), .text(line.partner), .text(line.fundingSourceId), .text(token), .text(line.masked),
                .money(line.creditLimit), .text(line.state.rawValue), .text(try YibaoJSON.string(line.terms)), .instant(line.openedAt),
                .text(line.nextStatement.description), .instant(line.openedAt),
            ]
        )
    }

    package static func update(_ line: CreditLine, now: Instant, in db: any SQLExecutor) throws {
        try db.execute(
            "UPDATE credit_lines SET state = ?, suspended_at = ?, next_statement = ?, processed_through = ?, updated_at = ? WHERE id = ?",
            [
                .text(line.state.rawValue), .instant(line.suspendedAt), .text(line.nextStatement.description),
                .text(line.processedThrough?.description), .instant(now), .text(line.id),
            ]
        )
    }

    package static func find(id: String, lock: Bool, in db: any SQLExecutor) throws -> CreditLine? {
        try db.queryOne("SELECT \(lineColumns) FROM credit_lines WHERE id = ?\(lock ? " FOR UPDATE" : "")", [.text(id)]).map(decodeLine)
    }

    package static func find(fundingSource: String, lock: Bool, in db: any SQLExecutor) throws -> CreditLine? {
        try db.queryOne("SELECT \(lineColumns) FROM credit_lines WHERE funding_source_id = ?\(lock ? " FOR UPDATE" : "")", [.text(fundingSource)])
            .map(decodeLine)
    }

    package static func lines(person: String, in db: any SQLExecutor) throws -> [CreditLine] {
        try db.query("SELECT \(lineColumns) FROM credit_lines WHERE person_number = ? ORDER BY opened_at", [.text(person)]).map(decodeLine)
    }

    /// Lines suspended or with an unpaid bill due before `day`, at most `limit`, by id.
    package static func delinquent(on day: CivilDate, limit: Int, in db: any SQLExecutor) throws -> [CreditLine] {
        let ids = try db.query(
            """
            SELECT id FROM credit_lines WHERE state = 'suspended' OR id IN
            (SELECT line_id FROM credit_bills WHERE paid_at IS NULL AND due_date < ?) ORDER BY id LIMIT \(max(1, min(limit, 1000)))
            """,
            [.text(day.description)]
        ).map { try $0.string("id") }
        return try ids.compactMap { try find(id: $0, lock: false, in: db) }
    }

    package static func token(line: String, in db: any SQLExecutor) throws -> String? {
        try db.queryOne("SELECT token FROM credit_lines WHERE id = ?", [.text(line)])?.string("token")
    }

    /// Lines the daily job has not yet brought up to `date`.
    package static func behind(date: CivilDate, after: String, limit: Int, in db: any SQLExecutor) throws -> [String] {
        try db.query(
            "SELECT id FROM credit_lines WHERE (processed_through IS NULL OR processed_through < ?) AND id > ? ORDER BY id LIMIT \(limit)",
            [.text(date.description), .text(after)]
        ).map { try $0.string("id") }
    }

    package static func decodeLine(_ row: SQLRow) throws -> CreditLine {
        CreditLine(
            id: try row.string("id"), personNumber: try row.string("person_number"), partner: try row.string("partner"),
            fundingSourceId: try row.string("funding_source_id"), masked: try row.string("masked"), creditLimit: try row.money("credit_limit"),
            state: try row.enumeration("state"), terms: try YibaoJSON.decode(CreditTerms.self, from: try row.string("terms")),
            openedAt: try row.instant("opened_at"), suspendedAt: try row.optionalInstant("suspended_at"),
            nextStatement: try date(row.string("next_statement")), processedThrough: try row.optionalString("processed_through").map(date)
        )
    }

    package static func date(_ text: String) throws -> CivilDate {
        guard let date = CivilDate(text) else { throw StoreError.decoding("bad date \(text)") }
        return date
    }

    // MARK: Bills

    package static let billColumns = """
        id, line_id, cycle_start, statement_date, due_date, principal_billed, principal_due, interest_due, fees_due, interest_charged, fees_charged,
        interest_carry, accrued_through, paid_at
        """

    package static func insert(_ bill: CreditBill, now: Instant, in db: any SQLExecutor) throws {
        try db.execute(
            """
            INSERT INTO credit_bills (id, line_id, cycle_start, statement_date, due_date, principal_billed, principal_due, interest_due, fees_due,
            interest_charged, fees_charged, interest_carry, accrued_through, paid_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(bill.id), .text(bill.lineId), .text(bill.cycleStart.description), .text(bill.statementDate.description),
                .text(bill.dueDate.description), .money(bill.principalBilled), .money(bill.principalDue), .money(bill.interestDue),
                .money(bill.feesDue), .money(bill.interestCharged), .money(bill.feesCharged), .integer(bill.interestCarry),
                .text(bill.accruedThrough?.description), .instant(bill.paidAt), .instant(now),
            ]
        )
    }

    package static func update(_ bill: CreditBill, in db: any SQLExecutor) throws {
        try db.execute(
            """
            UPDATE credit_bills SET principal_billed = ?, principal_due = ?, interest_due = ?, fees_due = ?, interest_charged = ?, fees_charged = ?,
            interest_carry = ?, accrued_through = ?, paid_at = ? WHERE id = ?
            """,
            [
                .money(bill.principalBilled), .money(bill.principalDue), .money(bill.interestDue), .money(bill.feesDue), .money(bill.interestCharged),
                .money(bill.feesCharged), .integer(bill.interestCarry), .text(bill.accruedThrough?.description), .instant(bill.paidAt),
                .text(bill.id),
            ]
        )
    }

    /// A line's bills, oldest first.
    package static func bills(line: String, in db: any SQLExecutor) throws -> [CreditBill] {
        try db.query("SELECT \(billColumns) FROM credit_bills WHERE line_id = ? ORDER BY statement_date, id", [.text(line)]).map(decodeBill)
    }

    /// A line's bills with something still owed, oldest first.
    package static func unpaidBills(line: String, in db: any SQLExecutor) throws -> [CreditBill] {
        try db.query(
            "SELECT \(billColumns) FROM credit_bills WHERE line_id = ? AND paid_at IS NULL ORDER BY statement_date, id", [.text(line)]
        ).map(decodeBill)
    }

    package static func bill(id: String, in db: any SQLExecutor) throws -> CreditBill? {
        try db.queryOne("SELECT \(billColumns) FROM credit_bills WHERE id = ?", [.text(id)]).map(decodeBill)
    }

    package static func decodeBill(_ row: SQLRow) throws -> CreditBill {
        CreditBill(
            id: try row.string("id"), lineId: try row.string("line_id"), cycleStart: try date(row.string("cycle_start")),
            statementDate: try date(row.string("statement_date")), dueDate: try date(row.string("due_date")),
            principalBilled: try row.money("principal_billed"), principalDue: try row.money("principal_due"),
            interestDue: try row.money("interest_due"),
            feesDue: try row.money("fees_due"), interestCharged: try row.money("interest_charged"), feesCharged: try row.money("fees_charged"),
            interestCarry: try row.int64("interest_carry"), accruedThrough: try row.optionalString("accrued_through").map(date),
            paidAt: try row.optionalInstant("paid_at")
        )
    }

    // MARK: Entries

    package static func insert(_ entry: CreditEntry, in db: any SQLExecutor) throws {
        try db.execute(
            "INSERT INTO credit_entries (id, line_id, kind, amount, reference, bill_id, at, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                .text(entry.id), .text(entry.lineId), .text(entry.kind.rawValue), .money(entry.amount), .text(entry.reference), .text(entry.billId),
                .instant(entry.at), .text(entry.note),
            ]
        )
    }

    /// The current cycle's entries (not yet on a bill), oldest first; before `before` when given.
    package static func unbilled(line: String, before: Instant? = nil, in db: any SQLExecutor) throws -> [CreditEntry] {
        try db.query(
            "SELECT * FROM credit_entries WHERE line_id = ? AND bill_id IS NULL\(before == nil ? "" : " AND at < ?") ORDER BY at, id",
            [.text(line)] + (before.map { [.instant($0)] } ?? [])
        ).map(decodeEntry)
    }

    package static func assign(_ entries: [String], bill: String, in db: any SQLExecutor) throws {
        for id in entries { try db.execute("UPDATE credit_entries SET bill_id = ? WHERE id = ?", [.text(bill), .text(id)]) }
    }

    package static func entries(bill: String, in db: any SQLExecutor) throws -> [CreditEntry] {
        try db.query("SELECT * FROM credit_entries WHERE bill_id = ? ORDER BY at, id", [.text(bill)]).map(decodeEntry)
    }

    /// The sum of a line's entries (what the borrower owes, less any credit balance).
    package static func owedByEntries(line: String, in db: any SQLExecutor) throws -> Money {
        Money(
            fen: try db.queryOne("SELECT COALESCE(SUM(amount), 0) AS total FROM credit_entries WHERE line_id = ?", [.text(line)])?.int64("total") ?? 0
        )
    }

    package static func decodeEntry(_ row: SQLRow) throws -> CreditEntry {
        CreditEntry(
            id: try row.string("id"), lineId: try row.string("line_id"), kind: try row.enumeration("kind"), amount: try row.money("amount"),
            reference: try row.optionalString("reference"), billId: try row.optionalString("bill_id"), at: try row.instant("at"),
            note: try row.string("note")
        )
    }

    // MARK: Reports

    package static func insert(_ report: CreditReport, in db: any SQLExecutor) throws {
        try db.execute(
            "INSERT INTO credit_reports (id, line_id, person_number, kind, amount, overdue_days, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                .text(report.id), .text(report.lineId), .text(report.personNumber), .text(report.kind), .money(report.amount),
                .int(report.overdueDays), .instant(report.at),
            ]
        )
    }

    package static func reports(line: String?, limit: Int, in db: any SQLExecutor) throws -> [CreditReport] {
        try db.query(
            """
            SELECT r.*, l.token FROM credit_reports r JOIN credit_lines l ON l.id = r.line_id\(line == nil ? "" : " WHERE r.line_id = ?")
            ORDER BY r.at DESC, r.id DESC LIMIT \(limit)
            """,
            line.map { [.text($0)] } ?? []
        ).map(decodeReport)
    }

    package static func report(id: String, in db: any SQLExecutor) throws -> CreditReport? {
        try db.queryOne("SELECT r.*, l.token FROM credit_reports r JOIN credit_lines l ON l.id = r.line_id WHERE r.id = ?", [.text(id)]).map(
            decodeReport)
    }

    package static func decodeReport(_ row: SQLRow) throws -> CreditReport {
        CreditReport(
            id: try row.string("id"), lineId: try row.string("line_id"), token: try row.string("token"),
            personNumber: try row.string("person_number"),
            kind: try row.string("kind"), amount: try row.money("amount"), overdueDays: Int(try row.int64("overdue_days")), at: try row.instant("at")
        )
    }

    // MARK: Repayments

    package static func insert(_ repayment: CreditRepayment, in db: any SQLExecutor) throws {
        try db.execute(
            """
            INSERT INTO credit_repayments (id, line_id, person_number, source, funding_source_id, amount, state, allocation, decline_reason, created_at,
            completed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(repayment.id), .text(repayment.lineId), .text(repayment.personNumber), .text(repayment.source.rawValue),
                .text(repayment.fundingSourceId), .money(repayment.amount), .text(repayment.state.rawValue),
                .text(try repayment.allocation.map { try YibaoJSON.string($0) }), .text(repayment.declineReason?.rawValue),
                .instant(repayment.createdAt), .instant(repayment.completedAt),
            ]
        )
    }

    package static func update(_ repayment: CreditRepayment, in db: any SQLExecutor) throws {
        try db.execute(
            "UPDATE credit_repayments SET state = ?, allocation = ?, decline_reason = ?, completed_at = ? WHERE id = ?",
            [
                .text(repayment.state.rawValue), .text(try repayment.allocation.map { try YibaoJSON.string($0) }),
                .text(repayment.declineReason?.rawValue), .instant(repayment.completedAt), .text(repayment.id),
            ]
        )
    }

    package static func repayment(id: String, lock: Bool, in db: any SQLExecutor) throws -> CreditRepayment? {
        try db.queryOne("SELECT * FROM credit_repayments WHERE id = ?\(lock ? " FOR UPDATE" : "")", [.text(id)]).map(decodeRepayment)
    }

    package static func repayments(line: String, in db: any SQLExecutor) throws -> [CreditRepayment] {
        try db.query("SELECT * FROM credit_repayments WHERE line_id = ? ORDER BY created_at DESC, id DESC LIMIT 200", [.text(line)]).map(
            decodeRepayment)
    }

    package static func pendingRepayments(before: Instant, in db: any SQLExecutor) throws -> [(id: String, createdAt: Instant)] {
        try db.query(
            "SELECT id, created_at FROM credit_repayments WHERE state = 'pending' AND created_at < ? ORDER BY created_at LIMIT 100",
            [.instant(before)]
        ).map { (try $0.string("id"), try $0.instant("created_at")) }
    }

    package static func decodeRepayment(_ row: SQLRow) throws -> CreditRepayment {
        CreditRepayment(
            id: try row.string("id"), lineId: try row.string("line_id"), personNumber: try row.string("person_number"),
            source: try row.enumeration("source"), fundingSourceId: try row.optionalString("funding_source_id"), amount: try row.money("amount"),
            state: try row.enumeration("state"),
            allocation: try row.optionalString("allocation").map { try YibaoJSON.decode(CreditAllocation.self, from: $0) },
            declineReason: try row.optionalString("decline_reason").flatMap(DeclineReason.init(rawValue:)), createdAt: try row.instant("created_at"),
            completedAt: try row.optionalInstant("completed_at")
        )
    }

    // MARK: Frictionless authorisations

    package static func insert(_ authorisation: FrictionlessAuthorisation, in db: any SQLExecutor) throws {
        try db.execute(
            """
            INSERT INTO frictionless_authorisations (id, person_number, funding_source_id, priority, consent_version, consent_digest, signed_at,
            revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)
            """,
            [
                .text(authorisation.id), .text(authorisation.personNumber), .text(authorisation.fundingSourceId),
                .text(authorisation.priority.rawValue),
                .text(authorisation.consentVersion), .text(authorisation.consentDigest), .instant(authorisation.signedAt),
            ]
        )
    }

    /// The authorisation in force, if any.
    package static func authorisation(person: String, in db: any SQLExecutor) throws -> FrictionlessAuthorisation? {
        try db.fetch(authorisation(person: person))
    }

    package static func authorisation(person: String) -> SQLRead<FrictionlessAuthorisation?> {
        .one("SELECT * FROM frictionless_authorisations WHERE person_number = ? AND revoked_at IS NULL", [.text(person)]) { row in
            FrictionlessAuthorisation(
                id: try row.string("id"), personNumber: try row.string("person_number"), fundingSourceId: try row.optionalString("funding_source_id"),
                priority: try row.enumeration("priority"), consentVersion: try row.string("consent_version"),
                consentDigest: try row.string("consent_digest"), signedAt: try row.instant("signed_at"),
                revokedAt: try row.optionalInstant("revoked_at")
            )
        }
    }

    package static func revoke(person: String, now: Instant, in db: any SQLExecutor) throws -> Bool {
        try db.execute(
            "UPDATE frictionless_authorisations SET revoked_at = ? WHERE person_number = ? AND revoked_at IS NULL", [.instant(now), .text(person)])
            > 0
    }
}
