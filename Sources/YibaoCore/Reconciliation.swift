/// 清算类别 `clr_type`: how a settlement is cleared — outpatient, inpatient, pharmacy or other.
public enum ClearingType: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// 门诊 outpatient (ordinary, emergency, chronic and special diseases, maternity outpatient, online).
    case outpatient = "11"
    /// 住院 inpatient (ordinary and maternity).
    case inpatient = "21"
    /// 定点药店 purchases at a designated pharmacy.
    case pharmacy = "41"
    /// 其他 everything else (work injury).
    case other = "99"

    /// The clearing type of a medical category.
    public init(_ category: MedicalCategory) {
        switch category {
        case .ordinaryOutpatient, .emergency, .chronicSpecialOutpatient, .maternityOutpatient, .online: self = .outpatient
        case .ordinaryInpatient, .maternityInpatient: self = .inpatient
        case .pharmacy: self = .pharmacy
        case .workInjury: self = .other
        }
    }

    public static func < (lhs: ClearingType, rhs: ClearingType) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A period of whole China Standard Time days, `from` through `through` (对账起止日期
/// `stmt_begndate` / `stmt_enddate`). A settlement, refund or reversal belongs to the day it completed.
public struct StatementPeriod: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The first day.
    public let from: CivilDate
    /// The last day (inclusive).
    public let through: CivilDate

    /// The longest period one request may cover (a quarter).
    public static let daysMax: Int64 = 92

    /// A period, refused when it is reversed or longer than `daysMax`.
    public init(from: CivilDate, through: CivilDate) throws(Refusal) {
        guard from <= through else { throw Refusal.invalid("stmt_enddate", "the period ends before it begins") }
        guard through.daysSinceEpoch - from.daysSinceEpoch < StatementPeriod.daysMax else {
            throw Refusal.invalid("stmt_enddate", "a period covers at most \(StatementPeriod.daysMax) days")
        }
        self.from = from
        self.through = through
    }

    /// The calendar month containing `date`.
    public static func month(of date: CivilDate) -> StatementPeriod {
        let first = date.adding(days: Int64(1 - date.day))
        return StatementPeriod(checkedFrom: first, through: first.firstOfNextMonth.adding(days: -1))
    }

    /// One day.
    public static func day(_ day: CivilDate) -> StatementPeriod { StatementPeriod(checkedFrom: day, through: day) }

    /// A period known to be valid (a month, a day).
    private init(checkedFrom from: CivilDate, through: CivilDate) {
        self.from = from
        self.through = through
    }

    /// The first instant of the period.
    public var start: Instant { from.startInChina }
    /// The first instant after the period.
    public var end: Instant { through.adding(days: 1).startInChina }

    public var description: String { "\(from)..\(through)" }
}

/// One completed settlement, refund or reversal as a reconciliation sees it — Yibao's row, or the
/// institution's row of its detail file (national 3202 detail: `setl_id`, `mdtrt_id`, `psn_no`,
/// `medfee_sumamt`, `fund_pay_sumamt`, `acct_pay`, `refd_setl_flag`). Refunds and reversals carry
/// negative amounts.
public struct StatementRow: Sendable, Hashable, Codable {
    /// 结算ID `setl_id`.
    public var settlementId: String
    /// 就诊ID `mdtrt_id`.
    public var visitId: String
    /// 人员编号 `psn_no`.
    public var personNumber: String
    /// 险种类型 `insutype`.
    public var insuranceType: InsuranceType
    /// 清算类别 `clr_type`.
    public var clearingType: ClearingType
    /// 医疗费总额 `medfee_sumamt`.
    public var total: Money
    /// 基金支付总额 `fund_pay_sumamt`.
    public var fund: Money
    /// 个人账户支出 `acct_pay` (mutual aid included).
    public var account: Money
    /// 现金支付 `cash_payamt`.
    public var cash: Money
    /// 退费结算标志 `refd_setl_flag`: a refund or a reversal.
    public var refund: Bool

