import YibaoCore
import YibaoStore

/// A clearing with the settlements it carries.
public struct ClearingDetail: Sendable, Hashable, Encodable {
    /// The clearing.
    public var clearing: Clearing
    /// Its items, oldest first.
    public var items: [ClearingItem]
}

extension Platform {
    // MARK: Reconciliation (对账)

    /// Totals reconciliation (national 3201): the institution's counts and sums per insurance type ×
    /// clearing type against Yibao's for the period; recorded, and answered balanced or not with both
    /// sides' figures and the differences.
    public func reconcileTotals(
        institution: String, period: StatementPeriod, includeRefunds: Bool, lines: [(StatementKey, StatementTotals)]
    ) async throws -> TotalsResult {
        try checkPeriodEnded(period)
        let id = ids.next("RC")
        // Read and decide on a reader; only the record of the run goes through the writer.
        let rows = try await read { db, _ in try ClearingRepository.statementRows(institution: institution, period: period, in: db) }
        let result = try Reconciliation.compare(
            institution: lines, yibao: Reconciliation.totals(rows, includeRefunds: includeRefunds), period: period, includeRefunds: includeRefunds)
        return try await write { db, now in
            try ClearingRepository.insertReconciliation(
                ReconciliationRecord(
                    id: id, institutionCode: institution, kind: "totals", period: period, balanced: result.balanced,
                    summary: result.statementResultDescription, createdAt: now), in: db)
            return result
        }
    }

    /// Detail reconciliation (national 3202): the institution's detail file row by row against Yibao's
    /// completed settlements, refunds and reversals of the period. Returns each result and the result file.
    public func reconcileDetails(
        institution: String, period: StatementPeriod, file: String
    ) async throws -> (
        results: [DetailResult], file: String
    ) {
        try checkPeriodEnded(period)
        let theirs = try Reconciliation.parseDetailFile(file)
        let id = ids.next("RC")
        let rows = try await read { db, _ in try ClearingRepository.statementRows(institution: institution, period: period, in: db) }
        let results = Reconciliation.compare(institution: theirs, yibao: rows)
        let breaks = results.filter { $0.outcome != .match }
        let counts = DetailOutcome.allCases.compactMap { outcome -> String? in
            let n = results.filter { $0.outcome == outcome }.count
            return n > 0 ? "\(outcome.rawValue) \(n)" : nil
        }
        return try await write { db, now in
            try ClearingRepository.insertReconciliation(
                ReconciliationRecord(
                    id: id, institutionCode: institution, kind: "details", period: period, balanced: breaks.isEmpty,
                    summary: counts.isEmpty ? "no settlements" : counts.joined(separator: ", "), createdAt: now), in: db)
            return (results, Reconciliation.resultFile(results))
        }
    }

    /// The reconciliations institutions ran, newest first.
    public func reconciliations(institution: String?) async throws -> [ReconciliationRecord] {
        try await read { db, _ in try ClearingRepository.reconciliations(institution: institution, in: db) }
    }

    /// Refuses a period that has not ended (its last day in China is not over).
    func checkPeriodEnded(_ period: StatementPeriod) throws(Refusal) {
        guard period.end <= clock.now() else {
            throw Refusal(.periodNotEnded, "the period \(period) ends at midnight after \(period.through) China time", field: "stmt_enddate")
        }
    }

    // MARK: Clearing (清算)

