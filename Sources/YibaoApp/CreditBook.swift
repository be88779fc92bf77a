import YibaoCore
import YibaoStore

/// The credit sub-ledger, inside a transaction: purchases and refunds on a line, statements, penalty
/// interest and fees, repayments, suspension and reinstatement. Every change that alters what a borrower
/// owes is a `credit_entries` row *and* a journal entry on `credit_line:<id>` / `credit_partner:<id>` in
/// the same transaction, so the entries of a line always sum to its ledger balance (verify-ledger checks).
package enum CreditBook {
    /// What one call changed, for the daily job's report.
    struct Outcome: Sendable {
        var bills = 0
        var interest = Money.zero
        var fees = Money.zero
        var suspended = 0
        var reinstated = 0
    }

    struct Context {
        let ids: any IDGenerator
        let channel: String
        let now: Instant
    }

    /// Writes one `credit_entries` row on the line (positive: owed more; negative: owed less); returns its id.
    @discardableResult
    static func record(
        _ kind: CreditEntryKind, _ amount: Money, line: CreditLine, reference: String?, bill: String?, note: String, _ context: Context,
        at: Instant? = nil, in db: any SQLExecutor
    ) throws -> String {
        let id = context.ids.next("CE")
        try CreditRepository.insert(
            CreditEntry(id: id, lineId: line.id, kind: kind, amount: amount, reference: reference, billId: bill, at: at ?? context.now, note: note),
            in: db)
        return id
    }

    /// Takes a repayment's or a refund's share off its bill (marking the bill paid when nothing is left).
    static func apply(_ share: CreditAllocation.Share, to bills: inout [CreditBill], _ context: Context, in db: any SQLExecutor) throws -> Bool {
        guard let index = bills.firstIndex(where: { $0.id == share.billId }) else { return false }
        bills[index].feesDue -= share.fees
        bills[index].interestDue -= share.interest
        bills[index].principalDue -= share.principal
        if bills[index].amountDue == .zero { bills[index].paidAt = context.now }
        try CreditRepository.update(bills[index], in: db)
        return true
    }

    // MARK: Purchases and refunds

    /// The credit line a settlement's cash part was (or is being) paid with, if any.
    static func line(paying record: SettlementRecord, lock: Bool, in db: any SQLExecutor) throws -> CreditLine? {
        guard record.cashCollection == .channel, let source = record.fundingSource, source.kind == .medicalCredit else { return nil }
        return try CreditRepository.find(fundingSource: source.id, lock: lock, in: db)
    }

    /// The line paid a settlement's cash part: it is owed from now, on the current cycle.
    static func purchase(_ line: CreditLine, amount: Money, reference: String, institution: String, _ context: Context, in db: any SQLExecutor) throws
    {
        try record(
            .purchase, amount, line: line, reference: reference, bill: nil, note: "\(institution) 医疗费用 \(amount) 元 (结算 \(reference))", context, in: db
        )
    }

    /// A refund or reversal paid back to the line: the current cycle first, then the principal of bills
    /// oldest first, any rest a credit balance (`CreditAllocation.refund`).
    static func refund(_ line: CreditLine, amount: Money, reference: String, _ context: Context, in db: any SQLExecutor) throws {
        guard amount.isPositive else { return }
        let today = ChinaTime.date(context.now)
        _ = try process(lineID: line.id, through: today, context, in: db)
        let unbilled = Money.sum(try CreditRepository.unbilled(line: line.id, in: db).map(\.amount))
        var bills = try CreditRepository.unpaidBills(line: line.id, in: db)
        let allocation = CreditAllocation.refund(amount, bills: bills, unbilled: unbilled)
        func entry(_ amount: Money, bill: String?, note: String) throws {
            try record(.refund, -amount, line: line, reference: reference, bill: bill, note: note, context, in: db)
        }
        if allocation.unbilled.isPositive { try entry(allocation.unbilled, bill: nil, note: "退款 \(allocation.unbilled) 元 (\(reference))，冲减本期消费") }
        for share in allocation.shares {
            guard try apply(share, to: &bills, context, in: db) else { continue }
            try entry(share.principal, bill: share.billId, note: "退款 \(share.principal) 元 (\(reference))，冲减账单本金")
        }
        if allocation.remainder.isPositive {
            try entry(allocation.remainder, bill: nil, note: "退款 \(allocation.remainder) 元 (\(reference))，记为溢缴款，抵扣下期账单")
        }
        try review(lineID: line.id, on: today, context, in: db)
    }

    // MARK: The day

    /// Brings a line up to `date`: draws up the bills whose statement date has come, charges late fees
    /// and penalty interest for overdue days not yet charged, and suspends or reinstates the line.
    /// Running it again for the same date changes nothing.
    static func process(lineID: String, through date: CivilDate, _ context: Context, in db: any SQLExecutor) throws -> Outcome {
        guard var line = try CreditRepository.find(id: lineID, lock: true, in: db) else { throw StoreError.decoding("credit line \(lineID) missing") }
        var outcome = Outcome()
        if let done = line.processedThrough, done >= date { return outcome }
        while line.nextStatement <= date {
            if try statement(line, on: line.nextStatement, context, in: db) { outcome.bills += 1 }
            line.nextStatement = line.terms.statementDate(after: line.nextStatement)
        }
        for var bill in try CreditRepository.unpaidBills(line: line.id, in: db) {
            let (interest, fee) = try accrue(&bill, line: line, through: date, context, in: db)
            outcome.interest += interest
            outcome.fees += fee
        }
        line.processedThrough = date
        try CreditRepository.update(line, now: context.now, in: db)
        switch try review(lineID: line.id, on: date, context, in: db) {
        case .suspended: outcome.suspended += 1
        case .reinstated: outcome.reinstated += 1
        case .unchanged: break
        }
        return outcome
    }

    /// Draws up the bill of the cycle ending on `statementDate`; false when the cycle had no entries.
    static func statement(_ line: CreditLine, on statementDate: CivilDate, _ context: Context, in db: any SQLExecutor) throws -> Bool {
        let cutoff = statementDate.startInChina
        let entries = try CreditRepository.unbilled(line: line.id, before: cutoff, in: db)
        guard !entries.isEmpty else { return false }
        let net = Money.sum(entries.map(\.amount))
        let lastMonth = statementDate.adding(days: -Int64(statementDate.day))
        let cycleStart = CivilDate(year: lastMonth.year, month: lastMonth.month, day: line.terms.billingDay) ?? lastMonth
        var bill = CreditBill(
            id: context.ids.next("CB"), lineId: line.id, cycleStart: cycleStart, statementDate: statementDate,
            dueDate: line.terms.dueDate(statement: statementDate), principalBilled: max(net, .zero), principalDue: max(net, .zero)
        )
        if net.isNegative {
            // More came back than was spent this cycle: the credit pays older bills' principal, the rest carries on.
            let older = try CreditRepository.unpaidBills(line: line.id, in: db)
            let allocation = CreditAllocation.refund(-net, bills: older, unbilled: .zero)
            for share in allocation.shares {
                guard var target = older.first(where: { $0.id == share.billId }) else { continue }
                target.principalDue -= share.principal
                if target.amountDue == .zero { target.paidAt = context.now }
                try CreditRepository.update(target, in: db)
                try transfer(share.principal, from: bill.id, to: target.id, line: line, context, in: db)
            }
            if allocation.remainder.isPositive { try transfer(allocation.remainder, from: bill.id, to: nil, line: line, context, at: cutoff, in: db) }
        }
        if bill.amountDue == .zero { bill.paidAt = context.now }
        try CreditRepository.insert(bill, now: context.now, in: db)
        try CreditRepository.assign(entries.map(\.id), bill: bill.id, in: db)
        if bill.principalDue.isPositive {
            try Events.notice(
                person: line.personNumber, topic: "credit.statement", title: "医疗信用账单已出",
                body: "\(line.masked) \(statementDate) 账单：应还 \(bill.principalDue) 元，最后还款日 \(bill.dueDate)。逾期将按日计收罚息并可能暂停信用就医。账单号 \(bill.id)",
                ids: context.ids, now: context.now, in: db
            )
        }
        return true
    }

    /// A credit moved off the bill `from`: onto bill `to` (an older bill's principal) or, with `to` nil,
    /// into the next cycle. The pair of entries sums to zero.
    static func transfer(
        _ amount: Money, from: String, to: String?, line: CreditLine, _ context: Context, at: Instant? = nil, in db: any SQLExecutor
    ) throws {
        let at = at ?? context.now
        try record(
            .transfer, amount, line: line, reference: to, bill: from, note: to.map { "溢缴 \(amount) 元转抵账单 \($0)" } ?? "溢缴 \(amount) 元结转下期",
            context, at: at, in: db)
        try record(.transfer, -amount, line: line, reference: from, bill: to, note: "账单 \(from) 溢缴 \(amount) 元转入", context, at: at, in: db)
    }

    /// Charges the late fee on a bill's first overdue day and penalty interest for each overdue day up to
    /// `date` not yet charged (see `PenaltyInterest` for the arithmetic).
    static func accrue(
        _ bill: inout CreditBill, line: CreditLine, through date: CivilDate, _ context: Context, in db: any SQLExecutor
    ) throws -> (interest: Money, fee: Money) {
        let firstOverdue = bill.dueDate.adding(days: 1)
        var day = max(bill.accruedThrough.map { $0.adding(days: 1) } ?? firstOverdue, firstOverdue)
        guard day <= date, bill.amountDue.isPositive else { return (.zero, .zero) }
        let from = day
        var interest = Money.zero
        var fee = Money.zero
        var days = 0
        while day <= date {
            if day == firstOverdue, line.terms.lateFee.isPositive { fee = line.terms.lateFee }
            if bill.principalDue.isPositive {
                let (charge, carry) = PenaltyInterest.day(
                    principal: bill.principalDue, basisPoints: line.terms.penaltyBasisPointsPerDay, carry: bill.interestCarry)
                interest += charge
                bill.interestCarry = carry
                days += 1
            }
            day = day.adding(days: 1)
        }
        bill.accruedThrough = date
        if fee.isPositive {
            bill.feesDue += fee
            bill.feesCharged += fee
            try charge(
                fee, kind: .fee, bill: bill, line: line, note: "逾期滞纳金 \(fee) 元 (账单 \(bill.statementDate)，最后还款日 \(bill.dueDate))", context, in: db)
        }
        if interest.isPositive {
            bill.interestDue += interest
            bill.interestCharged += interest
            try charge(
                interest, kind: .interest, bill: bill, line: line,
                note: "罚息 \(from)…\(date) 共 \(days) 天，本金 \(bill.principalDue) 元 × 日 \(line.terms.penaltyBasisPointsPerDay)‱ = \(interest) 元", context,
                in: db
            )
        }
        if fee.isPositive && from == firstOverdue {
            try Events.notice(
                person: line.personNumber, topic: "credit.overdue", title: "医疗信用账单已逾期",
                body: "\(line.masked) 账单 \(bill.id) 已逾期，欠款 \(bill.amountDue) 元，按日计收罚息。逾期 \(line.terms.suspendAfterOverdueDays) 天将暂停信用就医并报送征信。",
                ids: context.ids, now: context.now, in: db
            )
        }
        try CreditRepository.update(bill, in: db)
        return (interest, fee)
    }

    /// Interest or a fee: an entry on the bill and the journal entry, together.
    static func charge(
        _ amount: Money, kind: CreditEntryKind, bill: CreditBill, line: CreditLine, note: String, _ context: Context, in db: any SQLExecutor
    ) throws {
        let id = try record(kind, amount, line: line, reference: nil, bill: bill.id, note: note, context, in: db)
        if let entry = JournalEntry(
            id: context.ids.next("J"), kind: .creditCharge, reference: id, at: context.now,
            movements: [Posting(.creditLine(line.id), amount), Posting(.creditPartner(line.partner), -amount)]
        ) {
            try LedgerRepository.post(entry, actor: "system:credit", in: db)
        }
    }

    enum Review { case suspended, reinstated, unchanged }

    /// Suspends a line with a bill overdue for the contract's number of days (writing a credit-report
    /// record), or reinstates a suspended line with nothing overdue any more.
    @discardableResult
    static func review(lineID: String, on date: CivilDate, _ context: Context, in db: any SQLExecutor) throws -> Review {
        guard var line = try CreditRepository.find(id: lineID, lock: true, in: db) else { return .unchanged }
        let bills = try CreditRepository.unpaidBills(line: line.id, in: db)
        let overdue = bills.filter { $0.overdueDays(on: date) > 0 }
        let days = overdue.map { $0.overdueDays(on: date) }.max() ?? 0
        let amount = Money.sum(overdue.map(\.amountDue))
        let change: Review
        if line.state == .active && days >= line.terms.suspendAfterOverdueDays {
            line.state = .suspended
            line.suspendedAt = context.now
            change = .suspended
        } else if line.state == .suspended && overdue.isEmpty {
            line.state = .active
            line.suspendedAt = nil
            change = .reinstated
        } else {
            return .unchanged
        }
        try CreditRepository.update(line, now: context.now, in: db)
        guard let token = try CreditRepository.token(line: line.id, in: db) else { throw StoreError.decoding("credit line \(line.id) token missing") }
        let report = CreditReport(
            id: context.ids.next("CR"), lineId: line.id, token: token, personNumber: line.personNumber,
            kind: change == .suspended ? "overdue" : "repaid",
            amount: change == .suspended ? amount : .zero, overdueDays: days, at: context.now
        )
        try CreditRepository.insert(report, in: db)
        try ChannelOperationRepository.enqueue(
            id: context.ids.next("CO"), channel: context.channel, kind: .creditSync, reference: line.id, refundReference: nil, amount: .zero,
            now: context.now, in: db
        )
        try ChannelOperationRepository.enqueue(
            id: context.ids.next("CO"), channel: context.channel, kind: .creditReport, reference: line.id, refundReference: nil, amount: .zero,
            now: context.now, in: db, detail: report.id
        )
        try AuditRepository.append(
            actor: "system:credit", action: change == .suspended ? "credit.suspend" : "credit.reinstate", subject: line.personNumber,
            value: ["line": line.id, "overdue_days": "\(days)", "amount": "\(amount.fen)", "report": report.id], now: context.now, in: db
        )
        try Events.notice(
            person: line.personNumber, topic: change == .suspended ? "credit.suspended" : "credit.reinstated",
            title: change == .suspended ? "信用就医已暂停" : "信用就医已恢复",
            body: change == .suspended
                ? "\(line.masked) 账单逾期 \(days) 天，欠款 \(amount) 元。信用就医（无感支付、医疗信用额度）已暂停，逾期记录已报送征信。还清逾期欠款后自动恢复。"
                : "\(line.masked) 的逾期欠款已还清，信用就医已恢复。还款记录已报送征信。",
            ids: context.ids, now: context.now, in: db
        )
        return change
    }

    // MARK: Repayment

    /// What a borrower owes now: bills' dues and the current cycle's purchases (never negative).
    static func owed(line: String, in db: any SQLExecutor) throws -> Money {
        let bills = try CreditRepository.unpaidBills(line: line, in: db)
        let unbilled = Money.sum(try CreditRepository.unbilled(line: line, in: db).map(\.amount))
        return Money.sum(bills.map(\.amountDue)) + max(unbilled, .zero)
    }

    /// Applies a completed repayment: entries per bill (fees, interest, principal), the journal entry, the
    /// bank told of the principal, reinstatement when nothing is overdue any more.
    static func repay(
        _ line: CreditLine, amount: Money, reference: String, fromAccount: Bool, _ context: Context, in db: any SQLExecutor
    ) throws -> CreditAllocation {
        let today = ChinaTime.date(context.now)
        _ = try process(lineID: line.id, through: today, context, in: db)
        var bills = try CreditRepository.unpaidBills(line: line.id, in: db)
        let unbilled = Money.sum(try CreditRepository.unbilled(line: line.id, in: db).map(\.amount))
        let allocation = CreditAllocation.repayment(amount, bills: bills, unbilled: unbilled)
        func entry(_ amount: Money, bill: String?, note: String) throws {
            try record(.repayment, -amount, line: line, reference: reference, bill: bill, note: note, context, in: db)
        }
        for share in allocation.shares {
            guard try apply(share, to: &bills, context, in: db) else { continue }
            try entry(share.total, bill: share.billId, note: "还款 \(share.total) 元：滞纳金 \(share.fees)，罚息 \(share.interest)，本金 \(share.principal)")
        }
        if allocation.unbilled.isPositive { try entry(allocation.unbilled, bill: nil, note: "提前还款 \(allocation.unbilled) 元 (本期未出账消费)") }
        if allocation.remainder.isPositive { try entry(allocation.remainder, bill: nil, note: "溢缴款 \(allocation.remainder) 元，抵扣下期账单") }
        var movements = [Posting(.creditLine(line.id), -amount), Posting(.creditPartner(line.partner), amount)]
        if fromAccount {
            movements += [Posting(.personal(line.personNumber), -amount), Posting(.channel(context.channel), amount)]
        }
        if let journal = JournalEntry(id: context.ids.next("J"), kind: .creditRepayment, reference: reference, at: context.now, movements: movements)
        {
            try LedgerRepository.post(journal, actor: "patient:" + line.personNumber, in: db)
        }
        let principal = allocation.principal + allocation.remainder
        if principal.isPositive, let token = try CreditRepository.token(line: line.id, in: db) {
            try ChannelOperationRepository.enqueue(
                id: context.ids.next("CO"), channel: context.channel, kind: .creditRepay, reference: reference, refundReference: nil,
                amount: principal,
                now: context.now, in: db, detail: token
            )
        }
        try review(lineID: line.id, on: today, context, in: db)
        return allocation
    }
}