    /// Creates a row.
    public init(
        settlementId: String, visitId: String, personNumber: String, insuranceType: InsuranceType, clearingType: ClearingType,
        total: Money, fund: Money, account: Money, cash: Money, refund: Bool
    ) {
        self.settlementId = settlementId
        self.visitId = visitId
        self.personNumber = personNumber
        self.insuranceType = insuranceType
        self.clearingType = clearingType
        self.total = total
        self.fund = fund
        self.account = account
        self.cash = cash
        self.refund = refund
    }

    /// What the bureau owes the institution for this row: the fund and the personal accounts' part.
    public var owed: Money { fund + account }
}

/// Count and sums of statement rows (对总账 figures: `fixmedins_setl_cnt`, `medfee_sumamt`,
/// `fund_pay_sumamt`, `acct_pay`, `cash_payamt`).
public struct StatementTotals: Sendable, Hashable, Codable {
    /// 结算笔数 `fixmedins_setl_cnt`.
    public var count: Int
    /// `medfee_sumamt`.
    public var total: Money
    /// `fund_pay_sumamt`.
    public var fund: Money
    /// `acct_pay`.
    public var account: Money
    /// `cash_payamt`.
    public var cash: Money

    /// Creates totals.
    public init(count: Int, total: Money, fund: Money, account: Money, cash: Money) {
        self.count = count
        self.total = total
        self.fund = fund
        self.account = account
        self.cash = cash
    }

    /// Nothing.
    public static let zero = StatementTotals(count: 0, total: .zero, fund: .zero, account: .zero, cash: .zero)

    /// These totals with a row added.
    public func adding(_ row: StatementRow) -> StatementTotals {
        StatementTotals(count: count + 1, total: total + row.total, fund: fund + row.fund, account: account + row.account, cash: cash + row.cash)
    }

    /// The difference `self − other`, field by field.
    public func subtracting(_ other: StatementTotals) -> StatementTotals {
        StatementTotals(
            count: count - other.count, total: total - other.total, fund: fund - other.fund, account: account - other.account,
            cash: cash - other.cash)
    }

    /// Whether the totals are checked amounts that must not be absurd.
    func check(_ field: String) throws(Refusal) {
        guard count >= 0, count <= 10_000_000 else { throw Refusal.invalid(field, "a count is between 0 and 10,000,000") }
        for amount in [total, fund, account, cash] where amount.fen.magnitude > UInt64(Money.requestAmountMax.fen) * 100 {
            throw Refusal.invalid(field, "an amount is at most 1,000,000,000 yuan either way")
        }
    }
}

/// What totals are grouped by: insurance type × clearing type (3201 `insutype`, `clr_type`).
public struct StatementKey: Sendable, Hashable, Codable, Comparable {
    /// `insutype`.
    public var insuranceType: InsuranceType
    /// `clr_type`.
    public var clearingType: ClearingType

    /// Creates a key.
    public init(insuranceType: InsuranceType, clearingType: ClearingType) {
        self.insuranceType = insuranceType
        self.clearingType = clearingType
    }

    public static func < (lhs: StatementKey, rhs: StatementKey) -> Bool {
        (lhs.insuranceType.rawValue, lhs.clearingType) < (rhs.insuranceType.rawValue, rhs.clearingType)
    }
}

/// One line of a totals reconciliation: what the institution counted, what Yibao counted, and the
/// difference (Yibao − institution).
public struct TotalsLine: Sendable, Hashable, Codable {
    /// `insutype`.
    public var insuranceType: InsuranceType
    /// `clr_type`.
    public var clearingType: ClearingType
    /// The institution's figures.
    public var institution: StatementTotals
    /// Yibao's figures.
    public var yibao: StatementTotals
    /// Yibao − institution.
    public var difference: StatementTotals
    /// True when every figure agrees.
    public var balanced: Bool
}

