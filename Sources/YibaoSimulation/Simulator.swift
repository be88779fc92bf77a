import Foundation
import Synchronization
import YibaoApp
import YibaoCore
import YibaoSandbox
import YibaoStore

/// Runs simulation steps against a world and checks the invariants after every step.
public final class Simulator: @unchecked Sendable {
    /// The world.
    public let world: SimulationWorld
    /// Settlements made so far (completed, pending, declined), in order.
    private let made = Mutex<[String]>([])
    var settlements: [String] { made.withLock { $0 } }
    /// Visits opened and left open.
    private(set) var openVisits: [String] = []
    /// The last money-moving request, to send again: it takes the Idempotency-Key.
    private var last: (key: String, send: @Sendable (String) async throws -> Void)?
    /// The code step each member's phone last showed (a code is spent once).
    private var codeSteps: [Int: Int64] = [:]
    /// The binding of member 2 to member 0 now in force, if any.
    private var bindingID: String?
    private let cache = SimulationInvariants.DecodeCache()
    /// What each step did, for the report.
    public private(set) var outcomes: [String] = []
    /// Violations a step itself found (reported with the invariants after it).
    private var violations: [String] = []

    /// Creates a simulator over a world.
    public init(world: SimulationWorld) {
        self.world = world
        self.bindingID = world.bindingID
    }

    var platform: Platform { world.platform }
    var hospital: Institution { SimulationWorld.hospital }

    /// Runs one step; returns the invariant violations found after it (empty: all hold).
    public func run(_ step: SimulationStep, index: Int) async -> [String] {
        var problems: [String] = []
        do {
            let outcome = try await perform(step, index: index)
            outcomes.append(outcome)
        } catch let refusal as Refusal {
            outcomes.append("refused \(refusal.code.rawValue)")
            if let id = refusal.references["settlement_id"], !id.isEmpty { remember(id) }
        } catch is FaultInjectingBackend.SimulatedAbort {
            outcomes.append("aborted")
        } catch {
            outcomes.append("error \(error)")
            problems.append("unexpected error (a request would get a 500): \(error)")
        }
        problems += violations
        violations = []
        // What the step's instance does after its commits (projections, channel operations marked) is
        // written before the world is checked and the next step starts.
        await platform.flushAfterCommit()
        do {
            problems += try await SimulationInvariants.check(world, quiescent: step == .background, cache: cache)
        } catch {
            problems.append("invariant check failed: \(error)")
        }
        return problems
    }

    // MARK: Steps

    static func feeLines(_ lines: [SimulationStep.Line]) -> [FeeLine] {
        lines.enumerated().map { index, line in
            FeeLine(
                lineNumber: "\(index + 1)", itemCode: ["A001", "B001", "C001"][line.itemClass], unitPrice: Money(fen: line.priceFen),
                quantity: Quantity(units: 1))
        }
    }

    static func key(_ value: String, _ what: String) -> IdempotencyRequest { IdempotencyRequest(key: value, fingerprint: value + "|" + what) }

    func remember(_ id: String) { made.withLock { if !$0.contains(id) { $0.append(id) } } }

    /// A code from member `m`'s phone, a step later than the last one it showed.
    func freshCode(_ m: Int) -> String {
        let step = VoucherCode.step(at: world.clock.now())
        if let used = codeSteps[m], used >= step { world.clock.advance(seconds: 30) }
        codeSteps[m] = VoucherCode.step(at: world.clock.now())
        return world.code(m)
    }

    /// Sends a money-moving request now and remembers it for retries.
    func send(key: String, _ body: @escaping @Sendable (String) async throws -> Void) async throws {
        last = (key, body)
        try await body(key)
    }

