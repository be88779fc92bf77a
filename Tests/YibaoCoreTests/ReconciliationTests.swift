import Testing
import YibaoCore

@Suite("Reconciliation and clearing rules")
struct ReconciliationTests {
    static func row(_ id: String, total: Int64, fund: Int64, account: Int64, refund: Bool = false, type: ClearingType = .outpatient) -> StatementRow {
        StatementRow(
            settlementId: id, visitId: "V" + id, personNumber: "P1", insuranceType: .employee, clearingType: type, total: Money(fen: total),
            fund: Money(fen: fund), account: Money(fen: account), cash: Money(fen: total - fund - account), refund: refund)
    }

    @Test("yuan are read with at most two decimals, a sign and a bound; anything else is refused")
    func yuan() {
        #expect(Reconciliation.parseYuan("123.45") == Money(fen: 12_345))
        #expect(Reconciliation.parseYuan("-0.23") == Money(fen: -23))
        #expect(Reconciliation.parseYuan("7.5") == Money(fen: 750))
        #expect(Reconciliation.parseYuan("12") == Money(fen: 1200))
        for bad in ["", "-", "1.234", "1e3", " 1", "١٢", "1.", ".5", "99999999999999", "1,000.00", "+1"] {
            #expect(Reconciliation.parseYuan(bad) == nil, "\(bad)")
        }
    }

