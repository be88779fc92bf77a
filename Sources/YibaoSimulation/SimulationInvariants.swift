import Foundation
import YibaoApp
import YibaoCore
import YibaoSandbox
import YibaoStore

/// The invariants checked after every simulation step, read straight from the database (not through
/// the code under test). Each returns the violations it finds, in words with the ids at fault.
///
/// After every step:
/// 1. `verify-ledger` passes: every entry sums to zero, every balance equals its postings, no personal
///    account is below zero or below what it holds, all balances sum to zero, every settlement keeps
///    the national identities and posted its fund and account parts to the institution, every credit
///    line and bill equals its entries.
/// 2. Each person's year-to-date accumulators equal the sum of the deltas of their completed settlement
///    records (settlements, refunds, reversals) for that year and pool, and none is negative.
/// 3. Per settlement and payer bucket, what was given back ≤ what was paid; nothing remains negative;
///    the cash the patient owes is never negative; only completed settlements have refunds or a
///    reversal, and a reversed settlement has no refund.
/// 4. What a personal account holds equals the account parts of the pending settlements it pays.
/// 5. Per settlement or contribution paid through the channel, the bank's net (captured or authorised,
///    less refunded), less the refunds Yibao has queued and the bank not yet done, equals what the
///    ledger posted through the channel; a declined or cancelled payment holds nothing at the bank.
/// 6. A visit being paid has a pending settlement; a settled visit a completed, unreversed one; an
///    open visit none.
/// 7. At most one contribution per person, kind and period is paid or being paid.
///
/// After the background work with a healthy bank (quiescent):
/// 8. No channel operation is left undone, no settlement, contribution or repayment left pending.
/// 9. The credit line's principal in use equals what the partner bank has lent on it (used + held).
public enum SimulationInvariants {
    /// A settlement record as stored, without resolving anything at the bank.
    public static func record(_ id: String, in platform: Platform) async throws -> SettlementRecord? {
        try await platform.backend.read { db in
            try db.queryOne("SELECT document, state, reversed_by FROM settlements WHERE id = ?", [.text(id)]).map(decode)
        }
    }

    static func decode(_ row: SQLRow) throws -> SettlementRecord {
        var record = try YibaoJSON.decodeStored(SettlementRecord.self, from: try row.string("document"))
        record.state = try row.enumeration("state")
        record.reversedBy = try row.optionalString("reversed_by")
        return record
    }

    /// Everything the checks read, in one read session.
    struct Snapshot {
        var records: [SettlementRecord] = []
        var accumulators: [String: PoolAccumulators] = [:]
        var holds: [String: Money] = [:]
        var bank: [String: (state: String, amount: Money, captured: Money, refunded: Money)] = [:]
        var pendingOperations: [(kind: String, reference: String, refundReference: String?, amount: Money, attempts: Int64, error: String?)] = []
        var bankRefunds: Set<String> = []
        var channelPostings: [String: Money] = [:]
        var premiums: [(id: String, key: String, state: String, amount: Money)] = []
        var visits: [(id: String, state: String, settlement: String?)] = []
        var pendingRepayments = 0
    }

    /// Decoded settlement documents by id, state and reversal: a document changes only with its state.
    final class DecodeCache: @unchecked Sendable {
        private let lock = NSLock()
        private var records: [String: SettlementRecord] = [:]

        func record(_ row: SQLRow) throws -> SettlementRecord {
            let key = "\(try row.string("id"))|\(try row.string("state"))|\(try row.optionalString("reversed_by") ?? "")"
            if let hit = lock.withLock({ records[key] }) { return hit }
            let record = try SimulationInvariants.decode(row)
            lock.withLock { records[key] = record }
            return record
        }
    }