    /// Applies for a clearing (national 3203) — by the institution, or started by the bureau for it:
    /// every completed settlement, refund and reversal of the institution and insurance type up to the
    /// period's end that no clearing carries yet. Applying again for the same open period returns the
    /// open application (`created` false).
    public func applyForClearing(
        institution: String, insuranceType: InsuranceType, period: StatementPeriod, startedBy: String
    ) async throws
        -> (clearing: Clearing, created: Bool)
    {
        try checkPeriodEnded(period)
        let id = ids.next("CL")
        return try await write { db, now in
            guard try ClearingRepository.lockInstitution(institution, in: db) != nil else {
                throw Refusal(.unknownInstitution, "no institution \(institution)", field: "institution_code")
            }
            if let open = try ClearingRepository.open(institution: institution, insuranceType: insuranceType, period: period, in: db) {
                return (try ClearingRepository.find(id: open.id, institution: nil, lock: false, in: db) ?? open, false)
            }
            var clearing = Clearing(
                id: id, institutionCode: institution, insuranceType: insuranceType, period: period, state: .applied, startedBy: startedBy,
                itemCount: 0, total: .zero, claimed: .zero, createdAt: now, updatedAt: now)
            let sums = try ClearingRepository.insert(clearing, before: period.end, in: db)
            guard sums.count > 0 else {
                throw Refusal(.nothingToClear, "no completed settlement of \(institution) up to \(period.through) is waiting to be cleared")
            }
            clearing.itemCount = sums.count
            clearing.total = sums.total
            clearing.claimed = sums.owed
            try AuditRepository.append(
                actor: startedBy, action: "clearing.apply", subject: institution,
                value: ["clearing": id, "period": period.description, "items": "\(sums.count)", "claimed": "\(sums.owed.fen)"], now: now, in: db)
            return (clearing, true)
        }
    }

    /// Cancels an application not yet approved (national 3204); its settlements wait for the next one.
    public func cancelClearing(id: String, institution: String?, actor: String) async throws -> Clearing {
        try await changeClearing(id: id, institution: institution, actor: actor, action: "clearing.cancel") { clearing, _, db, _ in
            try clearing.require(.applied, toDo: "cancellation")
            clearing.state = .cancelled
            try ClearingRepository.release(clearing.id, in: db)
        }
    }

    /// Clearings, newest first.
    public func clearings(institution: String?, state: ClearingState?) async throws -> [Clearing] {
        try await read { db, _ in try ClearingRepository.list(institution: institution, state: state, in: db) }
    }

    /// A clearing with its items (only the institution's own when `institution` is given).
    public func clearing(id: String, institution: String?) async throws -> ClearingDetail {
        try await read { db, _ in
            guard let clearing = try ClearingRepository.find(id: id, institution: institution, lock: false, in: db) else {
                throw Refusal(.notFound, "no clearing \(id)")
            }
            return ClearingDetail(clearing: clearing, items: try ClearingRepository.items(of: id, in: db))
        }
    }

    /// Records a deduction of the bureau's review (审核扣款) on one settlement or on the whole clearing.
    public func deduct(clearingID: String, settlementID: String?, amount: Money, reason: String, operatorName: String) async throws -> Clearing {
        let id = ids.next("DD")
        return try await changeClearing(id: clearingID, institution: nil, actor: "operator:" + operatorName, action: "clearing.deduct") {
            clearing, _, db, now in
            let deduction = ClearingDeduction(
                id: id, settlementId: settlementID, amount: amount, reason: reason, by: "operator:" + operatorName, at: now)
            let item = try settlementID.flatMap { try ClearingRepository.item($0, of: clearing.id, in: db) }
            try clearing.checkDeduction(deduction, item: item)
            try ClearingRepository.insert(deduction, clearing: clearing.id, in: db)
            clearing.deductions.append(deduction)
        }
    }

    /// Approves a clearing: its deductions go back to the funds in one journal entry, and what remains is
    /// ready to be paid.
    public func approveClearing(id: String, administrator: String) async throws -> Clearing {
        let entryID = ids.next("J")
        let ids = self.ids
        let actor = "operator:" + administrator
        return try await changeClearing(id: id, institution: nil, actor: actor, action: "clearing.approve") { clearing, institution, db, now in
            try clearing.checkApproval()
            let items = Dictionary(
                try ClearingRepository.items(of: clearing.id, in: db).map { ($0.settlementId, $0) }, uniquingKeysWith: { first, _ in first })
            let entries = clearing.approvalMovements(items: items, institutionRegion: institution.region)
            for (index, movements) in entries.enumerated() {
                guard
                    let entry = JournalEntry(
                        id: index == 0 ? entryID : ids.next("J"), kind: .clearing, reference: "clearing:\(clearing.id):deductions", at: now,
                        movements: movements)
                else { continue }
                try LedgerRepository.post(entry, actor: actor, in: db)
            }
            clearing.state = .approved
            clearing.approvedBy = actor
        }
    }