    @Test("a detail file needs the header, seven fields, unique ids, amounts and a 0/1 refund flag; each problem names its line")
    func detailFile() throws {
        let header = Reconciliation.detailColumns.joined(separator: "\t")
        let rows = try Reconciliation.parseDetailFile(header + "\r\nS1\tV1\tP1\t100.00\t60.00\t10.00\t0\r\nS2\tV2\tP1\t-10.00\t0\t0\t1\n")
        #expect(rows.count == 2)
        #expect(
            rows[1]
                == DetailRow(
                    settlementId: "S2", visitId: "V2", personNumber: "P1", total: Money(fen: -1000), fund: .zero, account: .zero, refund: true))
        let cases: [(String, String)] = [
            ("", "empty"),
            ("setl_id,mdtrt_id\n", "line 1"),
            (header + "\nS1\tV1\tP1\t1.00\t0\t0\n", "line 2: 6 fields"),
            (header + "\nS1\tV1\tP1\t1.00\t0\t0\t0\nS1\tV1\tP1\t1.00\t0\t0\t0\n", "line 3: setl_id S1 appears twice"),
            (header + "\nS1\tV1\tP1\tabc\t0\t0\t0\n", "line 2: medfee_sumamt"),
            (header + "\nS1\tV1\tP1\t1\t0\t0\t2\n", "line 2: refd_setl_flag"),
            (header + "\n\tV1\tP1\t1\t0\t0\t0\n", "line 2: setl_id"),
        ]
        for (text, expected) in cases {
            #expect(throws: Refusal.self) { try Reconciliation.parseDetailFile(text) }
            do {
                _ = try Reconciliation.parseDetailFile(text)
            } catch {
                #expect(error.detail.contains(expected), "\(error.detail)")
            }
        }
    }

    @Test("totals group by insurance and clearing type, leave refunds out on request, and show a key only one side has")
    func totals() throws {
        let rows = [
            Self.row("S1", total: 10_000, fund: 6000, account: 1000), Self.row("S2", total: -2000, fund: -1200, account: 0, refund: true),
            Self.row("S3", total: 5000, fund: 4000, account: 0, type: .inpatient),
        ]
        let all = Reconciliation.totals(rows, includeRefunds: true)
        let outpatient = StatementKey(insuranceType: .employee, clearingType: .outpatient)
        let inpatient = StatementKey(insuranceType: .employee, clearingType: .inpatient)
        #expect(
            all[outpatient]
                == StatementTotals(count: 2, total: Money(fen: 8000), fund: Money(fen: 4800), account: Money(fen: 1000), cash: Money(fen: 2200)))
        #expect(Reconciliation.totals(rows, includeRefunds: false)[outpatient]?.count == 1)
        let period = try StatementPeriod(from: CivilDate("2026-03-01")!, through: CivilDate("2026-03-01")!)
        let result = try Reconciliation.compare(institution: [(outpatient, all[outpatient]!)], yibao: all, period: period, includeRefunds: true)
        #expect(result.statementResult == "1")
        #expect(result.lines.count == 2)
        #expect(result.lines.first { $0.clearingType == .inpatient }?.difference.count == 1)
        #expect(throws: Refusal.self) {
            try Reconciliation.compare(institution: [(inpatient, .zero), (inpatient, .zero)], yibao: all, period: period, includeRefunds: true)
        }
        #expect(throws: Refusal.self) {
            try Reconciliation.compare(
                institution: [(inpatient, StatementTotals(count: -1, total: .zero, fund: .zero, account: .zero, cash: .zero))], yibao: all,
                period: period, includeRefunds: true)
        }
    }

    @Test("periods are whole China days, never reversed or longer than a quarter; a month ends at the next month's first midnight")
    func periods() throws {
        let march = StatementPeriod.month(of: CivilDate("2026-03-17")!)
        #expect(march.from == CivilDate("2026-03-01")! && march.through == CivilDate("2026-03-31")!)
        #expect(march.end == Instant(iso8601: "2026-04-01T00:00:00+08:00")!)
        #expect(throws: Refusal.self) { try StatementPeriod(from: CivilDate("2026-03-02")!, through: CivilDate("2026-03-01")!) }
        #expect(throws: Refusal.self) { try StatementPeriod(from: CivilDate("2026-01-01")!, through: CivilDate("2026-12-31")!) }
    }

    @Test("deductions: only while applied, positive, on a carried item up to what it is owed, never beyond what the clearing pays")
    func deductions() throws {
        let now = Instant(iso8601: "2026-04-01T09:00:00+08:00")!
        let item = ClearingItem(
            settlementId: "S1", kind: .settlement, region: RegionCode("440100")!, total: Money(fen: 10_000), owed: Money(fen: 7000), completedAt: now)
        var clearing = Clearing(
            id: "CL1", institutionCode: "H1", insuranceType: .employee, period: StatementPeriod.month(of: CivilDate("2026-03-01")!),
            state: .applied, startedBy: "institution", itemCount: 2, total: Money(fen: 20_000), claimed: Money(fen: 9000), createdAt: now,
            updatedAt: now)
        func deduction(_ fen: Int64, on settlement: String? = "S1") -> ClearingDeduction {
            ClearingDeduction(id: "D", settlementId: settlement, amount: Money(fen: fen), reason: "r", by: "operator:x", at: now)
        }
        try clearing.checkDeduction(deduction(7000), item: item)
        #expect(throws: Refusal.self) { try clearing.checkDeduction(deduction(7001), item: item) }
        #expect(throws: Refusal.self) { try clearing.checkDeduction(deduction(0), item: item) }
        #expect(throws: Refusal.self) { try clearing.checkDeduction(deduction(1), item: nil) }
        clearing.deductions = [deduction(6000)]
        #expect(throws: Refusal.self) { try clearing.checkDeduction(deduction(1001), item: item) }
        #expect(throws: Refusal.self) { try clearing.checkDeduction(deduction(3001, on: nil), item: nil) }
        try clearing.checkDeduction(deduction(3000, on: nil), item: nil)
        // The approval's movements balance and return each deduction to the fund it came from.
        clearing.deductions.append(deduction(500, on: nil))
        let entries = clearing.approvalMovements(items: ["S1": item], institutionRegion: RegionCode("620100")!)
        #expect(entries.count == 1)
        let movements = entries.flatMap { $0 }
        #expect(Money.sum(movements.map(\.amount)) == .zero)
        #expect(movements.contains(Posting(.fund(RegionCode("440100")!, .employee, .employeePooled), Money(fen: 6000))))
        #expect(movements.contains(Posting(.fund(RegionCode("620100")!, .employee, .employeePooled), Money(fen: 500))))
        #expect(clearing.payable == Money(fen: 2500))
        #expect(clearing.runMovements == [Posting(.institutionClearing("H1"), Money(fen: -2500)), Posting(.payouts("H1"), Money(fen: 2500))])
        // Deductions on settlements of forty home regions: several entries, none above the postings limit, each balanced.
        var many = clearing
        var items: [String: ClearingItem] = [:]
        many.deductions = (0..<40).map { index in
            let id = "S\(index)"
            items[id] = ClearingItem(
                settlementId: id, kind: .settlement, region: RegionCode(String(440_100 + index))!, total: Money(fen: 100), owed: Money(fen: 100),
                completedAt: now)
            return deduction(1, on: id)
        }
        let split = many.approvalMovements(items: items, institutionRegion: RegionCode("620100")!)
        #expect(split.count == 3)
        #expect(split.allSatisfy { $0.count <= JournalEntry.postingsMax && Money.sum($0.map(\.amount)) == .zero })
        #expect(Money.sum(split.flatMap { $0 }.filter { $0.account.kind == .fund }.map(\.amount)) == Money(fen: 40))
        clearing.state = .approved
        #expect(throws: Refusal.self) { try clearing.checkDeduction(deduction(1, on: nil), item: nil) }
        #expect(throws: Refusal.self) { try clearing.checkApproval() }
    }
}