/// The answer to a totals reconciliation (national 3201): `stmt_rslt` 0 balanced, 1 not.
public struct TotalsResult: Sendable, Hashable, Codable {
    /// The period.
    public var period: StatementPeriod
    /// Whether refunds and reversals were counted (`refd_setl_flag`).
    public var includeRefunds: Bool
    /// 对账结果 `stmt_rslt`: `0` balanced, `1` not balanced.
    public var statementResult: String
    /// 对账结果说明 `stmt_rslt_dscr`.
    public var statementResultDescription: String
    /// One line per insurance type × clearing type either side has.
    public var lines: [TotalsLine]
    /// True when every line balances.
    public var balanced: Bool { statementResult == "0" }
}

/// How one settlement compares in a detail reconciliation (national 3202's result file).
public enum DetailOutcome: String, Sendable, Hashable, Codable, CaseIterable {
    /// Both sides have it with the same amounts.
    case match
    /// Both sides have it; at least one amount or the refund flag differs.
    case amountsDiffer = "amounts_differ"
    /// Yibao completed it and the institution does not know it (the hospital lost the answer).
    case onlyInYibao = "only_in_yibao"
    /// The institution has it and Yibao never completed it in the period.
    case onlyAtInstitution = "only_at_institution"
}

/// One row of an institution's detail file (national 3202 detail).
public struct DetailRow: Sendable, Hashable, Codable {
    /// `setl_id`.
    public var settlementId: String
    /// `mdtrt_id`.
    public var visitId: String
    /// `psn_no`.
    public var personNumber: String
    /// `medfee_sumamt`.
    public var total: Money
    /// `fund_pay_sumamt`.
    public var fund: Money
    /// `acct_pay`.
    public var account: Money
    /// `refd_setl_flag`.
    public var refund: Bool

    /// Creates a row.
    public init(settlementId: String, visitId: String, personNumber: String, total: Money, fund: Money, account: Money, refund: Bool) {
        self.settlementId = settlementId
        self.visitId = visitId
        self.personNumber = personNumber
        self.total = total
        self.fund = fund
        self.account = account
        self.refund = refund
    }
}

/// One row of a detail result.
public struct DetailResult: Sendable, Hashable, Codable {
    /// `setl_id`.
    public var settlementId: String
    /// The outcome.
    public var outcome: DetailOutcome
    /// Yibao's row, when Yibao has it.
    public var yibao: StatementRow?
    /// The institution's row, when it has it.
    public var institution: DetailRow?
    /// The fields that differ (`medfee_sumamt`, `fund_pay_sumamt`, `acct_pay`, `refd_setl_flag`, `mdtrt_id`, `psn_no`).
    public var differing: [String]
}

/// A reconciliation an institution ran, kept so the bureau sees which days each institution agreed.
public struct ReconciliationRecord: Sendable, Hashable, Codable {
    /// The record's id.
    public var id: String
    /// The institution.
    public var institutionCode: String
    /// `totals` (3201) or `details` (3202).
    public var kind: String
    /// The period.
    public var period: StatementPeriod
    /// Whether it balanced.
    public var balanced: Bool
    /// A one-line summary.
    public var summary: String
    /// When.
    public var createdAt: Instant

    /// Creates a record.
    public init(id: String, institutionCode: String, kind: String, period: StatementPeriod, balanced: Bool, summary: String, createdAt: Instant) {
        self.id = id
        self.institutionCode = institutionCode
        self.kind = kind
        self.period = period
        self.balanced = balanced
        self.summary = summary
        self.createdAt = createdAt
    }
}