    /// Runs an approved clearing: the payable amount moves from the institution's clearing account to the
    /// payouts in one journal entry, and the clearing waits for the bank (`paymentInstructions`). A
    /// clearing already run is refused: running twice pays nothing more.
    public func runClearing(id: String, administrator: String) async throws -> Clearing {
        let entryID = ids.next("J")
        let actor = "operator:" + administrator
        return try await changeClearing(id: id, institution: nil, actor: actor, action: "clearing.run") { clearing, institution, db, now in
            try clearing.require(.approved, toDo: "a run")
            guard let account = institution.payoutAccount, !account.isEmpty else {
                throw Refusal(.payoutAccountMissing, "institution \(institution.code) has no payout account; an administrator registers it first")
            }
            clearing.payoutAccount = account
            clearing.lastFailure = nil
            guard
                let entry = JournalEntry(
                    id: entryID, kind: .clearing, reference: "clearing:" + clearing.id, at: now, movements: clearing.runMovements)
            else { throw Refusal(.nothingToClear, "clearing \(clearing.id) pays nothing") }
            try LedgerRepository.post(entry, actor: actor, in: db)
            clearing.state = .paying
        }
    }

    /// Records the bank's answer to a payout: paid (with the bank's reference), or failed — the run is
    /// undone in the ledger and the clearing is approved again, to be run once the account is fixed.
    public func recordPayout(id: String, paid: Bool, bankReference: String?, failure: String?, operatorName: String) async throws -> Clearing {
        let entryID = ids.next("J")
        let actor = "operator:" + operatorName
        guard (bankReference ?? "").count <= 100, (failure ?? "").count <= Clearing.reasonLengthMax else {
            throw Refusal.invalid("bank_reference", "the bank reference is at most 100 characters and the failure reason at most 500")
        }
        return try await changeClearing(id: id, institution: nil, actor: actor, action: paid ? "clearing.paid" : "clearing.payout_failed") {
            clearing, _, db, now in
            try clearing.require(.paying, toDo: "a payout answer")
            if paid {
                guard let reference = bankReference, !reference.isEmpty else {
                    throw Refusal.invalid("bank_reference", "a confirmed payout carries the bank's reference")
                }
                clearing.state = .paid
                clearing.bankReference = reference
            } else {
                guard let failure, !failure.isEmpty else { throw Refusal.invalid("failure", "a failed payout carries the bank's reason") }
                if let entry = JournalEntry(
                    id: entryID, kind: .clearing, reference: "clearing:\(clearing.id):failed", at: now, movements: clearing.failedPayoutMovements)
                {
                    try LedgerRepository.post(entry, actor: actor, in: db)
                }
                clearing.state = .approved
                clearing.lastFailure = failure
            }
        }
    }

    /// The bank's payment instruction file: one line per clearing waiting for its payout.
    public func paymentInstructions() async throws -> String {
        try await read { db, now in
            var lines = [Clearing.instructionHeader]
            for clearing in try ClearingRepository.list(institution: nil, state: .paying, in: db).reversed() {
                let name = try self.reference.institution(clearing.institutionCode, now: now, in: db)?.name ?? clearing.institutionCode
                lines.append(clearing.instructionLine(institutionName: name))
            }
            return lines.map { $0.map(CSV.escape).joined(separator: ",") }.joined(separator: "\n") + "\n"
        }
    }

    /// Locks a clearing (and its institution), applies `change`, writes it and its audit record.
    func changeClearing(
        id: String, institution: String?, actor: String, action: String,
        _ change: @escaping @Sendable (inout Clearing, Institution, any SQLExecutor, Instant) throws -> Void
    ) async throws -> Clearing {
        try await write { db, now in
            guard var clearing = try ClearingRepository.find(id: id, institution: institution, lock: true, in: db),
                let owner = try ClearingRepository.lockInstitution(clearing.institutionCode, in: db)
            else { throw Refusal(.notFound, "no clearing \(id)") }
            try change(&clearing, owner, db, now)
            clearing.updatedAt = now
            try ClearingRepository.update(clearing, in: db)
            try AuditRepository.append(
                actor: actor, action: action, subject: clearing.institutionCode,
                value: ["clearing": clearing.id, "state": clearing.state.rawValue, "payable": "\(clearing.payable.fen)"], now: now, in: db)
            return clearing
        }
    }
}