    func perform(_ step: SimulationStep, index: Int) async throws -> String {
        let platform = self.platform
        let hospital = self.hospital
        let visitNumber = "SIM\(index)"
        switch step {
        case .counterSettle(let m, let lines, let useAccount):
            let visit = try await platform.openVisit(
                OpenVisitRequest(
                    personNumber: world.members[m].person.number, category: .ordinaryOutpatient, hospitalVisitNumber: visitNumber,
                    lines: Self.feeLines(lines)), institution: hospital)
            try await send(key: "k\(index)") { [weak self] key in
                let record = try await platform.settle(
                    visitID: visit.id, institution: hospital, useAccount: useAccount, idempotency: Self.key(key, visit.id), cashAtCounter: true)
                self?.remember(record.id)
            }
            return "settled at the counter"
        case .codeSettle(let m, let lines, let useAccount):
            let request = CodeVisitRequest(
                code: freshCode(m), category: .ordinaryOutpatient, hospitalVisitNumber: visitNumber, lines: Self.feeLines(lines),
                useAccount: useAccount)
            try await send(key: "k\(index)") { [weak self] key in
                let record = try await platform.settle(code: request, institution: hospital, idempotency: Self.key(key, request.code))
                self?.remember(record.id)
            }
            return "settled with a code"
        case .familySettle(let lines, let useAccount):
            var request = CodeVisitRequest(
                code: freshCode(0), category: .ordinaryOutpatient, hospitalVisitNumber: visitNumber, lines: Self.feeLines(lines),
                useAccount: useAccount)
            request.forPersonNumber = world.members[2].person.number
            let forMember = request
            try await send(key: "k\(index)") { [weak self] key in
                let request = forMember
                let record = try await platform.settle(code: request, institution: hospital, idempotency: Self.key(key, request.code))
                self?.remember(record.id)
            }
            return "settled for a relative"
        case .orderSettle(let m, let byBinder, let lines, let useAccount):
            let order = try await platform.createPaymentOrder(
                PaymentOrderRequest(
                    personNumber: world.members[m].person.number, category: .ordinaryOutpatient, hospitalVisitNumber: visitNumber,
                    lines: Self.feeLines(lines)), institution: hospital)
            let payer = world.members[byBinder ? 0 : m].person.number
            try await send(key: "k\(index)") { [weak self] key in
                let record = try await platform.payPaymentOrder(
                    id: order.id, payer: payer, useAccount: useAccount, idempotency: Self.key(key, order.id))
                self?.remember(record.id)
            }
            return byBinder ? "paid a relative's bill on the phone" : "paid a bill on the phone"
        case .frictionlessSettle(let lines):
            let visit = try await platform.openVisit(
                OpenVisitRequest(
                    personNumber: world.members[1].person.number, category: .ordinaryOutpatient, hospitalVisitNumber: visitNumber,
                    lines: Self.feeLines(lines), frictionless: true), institution: hospital)
            try await send(key: "k\(index)") { [weak self] key in
                let record = try await platform.settle(
                    visitID: visit.id, institution: hospital, useAccount: true, idempotency: Self.key(key, visit.id))
                self?.remember(record.id)
            }
            return "settled frictionless"
        case .openAndPreSettle(let m, let lines):
            let visit = try await platform.openVisit(
                OpenVisitRequest(
                    personNumber: world.members[m].person.number, category: .ordinaryOutpatient, hospitalVisitNumber: visitNumber,
                    lines: Self.feeLines(lines)), institution: hospital)
            openVisits.append(visit.id)
            let preview = try await platform.preSettle(visitID: visit.id, institution: hospital, useAccount: true)
            guard preview.breakdown.brokenIdentity() == nil else {
                throw SimulationFailure("pre-settlement breaks an identity: \(preview.breakdown)")
            }
            return "pre-settled \(preview.breakdown.totalAmount)"
        case .settleOpenVisit(let v, let useAccount):
            guard !openVisits.isEmpty else { return "no open visit" }
            let visitID = openVisits[v % openVisits.count]
            try await send(key: "k\(index)") { [weak self] key in
                let record = try await platform.settle(
                    visitID: visitID, institution: hospital, useAccount: useAccount, idempotency: Self.key(key, visitID), cashAtCounter: true)
                self?.remember(record.id)
            }
            return "settled an open visit"
        case .cancelVisit(let v, let ofSettlement):
            let visitID: String
            if ofSettlement {
                guard let original = try await pick(v) else { return "no settlement" }
                visitID = original.visitId
            } else {
                guard !openVisits.isEmpty else { return "no open visit" }
                visitID = openVisits[v % openVisits.count]
            }
            let visit = try await platform.cancelVisit(id: visitID, institution: hospital)
            guard visit.state == .cancelled else { throw SimulationFailure("visit \(visitID) answered \(visit.state) to its cancellation") }
            return "cancelled a visit"
        case .refundCash(let s, let permille):
            guard let original = try await pick(s) else { return "no settlement" }
            let amount = Money(fen: max(1, original.breakdown.cashPaid.fen * Int64(permille) / 1000))
            try await send(key: "k\(index)") { key in
                _ = try await platform.refund(
                    settlementID: original.id, institution: hospital, request: RefundRequest(type: .cash, amount: amount),
                    idempotency: Self.key(key, original.id + "cash\(amount.fen)"))
            }
            return "refunded \(amount) cash"
        case .refundInsurance(let s):
            guard let original = try await pick(s) else { return "no settlement" }
            try await send(key: "k\(index)") { key in
                _ = try await platform.refund(
                    settlementID: original.id, institution: hospital, request: RefundRequest(type: .insurance),
                    idempotency: Self.key(key, original.id + "insurance"))
            }
            return "refunded the insurance part"
        case .refundLines(let s, let mask):
            guard let original = try await pick(s) else { return "no settlement" }
            let numbers = original.lines.enumerated().filter { mask & (1 << $0.offset) != 0 }.map(\.element.split.lineNumber)
            let chosen = numbers.isEmpty ? [original.lines[0].split.lineNumber] : numbers
            try await send(key: "k\(index)") { key in
                _ = try await platform.refund(
                    settlementID: original.id, institution: hospital, request: RefundRequest(type: .lines, lineNumbers: chosen),
                    idempotency: Self.key(key, original.id + "lines\(chosen)"))
            }
            return "refunded lines \(chosen)"
        case .reverse(let s):
            guard let original = try await pick(s) else { return "no settlement" }
            try await send(key: "k\(index)") { key in
                _ = try await platform.reverse(settlementID: original.id, institution: hospital, idempotency: Self.key(key, original.id + "reverse"))
            }
            return "reversed"
        case .retryLast(let sameKey):
            guard let last else { return "nothing to retry" }
            try await last.send(sameKey ? last.key : "k\(index)")
            return "retried"
        case .concurrentDuplicate:
            guard let last else { return "nothing to send twice" }
            let key = "k\(index)"
            let send = last.send
            let errors = await withTaskGroup(of: (any Error)?.self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        do {
                            try await send(key)
                            return nil
                        } catch { return error }
                    }
                }
                var errors: [(any Error)?] = []
                for await error in group { errors.append(error) }
                return errors
            }
            var refusals: [Refusal] = []
            for case let error? in errors {
                if let refusal = error as? Refusal {
                    refusals.append(refusal)
                    if let id = refusal.references["settlement_id"], !id.isEmpty { remember(id) }
                } else if !(error is FaultInjectingBackend.SimulatedAbort) {
                    throw error
                }
            }
            return "sent twice at once: \(refusals.map(\.code.rawValue))"
        case .bankFault(let kind, let count):
            var faults = SandboxBank.Faults()
            switch kind {
            case 0: faults.timeoutsBeforeProcessing = count
            case 1: faults.timeoutsAfterProcessing = count
            default: faults.unavailable = count
            }
            world.bank.inject(faults)
            return "bank faults set"
        case .cardChange(let m, let frozen, let balance):
            try await world.bank.update(number: world.members[m].cardNumber, status: frozen ? "frozen" : "active", balance: balance.map(Money.yuan))
            return "card changed"
        case .defaultSource(let line):
            try await platform.setDefaultFundingSource(
                id: line ? world.creditLine.source : world.members[1].cardSource, person: world.members[1].person.number)
            return "default source set"
        case .background:
            // The server's loop resolves payments pending for more than 10 seconds.
            world.clock.advance(seconds: 11)
            world.bank.inject(SandboxBank.Faults())
            for _ in 0..<2 {
                await platform.processChannelOperations(takeOverLeases: true)
                await platform.expandDueProjections(takeOverLeases: true)
                _ = await platform.resolvePendingPayments(olderThanSeconds: 0)
                _ = await platform.resolvePendingPremiums(olderThanSeconds: 0)
                _ = await platform.resolvePendingRepayments(olderThanSeconds: 0)
            }
            await platform.processChannelOperations(takeOverLeases: true)
            return "background work done"
        case .advance(let seconds):
            world.clock.advance(seconds: seconds)
            return "clock at \(world.clock.now())"
        case .dailyJobs:
            let report = try await platform.runCreditDay()
            let clearing = try await clearingCycle(index)
            return "credit day: \(report.bills) bills, \(report.suspended) suspended; \(clearing); \(try await closeYesterday())"
        case .premium(let m, let byBinder):
            let member = world.members[m].person.number
            let payer = byBinder && m == 2 ? world.members[0].person.number : member
            let options = try await platform.premiumOptions(person: member)
            // Any contribution on offer and unpaid (the commercial plan among them), else one already paid (refused).
            let unpaid = options.filter { $0.open && $0.status == "unpaid" }
            guard let option = unpaid.isEmpty ? options.first : unpaid[index % unpaid.count] else { return "no contribution" }
            let request = PremiumRequest(personNumber: member, kind: option.kind, period: option.period, amount: option.amount)
            try await send(key: "k\(index)") { key in
                _ = try await platform.payPremium(request, payer: payer, idempotency: Self.key(key, "\(member)\(option.period)"))
            }
            return "paid the \(option.kind.rawValue) \(option.period) contribution"
        case .repay(let permille, let fromAccount):
            let person = world.members[1].person.number
            let line = try await platform.creditLine(id: world.creditLine.id, person: person)
            guard line.owed.isPositive else { return "nothing owed" }
            let amount = Money(fen: max(1, line.owed.fen * Int64(permille) / 1000))
            let request = RepaymentRequest(
                amount: amount, source: fromAccount ? .account : .fundingSource, fundingSourceId: fromAccount ? nil : world.members[1].cardSource)
            let lineID = world.creditLine.id
            try await send(key: "k\(index)") { key in
                _ = try await platform.repayCredit(person: person, line: lineID, request, idempotency: Self.key(key, "repay\(amount.fen)"))
            }
            return "repaid \(amount)"
        case .binding(let unbind):
            let binder = world.members[0].person
            let member = world.members[2].person
            if unbind {
                guard let id = bindingID else { return "no binding" }
                _ = try await platform.unbind(id: id, by: index % 2 == 0 ? binder.number : member.number)
                bindingID = nil
                return "unbound"
            }
            guard bindingID == nil else { return "already bound" }
            let binding = try await platform.requestBinding(
                binder: binder.number, BindingRequest(memberNumber: member.number, memberIdNumber: member.idNumber, relationship: .child))
            bindingID = try await platform.confirmBinding(id: binding.id, member: member.number).id
            return "bound again"
        case .abortNextWrite(let statement):
            world.faults.abortNextWrite(atStatement: statement)
            return "the next write will be aborted"
        }
    }

    /// The month's clearing as the bureau runs it: last month applied for (each insurance type), every open
    /// clearing taken as far as it goes — a deduction now and then, approval (or cancellation when it pays
    /// nothing), the run, the bank's answer (now and then a failure, run again at the next daily jobs).
    /// Closes yesterday, as the server does after 01:00. A close whose day's check found something that
    /// the whole ledger then did not (verified sums gone stale) is a violation: the day's check must agree
    /// with the whole ledger whenever it runs.
    func closeYesterday() async throws -> String {
        let day = ChinaTime.date(world.clock.now()).adding(days: -1)
        guard try await !platform.isClosed(day) else { return "\(day) already closed" }
        let verified = try await platform.backend.read { db in try LedgerVerificationRepository.verifiedThrough(in: db) }
        let close = try await platform.closeDay(day)
        let checkable = verified == day.startInChina && day.adding(days: 1).day != 1
        if checkable, let ledger = close.ledger, ledger.passed, ledger.day == nil {
            violations.append("the close of \(day) found a problem in the day's check that the whole ledger did not")
        }
        let scope = close.ledger?.day == nil ? "the whole ledger" : "the day's \(close.ledger?.entries ?? 0) entries"
        return "closed \(day): \(scope) verified \(close.ledger?.passed ?? false)"
    }

    func clearingCycle(_ index: Int) async throws -> String {
        let code = hospital.code
        let today = ChinaTime.date(world.clock.now())
        let lastMonth = StatementPeriod.month(of: today.adding(days: -Int64(today.day)))
        for type in [InsuranceType.employee, .resident] {
            do {
                _ = try await platform.applyForClearing(institution: code, insuranceType: type, period: lastMonth, startedBy: "operator:sim")
            } catch let refusal as Refusal where refusal.code == .nothingToClear {}
        }
        var done: [String] = []
        for clearing in try await platform.clearings(institution: code, state: nil) where [.applied, .approved, .paying].contains(clearing.state) {
            var current = clearing
            if current.state == .applied {
                if index % 3 == 0, current.payable.fen > 1 {
                    current = try await platform.deduct(
                        clearingID: current.id, settlementID: nil, amount: Money(fen: current.payable.fen / 10 + 1), reason: "simulated review",
                        operatorName: "sim")
                }
                do {
                    current = try await platform.approveClearing(id: current.id, administrator: "sim")
                } catch let refusal as Refusal where refusal.code == .nothingToClear {
                    _ = try await platform.cancelClearing(id: current.id, institution: nil, actor: "operator:sim")
                    done.append("cancelled (pays \(current.payable))")
                    continue
                }
            }
            if current.state == .approved { current = try await platform.runClearing(id: current.id, administrator: "sim") }
            if current.state == .paying {
                let fails = index % 5 == 0
                current = try await platform.recordPayout(
                    id: current.id, paid: !fails, bankReference: fails ? nil : "SIM-\(index)", failure: fails ? "simulated bank failure" : nil,
                    operatorName: "sim")
            }
            done.append("\(current.state.rawValue) \(current.payable)")
        }
        return "clearing: " + (done.isEmpty ? "nothing to clear" : done.joined(separator: ", "))
    }

    /// The settlement (kind `settlement`) at `index` modulo those made, read as stored (no bank call).
    func pick(_ index: Int) async throws -> SettlementRecord? {
        guard !settlements.isEmpty else { return nil }
        let id = settlements[index % settlements.count]
        return try await SimulationInvariants.record(id, in: platform)
    }
}

/// A failure the simulation itself detected while performing a step.
public struct SimulationFailure: Error, CustomStringConvertible {
    /// What went wrong.
    public let description: String
    init(_ description: String) { self.description = description }
}