/// Reconciliation with an institution (对账), in pure code: totals by insurance type × clearing type,
/// and details row by row. The store supplies Yibao's rows; nothing here reads or writes.
public enum Reconciliation {
    /// Yibao's totals of `rows`, grouped; refunds and reversals count only when `includeRefunds`.
    public static func totals(_ rows: [StatementRow], includeRefunds: Bool) -> [StatementKey: StatementTotals] {
        var totals: [StatementKey: StatementTotals] = [:]
        for row in rows where includeRefunds || !row.refund {
            totals[StatementKey(insuranceType: row.insuranceType, clearingType: row.clearingType), default: .zero] =
                totals[StatementKey(insuranceType: row.insuranceType, clearingType: row.clearingType), default: .zero].adding(row)
        }
        return totals
    }

    /// Compares the institution's totals with Yibao's. A key only one side has is a line with zeros on
    /// the other side; keys are refused if sent twice.
    public static func compare(
        institution claimed: [(StatementKey, StatementTotals)], yibao: [StatementKey: StatementTotals], period: StatementPeriod,
        includeRefunds: Bool
    ) throws(Refusal) -> TotalsResult {
        var theirs: [StatementKey: StatementTotals] = [:]
        for (index, (key, totals)) in claimed.enumerated() {
            try totals.check("lines[\(index)]")
            guard theirs[key] == nil else {
                throw Refusal.invalid(
                    "lines[\(index)]", "insurance type \(key.insuranceType.rawValue) and clearing type \(key.clearingType.rawValue) are sent twice")
            }
            theirs[key] = totals
        }
        let keys = Set(theirs.keys).union(yibao.keys).sorted()
        let lines = keys.map { key in
            let institution = theirs[key] ?? .zero
            let ours = yibao[key] ?? .zero
            return TotalsLine(
                insuranceType: key.insuranceType, clearingType: key.clearingType, institution: institution, yibao: ours,
                difference: ours.subtracting(institution), balanced: ours == institution)
        }
        let unbalanced = lines.filter { !$0.balanced }
        let description =
            unbalanced.isEmpty
            ? "平账：\(lines.count) 个险种×清算类别一致"
            : "不平：" + unbalanced.map { "\($0.insuranceType.rawValue)/\($0.clearingType.rawValue)" }.joined(separator: ", ")
        return TotalsResult(
            period: period, includeRefunds: includeRefunds, statementResult: unbalanced.isEmpty ? "0" : "1",
            statementResultDescription: description, lines: lines)
    }

    /// Compares the institution's detail rows with Yibao's, one result per settlement id either side
    /// has, in the order of the institution's file followed by the rows only Yibao has.
    public static func compare(institution: [DetailRow], yibao: [StatementRow]) -> [DetailResult] {
        let ours = Dictionary(yibao.map { ($0.settlementId, $0) }, uniquingKeysWith: { first, _ in first })
        var seen = Set<String>()
        var results: [DetailResult] = []
        for row in institution {
            seen.insert(row.settlementId)
            guard let mine = ours[row.settlementId] else {
                results.append(DetailResult(settlementId: row.settlementId, outcome: .onlyAtInstitution, yibao: nil, institution: row, differing: []))
                continue
            }
            var differing: [String] = []
            if mine.visitId != row.visitId { differing.append("mdtrt_id") }
            if mine.personNumber != row.personNumber { differing.append("psn_no") }
            if mine.total != row.total { differing.append("medfee_sumamt") }
            if mine.fund != row.fund { differing.append("fund_pay_sumamt") }
            if mine.account != row.account { differing.append("acct_pay") }
            if mine.refund != row.refund { differing.append("refd_setl_flag") }
            results.append(
                DetailResult(
                    settlementId: row.settlementId, outcome: differing.isEmpty ? .match : .amountsDiffer, yibao: mine, institution: row,
                    differing: differing))
        }
        for row in yibao where !seen.contains(row.settlementId) {
            results.append(DetailResult(settlementId: row.settlementId, outcome: .onlyInYibao, yibao: row, institution: nil, differing: []))
        }
        return results
    }

    /// The columns of a detail file, in order (tab-separated, one header line, amounts in yuan with two
    /// decimals as national clients write them).
    public static let detailColumns = ["setl_id", "mdtrt_id", "psn_no", "medfee_sumamt", "fund_pay_sumamt", "acct_pay", "refd_setl_flag"]