    static func snapshot(_ platform: Platform, cache: DecodeCache) async throws -> Snapshot {
        try await platform.backend.read { db in
            var snapshot = Snapshot()
            snapshot.records = try db.query("SELECT id, document, state, reversed_by FROM settlements ORDER BY created_at, id", []).map(cache.record)
            for row in try db.query("SELECT * FROM accumulators", []) {
                guard let byLevel = LevelCounts(encoded: try row.string("visits_by_level")) else {
                    throw StoreError.decoding("accumulators visits_by_level")
                }
                let key = "\(try row.string("person_number"))|\(try row.int64("year"))|\(try row.string("pool"))"
                snapshot.accumulators[key] = PoolAccumulators(
                    deductiblePaid: try row.money("deductible_paid"), basicFundPaid: try row.money("basic_fund_paid"),
                    aboveCapAmount: try row.money("above_cap_amount"), aboveCapFundPaid: try row.money("above_cap_fund_paid"),
                    inScopeTotal: try row.money("in_scope_total"), visits: try row.int64("visits"),
                    visitsByLevel: byLevel, planDeductibleMet: try row.money("plan_deductible_met"), planPaid: try row.money("plan_paid"))
            }
            for row in try db.query("SELECT owner, held FROM accounts WHERE kind = 'personal'", []) {
                snapshot.holds[try row.string("owner")] = try row.money("held")
            }
            for row in try db.query("SELECT reference, state, amount, captured, refunded FROM sandbox_operations", []) {
                snapshot.bank[try row.string("reference")] = (
                    try row.string("state"), try row.money("amount"), try row.money("captured"), try row.money("refunded")
                )
            }
            snapshot.pendingOperations = try db.query(
                "SELECT kind, reference, refund_reference, amount, attempts, last_error FROM channel_operations WHERE state = 'pending'", []
            ).map {
                (
                    try $0.string("kind"), try $0.string("reference"), try $0.optionalString("refund_reference"), try $0.money("amount"),
                    try $0.int64("attempts"), try $0.optionalString("last_error")
                )
            }
            snapshot.bankRefunds = Set(try db.query("SELECT refund_reference FROM sandbox_refunds", []).map { try $0.string("refund_reference") })
            for row in try db.query(
                "SELECT e.reference, CAST(SUM(p.amount) AS BIGINT) AS total FROM postings p JOIN journal_entries e ON e.id = p.entry_id "
                    + "WHERE p.account_id LIKE 'channel:%' GROUP BY e.reference", [])
            {
                snapshot.channelPostings[try row.string("reference")] = try row.money("total")
            }
            snapshot.premiums = try db.query("SELECT id, person_number, kind, period, state, amount FROM premium_payments", []).map {
                (
                    try $0.string("id"), "\(try $0.string("person_number"))|\(try $0.string("kind"))|\(try $0.string("period"))",
                    try $0.string("state"),
                    try $0.money("amount")
                )
            }
            snapshot.visits = try db.query("SELECT id, state, settlement_id FROM visits", []).map {
                (try $0.string("id"), try $0.string("state"), try $0.optionalString("settlement_id"))
            }
            snapshot.pendingRepayments = Int(
                try db.queryOne("SELECT COUNT(*) AS n FROM credit_repayments WHERE state = 'pending'", [])?.int64("n") ?? 0)
            return snapshot
        }
    }

    /// Every violation in the world now; `quiescent` adds the checks that hold once background work ran
    /// with a healthy bank.
    public static func check(_ world: SimulationWorld, quiescent: Bool) async throws -> [String] {
        try await check(world, quiescent: quiescent, cache: DecodeCache())
    }

