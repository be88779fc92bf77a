import YibaoCore
import YibaoStore

extension Platform {
    /// The fund report of a period: settlements and what each payer paid by region × insurance type ×
    /// pool, by institution and by hospital level; premiums received; what is owed to institutions and
    /// what clearing paid them; anchored to the audit chain's heads and, with `verifyLedger`, to the
    /// ledger's verification.
    /// A month's report reads the month's settlements, so it waits for the database as long as that takes
    /// (`DatabaseWait`).
    public func fundReport(period: StatementPeriod, verifyLedger: Bool) async throws -> FundReport {
        await flushProjections()
        return try await DatabaseWait.unbounded {
            try await fundReport(period: period, verification: verifyLedger ? try await self.verifyLedger() : nil)
        }
    }

    /// The fund report of a period anchored to a verification already made.
    func fundReport(period: StatementPeriod, verification: LedgerReport?) async throws -> FundReport {
        let institutions = try await self.institutions()
        let levels = Dictionary(institutions.map { ($0.code, $0.level) }, uniquingKeysWith: { first, _ in first })
        return try await read { db, now in
            FundReport(
                period: period, generatedAt: now, groups: try FundReportRepository.groups(period: period, in: db), levels: levels,
                premiums: try FundReportRepository.posted(to: .fund, by: .premium, period: period, in: db)
                    + FundReportRepository.posted(to: .insurer, by: .premium, period: period, in: db).map {
                        OwnerAmount(owner: "insurer:" + $0.owner, amount: $0.amount)
                    },
                owedToInstitutions: try FundReportRepository.balances(of: .institutionClearing, in: db),
                paidToInstitutions: try FundReportRepository.posted(to: .payouts, by: .clearing, period: period, in: db),
                anchor: ReportAnchor(
                    auditHeads: try FundReportRepository.auditHeads(in: db), ledgerVerified: verification?.passed,
                    ledgerProblems: verification?.problems.count))
        }
    }
}