    /// The most rows a detail file may carry.
    public static let detailRowsMax = 200_000

    /// Parses an institution's detail file. Every problem is refused with its line number.
    public static func parseDetailFile(_ text: String) throws(Refusal) -> [DetailRow] {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map {
            $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let header = lines.first else { throw Refusal.invalid("file", "the file is empty: send the header line and one row per settlement") }
        guard header.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) == detailColumns else {
            throw Refusal.invalid("file", "line 1: the header is \(detailColumns.joined(separator: " ")) separated by tabs")
        }
        guard lines.count - 1 <= detailRowsMax else { throw Refusal.invalid("file", "a file carries at most \(detailRowsMax) rows") }
        var rows: [DetailRow] = []
        var ids = Set<String>()
        for (offset, line) in lines.dropFirst().enumerated() {
            let number = offset + 2
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == detailColumns.count else {
                throw Refusal.invalid("file", "line \(number): \(fields.count) fields, expected \(detailColumns.count)")
            }
            for (index, field) in fields.prefix(3).enumerated() where field.isEmpty || field.count > 40 {
                throw Refusal.invalid("file", "line \(number): \(detailColumns[index]) is 1 to 40 characters")
            }
            guard ids.insert(fields[0]).inserted else { throw Refusal.invalid("file", "line \(number): setl_id \(fields[0]) appears twice") }
            var amounts: [Money] = []
            for index in 3..<6 {
                guard let amount = parseYuan(fields[index]) else {
                    throw Refusal.invalid("file", "line \(number): \(detailColumns[index]) is an amount in yuan such as 123.45 or -0.23")
                }
                amounts.append(amount)
            }
            guard fields[6] == "0" || fields[6] == "1" else { throw Refusal.invalid("file", "line \(number): refd_setl_flag is 0 or 1") }
            rows.append(
                DetailRow(
                    settlementId: fields[0], visitId: fields[1], personNumber: fields[2], total: amounts[0], fund: amounts[1], account: amounts[2],
                    refund: fields[6] == "1"))
        }
        return rows
    }

    /// The result file: a header and one row per result, tab-separated.
    public static func resultFile(_ results: [DetailResult]) -> String {
        var text =
            "setl_id\tresult\tdiffering\tyibao_medfee_sumamt\this_medfee_sumamt\tyibao_fund_pay_sumamt\this_fund_pay_sumamt\tyibao_acct_pay\this_acct_pay\n"
        for result in results {
            let fields = [
                result.settlementId, result.outcome.rawValue, result.differing.joined(separator: ","),
                result.yibao.map { $0.total.description } ?? "", result.institution.map { $0.total.description } ?? "",
                result.yibao.map { $0.fund.description } ?? "", result.institution.map { $0.fund.description } ?? "",
                result.yibao.map { $0.account.description } ?? "", result.institution.map { $0.account.description } ?? "",
            ]
            text += fields.joined(separator: "\t") + "\n"
        }
        return text
    }

    /// Parses yuan with at most two decimals (`123`, `123.4`, `-0.23`), bounded like request amounts.
    public static func parseYuan(_ text: String) -> Money? {
        var digits = Substring(text)
        let negative = digits.first == "-"
        if negative { digits = digits.dropFirst() }
        let parts = digits.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts[0].count <= 12, parts[0].allSatisfy({ $0.isASCII && $0.isNumber }),
            let whole = Int64(parts[0])
        else { return nil }
        var fen = whole * 100
        if parts.count == 2 {
            let fraction = parts[1]
            guard (1...2).contains(fraction.count), fraction.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int64(fraction) else {
                return nil
            }
            fen += fraction.count == 1 ? value * 10 : value
        }
        guard fen <= Money.requestAmountMax.fen * 100 else { return nil }
        return Money(fen: negative ? -fen : fen)
    }
}