    static func check(_ world: SimulationWorld, quiescent: Bool, cache: DecodeCache) async throws -> [String] {
        let platform = world.platform
        var problems: [String] = []
        // 1. The ledger.
        let ledger = try await platform.verifyLedger()
        problems += ledger.problems.map { "verify-ledger: \($0)" }
        // The daily close's verified sums are each account's postings up to their instant.
        problems += try await platform.backend.read { db in try LedgerVerificationRepository.sumsDisagreeing(in: db) }.map {
            "verified sum of \($0.account) is \($0.verified), its postings before the sums' instant add up to \($0.postings)"
        }
        let snapshot = try await snapshot(platform, cache: cache)
        let byID = Dictionary(snapshot.records.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let children = Dictionary(grouping: snapshot.records.filter { $0.originalId != nil }, by: { $0.originalId ?? "" })

        // 2. Accumulators are the sum of the live deltas.
        var expected: [String: PoolAccumulators] = [:]
        for record in snapshot.records where record.state == .completed {
            let key = "\(record.personNumber)|\(record.year)|\(record.pool.rawValue)"
            expected[key, default: .zero] = expected[key, default: .zero].adding(record.accumulatorDelta)
        }
        for (key, stored) in snapshot.accumulators {
            if !stored.isNonNegative { problems.append("accumulators \(key) below zero: \(stored)") }
            if stored != expected[key, default: .zero] {
                problems.append("accumulators \(key) are \(stored), the live settlements add up to \(expected[key, default: .zero])")
            }
        }
        for (key, value) in expected where snapshot.accumulators[key] == nil && value != .zero {
            problems.append("accumulators \(key) missing; the live settlements add up to \(value)")
        }

        // 3. Per settlement: refunds within what each payer paid.
        var expectedHolds: [String: Money] = [:]
        for original in snapshot.records where original.kind == .settlement {
            let refunds = (children[original.id] ?? []).filter { $0.kind == .refund }
            let reversals = (children[original.id] ?? []).filter { $0.kind == .reversal }
            let money = SettlementMoney(original, refunds: refunds)
            if let bucket = money.remaining.firstNegative { problems.append("settlement \(original.id): \(bucket) got back more than it paid") }
            if money.cashOwed.isNegative { problems.append("settlement \(original.id): cash owed \(money.cashOwed) below zero") }
            if money.standing.breakdown.brokenIdentity() != nil { problems.append("settlement \(original.id): its standing breaks an identity") }
            if !(refunds.isEmpty && reversals.isEmpty) && original.state != .completed {
                problems.append("settlement \(original.id) is \(original.state.rawValue) but has refunds or a reversal")
            }
            if reversals.count > 1 || (!reversals.isEmpty && !refunds.isEmpty) {
                problems.append("settlement \(original.id) has \(reversals.count) reversals and \(refunds.count) refunds")
            }
            if (original.reversedBy != nil) != !reversals.isEmpty {
                problems.append("settlement \(original.id): reversed_by \(original.reversedBy ?? "nil") but \(reversals.count) reversal records")
            }
            for refund in refunds {
                guard let back = refund.returned else {
                    problems.append("refund \(refund.id) does not record what went back")
                    continue
                }
                if let bucket = back.firstNegative { problems.append("refund \(refund.id) takes money from \(bucket)") }
            }
            if original.state == .pending {
                expectedHolds[original.personNumber, default: .zero] += original.ownAccountPaid
                if let binder = original.mutualAidPayer { expectedHolds[binder, default: .zero] += original.breakdown.mutualAidPaid }
            }
        }

        // 4. Holds are pending settlements' account parts.
        for (person, held) in snapshot.holds where held != expectedHolds[person, default: .zero] {
            problems.append("personal:\(person) holds \(held), its pending settlements \(expectedHolds[person, default: .zero])")
        }

        // 5. The bank and the ledger agree on each payment through the channel.
        let premiumsByID = Dictionary(snapshot.premiums.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for (reference, operation) in snapshot.bank {
            let net: Money
            switch operation.state {
            case "authorised": net = operation.amount - operation.refunded
            case "captured": net = operation.captured - operation.refunded
            default: net = .zero
            }
            // Refunds Yibao queued that the bank has not done yet (a refund done but whose answer was lost is done).
            let queued = Money.sum(
                snapshot.pendingOperations.filter {
                    $0.kind == "refund" && $0.reference == reference && !snapshot.bankRefunds.contains($0.refundReference ?? "")
                }.map(\.amount))
            if let record = byID[reference], record.kind == .settlement {
                switch record.state {
                case .pending: continue
                case .declined, .cancelled:
                    if net != .zero && queued == .zero {
                        problems.append("settlement \(reference) was \(record.state.rawValue) but the bank holds \(net) of the patient's money")
                    }
                case .completed:
                    let ids = [reference] + (children[reference] ?? []).map(\.id)
                    let posted = Money.sum(ids.map { snapshot.channelPostings[$0] ?? .zero })
                    if net - queued != -posted {
                        problems.append(
                            "settlement \(reference): the bank's net is \(net) (\(queued) refunds queued), the ledger took \(-posted) through the channel"
                        )
                    }
                }
            } else if let premium = premiumsByID[reference] {
                if premium.state == "paid" && net != -(snapshot.channelPostings[reference] ?? .zero) {
                    problems.append(
                        "contribution \(reference): the bank's net is \(net), the ledger took \(-(snapshot.channelPostings[reference] ?? .zero))")
                }
                if (premium.state == "declined" || premium.state == "cancelled") && net != .zero {
                    problems.append("contribution \(reference) was \(premium.state) but the bank holds \(net)")
                }
            }
        }

        // 6. Visits and their settlements.
        for visit in snapshot.visits {
            let settlement = visit.settlement.flatMap { byID[$0] }
            switch visit.state {
            case "paying":
                if settlement?.state != .pending {
                    problems.append("visit \(visit.id) is being paid but its settlement is \(settlement?.state.rawValue ?? "missing")")
                }
            case "settled":
                if settlement?.state != .completed || settlement?.reversedBy != nil {
                    problems.append(
                        "visit \(visit.id) is settled but its settlement is \(settlement.map { "\($0.state.rawValue), reversed by \($0.reversedBy ?? "none")" } ?? "missing")"
                    )
                }
            case "open", "cancelled":
                if visit.settlement != nil { problems.append("visit \(visit.id) is \(visit.state) but names settlement \(visit.settlement ?? "")") }
            default:
                problems.append("visit \(visit.id) is in no known state: \(visit.state)")
            }
        }
        for record in snapshot.records where record.kind == .settlement && record.state == .completed && record.reversedBy == nil {
            if !snapshot.visits.contains(where: { $0.id == record.visitId && $0.state == "settled" && $0.settlement == record.id }) {
                problems.append("settlement \(record.id) is live but its visit \(record.visitId) does not say so")
            }
        }

        // 7. One live contribution per person, kind and period.
        let live = Dictionary(grouping: snapshot.premiums.filter { $0.state == "paid" || $0.state == "pending" }, by: \.key)
        for (key, payments) in live where payments.count > 1 { problems.append("contribution \(key) is paid \(payments.count) times") }

        // 7a. The commercial plan: its insurer's fund holds the plan premiums paid less what the plan paid in
        // live settlements (net of refunds and reversals); no person's plan year passes the plan's cap.
        let planPremiums = Money.sum(snapshot.premiums.filter { $0.state == "paid" && $0.key.contains("|commercial_plan|") }.map(\.amount))
        let planPaid = Money.sum(snapshot.records.filter { $0.state == .completed }.map(\.breakdown.otherFund))
        let insurer = try await platform.balance(of: .insurer(SimulationWorld.plan(2026).insurer.code))
        if insurer != planPremiums - planPaid {
            problems.append(
                "insurer fund holds \(insurer); plan premiums \(planPremiums) less the plan's net payments \(planPaid) make \(planPremiums - planPaid)"
            )
        }
        for (key, stored) in snapshot.accumulators where stored.planPaid > SimulationWorld.plan(2026).annualCap {
            problems.append("accumulators \(key): the plan paid \(stored.planPaid), above its cap")
        }
        for record in snapshot.records where record.breakdown.otherFund != .zero && record.plan == nil {
            problems.append("\(record.id): a plan share without the plan")
        }

        // 7b. Clearing: what each institution is owed is what its completed settlements, refunds and reversals
        // put in, less what approvals deducted and runs paid out; the payouts hold exactly what was run; each
        // clearing claims what its items are owed.
        let clearings = try await platform.clearings(institution: nil, state: nil)
        for code in Set(snapshot.records.map(\.institution.code)).union(clearings.map(\.institutionCode)) {
            let owed = Money.sum(
                snapshot.records.filter { $0.institution.code == code && $0.state == .completed }.map {
                    $0.breakdown.fundTotal + $0.breakdown.accountPaid
                })
            let mine = clearings.filter { $0.institutionCode == code }
            let deducted = Money.sum(mine.filter { [.approved, .paying, .paid].contains($0.state) }.map(\.deducted))
            let paidOut = Money.sum(mine.filter { [.paying, .paid].contains($0.state) }.map(\.payable))
            let balance = try await platform.balance(of: .institutionClearing(code))
            if balance != owed - deducted - paidOut {
                problems.append("institution_clearing:\(code) is \(balance); owed \(owed) − deducted \(deducted) − paid out \(paidOut)")
            }
            let payouts = try await platform.balance(of: .payouts(code))
            if payouts != paidOut { problems.append("payouts:\(code) is \(payouts); the clearings run pay \(paidOut)") }
        }
        for clearing in clearings where clearing.state != .cancelled {
            let items = try await platform.clearing(id: clearing.id, institution: nil).items
            if items.count != clearing.itemCount || Money.sum(items.map(\.owed)) != clearing.claimed {
                problems.append(
                    "clearing \(clearing.id) claims \(clearing.claimed) for \(clearing.itemCount) items; they are owed \(Money.sum(items.map(\.owed))) for \(items.count)"
                )
            }
            for item in items where byID[item.settlementId]?.state != .completed {
                problems.append("clearing \(clearing.id) carries \(item.settlementId), which is not completed")
            }
        }

        guard quiescent else { return problems }
        // 8. Nothing left waiting when the bank is healthy.
        for operation in snapshot.pendingOperations {
            problems.append(
                "channel operation \(operation.kind) of \(operation.reference) (\(operation.amount)) still pending after \(operation.attempts) attempts: \(operation.error ?? "")"
            )
        }
        for record in snapshot.records where record.state == .pending { problems.append("settlement \(record.id) still pending") }
        for premium in snapshot.premiums where premium.state == "pending" { problems.append("contribution \(premium.id) still pending") }
        if snapshot.pendingRepayments > 0 { problems.append("\(snapshot.pendingRepayments) credit repayments still pending") }
        // 9. The credit line and the partner bank agree.
        let line = try await platform.creditLine(id: world.creditLine.id, person: world.members[1].person.number)
        if let sources = try? await platform.fundingSources(person: world.members[1].person.number),
            let source = sources.first(where: { $0.id == world.creditLine.source }), let card = try await world.bank.card(source.token)
        {
            if line.used != card.used + card.held {
                problems.append(
                    "credit line \(world.creditLine.id): Yibao counts \(line.used) in use, the bank \(card.used) used + \(card.held) held")
            }
        }
        return problems
    }
}
