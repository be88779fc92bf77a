import Foundation
import Testing
import YibaoApp
import YibaoCore
import YibaoSandbox

@testable import YibaoStore

private typealias S = AppFixtures

/// A commercial plan end to end on each database: enrolment through the premium flow (the premium goes
/// to the insurer), the plan paying in the settlement (pre-settlement shows it), and every way back —
/// a refund by lines, an insurance refund, a reversal — returning the plan's share to the insurer and
/// its year-to-date figures to where they were.
@Suite("Commercial plan: enrol, pay in the settlement, give back")
struct CommercialPlanStoreTests {
    /// 500 yuan deductible; 80 % of the in-scope self-borne part, 50 % of class C; 5,000 a year; inpatient only.
    static let plan = CommercialPlan(
        id: "test-plan-2026", region: S.region, year: 2026, name: "测试惠民保", insurer: .init(code: "INS1", name: "测试保险"), sources: ["test"],
        premium: .yuan(190), deductible: .yuan(500),
        ratios: .init(inScopeSelfBorne: Ratio(percent: 80), firstSelfPay: Ratio(percent: 80), overLimit: .zero, fullSelfPay: Ratio(percent: 50)),
        annualCap: .yuan(5_000), pools: [.inpatient], enrolmentOpens: CivilDate("2025-10-01"), enrolmentCloses: CivilDate("2026-12-31"))

    static func stay(_ platform: Platform, _ number: String) async throws -> Visit {
        try await platform.openVisit(
            OpenVisitRequest(
                personNumber: "P1", category: .ordinaryInpatient, hospitalVisitNumber: number,
                lines: [S.line("1", "A001", yuan: 5_000), S.line("2", "C001", yuan: 1_000)]),
            institution: S.hospital)
    }

    static func planYear(_ platform: Platform) async throws -> PlanAccumulators {
        try await platform.yearToDate(person: "P1", year: 2026).first { $0.pool == .inpatient }?.figures.plan ?? .zero
    }

