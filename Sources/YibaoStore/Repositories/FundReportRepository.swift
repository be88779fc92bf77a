import YibaoCore

/// The fund report's reads: completed settlements, refunds and reversals of a period grouped by home
/// region, insurance type, pool and institution, with what the ledger moved for them; premiums and
/// clearing payouts of the period; what is owed to institutions now.
package enum FundReportRepository {
    /// The finest groups of the period. Fund buckets, own account and mutual aid come from the postings
    /// of each record's journal entry; counts, medical fees and cash from the records.
    package static func groups(period: StatementPeriod, in db: any SQLExecutor) throws -> [FundReportLine] {
        let pooled = FundPayType.allCases.filter { [.employeePooled, .residentPooled].contains($0) }.map(\.rawValue)
        let ledger = try db.query(
            """
            SELECT s.region, s.insurance_type, s.pool, s.institution_code,
            CAST(COALESCE(SUM(CASE WHEN p.account_id LIKE 'fund:%' AND (p.account_id LIKE ? OR p.account_id LIKE ?) THEN -p.amount ELSE 0 END), 0)
              AS BIGINT) AS pooled,
            CAST(COALESCE(SUM(CASE WHEN p.account_id LIKE 'fund:%' AND NOT (p.account_id LIKE ? OR p.account_id LIKE ?) THEN -p.amount ELSE 0 END), 0)
              AS BIGINT) AS above_cap,
            CAST(COALESCE(SUM(CASE WHEN p.account_id = 'personal:' || s.person_number THEN -p.amount ELSE 0 END), 0) AS BIGINT) AS own_account,
            CAST(COALESCE(SUM(CASE WHEN p.account_id LIKE 'personal:%' AND p.account_id <> 'personal:' || s.person_number THEN -p.amount ELSE 0 END), 0)
              AS BIGINT) AS mutual_aid,
            CAST(COALESCE(SUM(CASE WHEN p.account_id LIKE 'insurer:%' THEN -p.amount ELSE 0 END), 0) AS BIGINT) AS plan
            FROM settlements s JOIN journal_entries e ON e.reference = s.id JOIN postings p ON p.entry_id = e.id
            WHERE s.state = 'completed' AND s.completed_at >= ? AND s.completed_at < ?
            GROUP BY s.region, s.insurance_type, s.pool, s.institution_code
            """,
            [
                .text("%-\(pooled[0])#%"), .text("%-\(pooled[1])#%"), .text("%-\(pooled[0])#%"), .text("%-\(pooled[1])#%"), .instant(period.start),
                .instant(period.end),
            ])
        let records = try db.query(
            """
            SELECT region, insurance_type, pool, institution_code,
            SUM(CASE WHEN kind = 'settlement' THEN 1 ELSE 0 END) AS settlements, SUM(CASE WHEN kind = 'settlement' THEN 0 ELSE 1 END) AS returns,
            CAST(SUM(total) AS BIGINT) AS total, CAST(SUM(cash_paid) AS BIGINT) AS cash
            FROM settlements WHERE state = 'completed' AND completed_at >= ? AND completed_at < ?
            GROUP BY region, insurance_type, pool, institution_code
            """, [.instant(period.start), .instant(period.end)])
        struct Key: Hashable {
            let region: String, insurance: String, pool: String, institution: String
        }
        func key(_ row: SQLRow) throws -> Key {
            Key(
                region: try row.string("region"), insurance: try row.string("insurance_type"), pool: try row.string("pool"),
                institution: try row.string("institution_code"))
        }
        var moved: [Key: SQLRow] = [:]
        for row in ledger { moved[try key(row)] = row }
        return try records.map { row in
            let group = try key(row)
            let posted = moved[group]
            guard let region = RegionCode(group.region) else { throw StoreError.decoding("settlement region") }
            return FundReportLine(
                region: region, insuranceType: try row.enumeration("insurance_type"), pool: try row.enumeration("pool"),
                institutionCode: group.institution,
                figures: FundFigures(
                    settlements: Int(try row.int64("settlements")), refundsAndReversals: Int(try row.int64("returns")), total: try row.money("total"),
                    pooledFund: try posted?.money("pooled") ?? .zero, aboveCapFund: try posted?.money("above_cap") ?? .zero,
                    ownAccount: try posted?.money("own_account") ?? .zero, mutualAid: try posted?.money("mutual_aid") ?? .zero,
                    cash: try row.money("cash"), plan: try posted?.money("plan") ?? .zero))
        }
        .sorted {
            ($0.region?.value ?? "", $0.insuranceType?.rawValue ?? "", $0.pool?.rawValue ?? "", $0.institutionCode ?? "") < (
                $1.region?.value ?? "", $1.insuranceType?.rawValue ?? "", $1.pool?.rawValue ?? "", $1.institutionCode ?? ""
            )
        }
    }

    /// The sums posted in the period to accounts of a kind by entries of a kind, per account owner.
    package static func posted(to kind: AccountKind, by entry: EntryKind, period: StatementPeriod, in db: any SQLExecutor) throws -> [OwnerAmount] {
        try db.query(
            """
            SELECT a.owner, CAST(SUM(p.amount) AS BIGINT) AS amount FROM journal_entries e JOIN postings p ON p.entry_id = e.id
            JOIN accounts a ON a.id = p.account_id
            WHERE e.kind = ? AND e.created_at >= ? AND e.created_at < ? AND a.kind = ? GROUP BY a.owner ORDER BY a.owner
            """, [.text(entry.rawValue), .instant(period.start), .instant(period.end), .text(kind.rawValue)]
        ).map { OwnerAmount(owner: try $0.string("owner"), amount: try $0.money("amount")) }
    }

    /// The current balances of every account of a kind (slots summed), per owner, leaving out zeros.
    package static func balances(of kind: AccountKind, in db: any SQLExecutor) throws -> [OwnerAmount] {
        try db.query(
            "SELECT owner, CAST(SUM(balance) AS BIGINT) AS amount FROM accounts WHERE kind = ? GROUP BY owner HAVING SUM(balance) <> 0 ORDER BY owner",
            [.text(kind.rawValue)]
        ).map { OwnerAmount(owner: try $0.string("owner"), amount: try $0.money("amount")) }
    }

    /// The audit lanes' heads, `lane:seq:hash`.
    package static func auditHeads(in db: any SQLExecutor) throws -> [String] {
        try db.query("SELECT lane, seq, hash FROM audit_heads ORDER BY lane", []).map {
            "\(try $0.int64("lane")):\(try $0.int64("seq")):\(try $0.string("hash"))"
        }
    }
}