    @Test("enrolment, settlement, refunds and reversal move the plan's money exactly", arguments: BackendKind.available)
    func planLifecycle(kind: BackendKind) async throws {
        let clock = ManualClock(Instant(iso8601: "2026-03-02T10:00:00+08:00")!)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            try await S.load(into: platform)
            try await platform.saveCommercialPlan(Self.plan)
            let person = S.person("P1", sequence: 1)
            try await platform.enrol(person)
            // The insurer (a partner named by its code) subscribes to its claims; a bank partner takes every event.
            let insurerHook = try await platform.subscribeWebhook(
                owner: "partner:INS1", url: "http://127.0.0.1:9/claims", events: ["plan.claim"], allowPrivate: true)
            _ = try await platform.subscribeWebhook(owner: "partner:BANK", url: "http://127.0.0.1:9/all", events: ["*"], allowPrivate: true)

            // Not yet enrolled: the plan pays nothing.
            let before = try await Self.stay(platform, "ZY001")
            #expect(try await platform.preSettle(visitID: before.id, institution: S.hospital, useAccount: true).breakdown.otherFund == .zero)

            // Enrol through the premium flow: the card pays 190 to the insurer.
            let card = try await platform.sandbox!.issueCard(
                holderIDNumber: person.idNumber, holderName: person.name, kind: .debit, balance: .yuan(1000))
            _ = try await platform.bindCard(person: "P1", number: card.number)
            let option = try await platform.premiumOptions(person: "P1").first { $0.kind == .commercialPlan && $0.period == "2026" }
            #expect(option?.amount == .yuan(190) && option?.open == true && option?.status == "unpaid")
            let join = PremiumRequest(personNumber: "P1", kind: .commercialPlan, period: "2026", amount: .yuan(190))
            let joined = try await platform.payPremium(join, payer: "P1", idempotency: IdempotencyRequest(key: "join", fingerprint: "join"))
            // A retry with the same key answers the same payment and charges nothing more.
            let retried = try await platform.payPremium(join, payer: "P1", idempotency: IdempotencyRequest(key: "join", fingerprint: "join"))
            #expect(retried.id == joined.id && retried.state == .paid)
            #expect(try await platform.sandbox!.card(card.number)?.balance == .yuan(810))
            #expect(try await platform.balance(of: .insurer("INS1")) == .yuan(190))

            // Basic fund (5,000 − 1,000) × 80 % = 3,200; the plan: 1,800 − 500 deductible = 1,300 × 80 % = 1,040,
            // class C 1,000 × 50 % = 500.
            let preview = try await platform.preSettle(visitID: before.id, institution: S.hospital, useAccount: true)
            let key = IdempotencyRequest(key: "zy001-settle", fingerprint: "zy001")
            let settled = try await platform.settle(visitID: before.id, institution: S.hospital, useAccount: true, idempotency: key)
            // The same request again: the same settlement, the insurer charged once.
            let again = try await platform.settle(visitID: before.id, institution: S.hospital, useAccount: true, idempotency: key)
            #expect(again.id == settled.id && again.breakdown == settled.breakdown)
            #expect(settled.breakdown == preview.breakdown)
            #expect(settled.breakdown.pooledFund == .yuan(3_200) && settled.breakdown.otherFund == .yuan(1_540))
            #expect(settled.breakdown.fundTotal == .yuan(4_740) && settled.breakdown.cashPaid == .yuan(1_260))
            #expect(settled.plan?.insurerCode == "INS1")
            #expect(try await platform.balance(of: .insurer("INS1")) == .yuan(190 - 1_540))
            #expect(try await platform.balance(of: .institutionClearing(S.hospital.code)) == .yuan(4_740))
            #expect(try await Self.planYear(platform) == PlanAccumulators(deductibleMet: .yuan(500), paid: .yuan(1_540)))

            // Class C refunded by lines: the plan's 500 goes back; then the insurance part: its 1,040 too.
            let byLines = try await platform.refund(
                settlementID: settled.id, institution: S.hospital, request: RefundRequest(type: .lines, lineNumbers: ["2"]), idempotency: nil)
            #expect(byLines.returned?.plan == .yuan(500))
            #expect(try await Self.planYear(platform) == PlanAccumulators(deductibleMet: .yuan(500), paid: .yuan(1_040)))
            let insurance = try await platform.refund(
                settlementID: settled.id, institution: S.hospital, request: RefundRequest(type: .insurance), idempotency: nil)
            #expect(insurance.returned?.plan == .yuan(1_040))
            #expect(try await Self.planYear(platform) == .zero)
            #expect(try await platform.balance(of: .insurer("INS1")) == .yuan(190))

            // A reversal gives the whole share back.
            let second = try await Self.stay(platform, "ZY002")
            let paid = try await platform.settle(visitID: second.id, institution: S.hospital, useAccount: true, idempotency: nil)
            #expect(paid.breakdown.otherFund == .yuan(1_540))
            let reversal = try await platform.reverse(settlementID: paid.id, institution: S.hospital, idempotency: nil)
            #expect(reversal.breakdown.otherFund == -.yuan(1_540) && reversal.returned?.plan == .yuan(1_540))
            #expect(try await Self.planYear(platform) == .zero)
            #expect(try await platform.balance(of: .insurer("INS1")) == .yuan(190))
            #expect(try await platform.verifyLedger().passed)

            // The cap: 5,000 a year, reached in the fourth stay.
            var planPaid: [Money] = []
            for index in 0..<4 {
                let visit = try await Self.stay(platform, "ZY1\(index)")
                planPaid.append(
                    try await platform.settle(visitID: visit.id, institution: S.hospital, useAccount: true, idempotency: nil).breakdown.otherFund)
            }
            // 1,540, then 1,440 + 500 = 1,940 each (no deductible left), until 5,000 is reached.
            #expect(planPaid == [.yuan(1_540), .yuan(1_940), .yuan(1_520), .zero])
            #expect(try await Self.planYear(platform).paid == .yuan(5_000))
            #expect(try await platform.verifyLedger().passed)

            // The claims report: every settlement, refund and reversal the plan paid in, netting to what it owes.
            let report = try await platform.planClaims(
                region: S.region, year: 2026, period: try StatementPeriod(from: CivilDate("2026-03-01")!, through: CivilDate("2026-03-31")!))
            // (The test clock stands still, so the claims of one instant come in id order: compared as a set.)
            #expect(report.claims.map(\.planPaid).sorted() == [-1_540, -1_040, -500, 1_520, 1_540, 1_540, 1_540, 1_940].map { Money.yuan($0) })
            #expect(report.claims.filter { $0.kind == .refund }.count == 2 && report.claims.filter { $0.kind == .reversal }.count == 1)
            #expect(report.planPaid == .yuan(5_000) && report.insurerCode == "INS1")
            let first = try #require(report.claims.first { $0.settlementId == settled.id })
            #expect(first.lines.map(\.planPaid) == [.yuan(1_040), .yuan(500)] && first.lines.map(\.basicFundPaid) == [.yuan(3_200), .zero])
            #expect(report.claims.first { $0.settlementId == byLines.id }?.lines.map(\.planPaid) == [-.yuan(500)])
            // The bureau's fund report counts the plan's part inside the funds' and the premium the insurer received.
            let day = try StatementPeriod(from: CivilDate("2026-03-02")!, through: CivilDate("2026-03-02")!)
            let funds = try await platform.fundReport(period: day, verifyLedger: true)
            #expect(funds.totals.plan == .yuan(5_000) && funds.totals.fund == funds.totals.pooledFund + funds.totals.aboveCapFund + .yuan(5_000))
            #expect(funds.premiums.contains(OwnerAmount(owner: "insurer:INS1", amount: .yuan(190))))
            #expect(funds.totals.fund + funds.totals.ownAccount + funds.totals.mutualAid + funds.totals.cash == funds.totals.total)
            // The same claims reached the insurer's subscription only: the bank partner's "*" does not carry medical items.
            await platform.flushProjections()
            let deliveries = try await platform.backend.read { db in
                try db.query("SELECT subscription_id FROM webhook_deliveries WHERE event_type = 'plan.claim'", []).map {
                    try $0.string("subscription_id")
                }
            }
            #expect(deliveries.count == 8 && deliveries.allSatisfy { $0 == insurerHook.id })
        }
    }

    @Test("enrolment is refused outside the window, for another amount, or where the region has no plan", arguments: BackendKind.available)
    func enrolmentRefusals(kind: BackendKind) async throws {
        let clock = ManualClock(Instant(iso8601: "2026-03-02T10:00:00+08:00")!)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            try await S.load(into: platform)
            try await platform.saveCommercialPlan(Self.plan)
            try await platform.enrol(S.person("P1", sequence: 1))
            func refusal(_ period: String, _ yuan: Int64) async -> RefusalCode? {
                do {
                    _ = try await platform.payPremium(
                        PremiumRequest(personNumber: "P1", kind: .commercialPlan, period: period, amount: .yuan(yuan)), payer: "P1",
                        idempotency: IdempotencyRequest(key: UUID().uuidString, fingerprint: "x"))
                    return nil
                } catch { return (error as? Refusal)?.code }
            }
            #expect(await refusal("2027", 190) == .noPremiumSchedule)
            #expect(await refusal("2026", 180) == .amountMismatch)
            #expect(await refusal("2026", 190) == .noFundingSource)
            var bad = Self.plan
            bad.ratios.fullSelfPay = Ratio(basisPoints: 12_000)
            await #expect { try await platform.saveCommercialPlan(bad) } throws: { ($0 as? Refusal)?.code == .invalidRequest }
        }
    }
}
