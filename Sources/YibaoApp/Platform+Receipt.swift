import YibaoCore
import YibaoStore

/// An electronic receipt (电子票据): what was settled, who paid what, and a verification code that
/// anyone can check with the platform later (the code is an HMAC of the receipt's figures under the
/// platform's key, so an altered amount or date fails verification).
public struct Receipt: Sendable, Hashable, Codable {
    /// The settlement (or reversal, refund) id.
    public var settlementId: String
    /// Settlement, reversal or refund.
    public var kind: SettlementKind
    /// The settlement it reverses or refunds.
    public var originalId: String?
    /// The institution.
    public var institution: InstitutionSummary
    /// The patient, masked.
    public var personNameMasked: String
    /// 医疗类别.
    public var category: MedicalCategory
    /// When.
    public var settledAt: Instant
    /// The lines with what each payer paid.
    public var lines: [SettledLine]
    /// 医疗费总额.
    public var totalAmount: Money
    /// 基金支付 (all funds).
    public var fundPaid: Money
    /// 个人账户支付 (including mutual aid).
    public var accountPaid: Money
    /// of which 共济 (a family member's account).
    public var mutualAidPaid: Money
    /// 个人现金支付.
    public var cashPaid: Money
    /// Who collected the cash part.
    public var cashCollection: CashCollection
    /// The card charged, when Yibao collected the cash.
    public var fundingSource: FundingSourceSummary?
    /// The national buckets.
    public var breakdown: SettlementBreakdown
    /// The code to verify this receipt with (`GET /v1/receipts/{id}/verification?code=…`).
    public var verificationCode: String
}

extension Platform {
    /// The receipt of a completed settlement record.
    public func receipt(for record: SettlementRecord) -> Receipt {
        Receipt(
            settlementId: record.id, kind: record.kind, originalId: record.originalId, institution: record.institution,
            personNameMasked: record.personNameMasked, category: record.category, settledAt: record.settledAt, lines: record.lines,
            totalAmount: record.breakdown.totalAmount, fundPaid: record.breakdown.fundTotal, accountPaid: record.breakdown.accountPaid,
            mutualAidPaid: record.breakdown.mutualAidPaid, cashPaid: record.breakdown.cashPaid, cashCollection: record.cashCollection,
            fundingSource: record.fundingSource, breakdown: record.breakdown,
            verificationCode: receiptCode(id: record.id, figures: Platform.figures(record))
        )
    }

    /// The verification code of a receipt's figures: 16 characters of an HMAC under the platform key.
    func receiptCode(id: String, figures: String) -> String { Platform.receiptCode(id: id, figures: figures, cipher: cipher) }

    /// The verification code of a settlement record's receipt.
    static func receiptCode(_ record: SettlementRecord, cipher: PersonalDataCipher) -> String {
        receiptCode(id: record.id, figures: figures(record), cipher: cipher)
    }

    static func receiptCode(id: String, figures: String, cipher: PersonalDataCipher) -> String {
        let mac = cipher.lookup(id + "|" + figures, purpose: "receipt").uppercased()
        return stride(from: 0, to: 16, by: 4).map { offset in
            String(mac[mac.index(mac.startIndex, offsetBy: offset)..<mac.index(mac.startIndex, offsetBy: offset + 4)])
        }.joined(separator: "-")
    }

    /// The figures a settlement receipt's code covers.
    static func figures(_ record: SettlementRecord) -> String {
        let b = record.breakdown
        return "settlement|\(record.kind.rawValue)|\(record.institution.code)|\(record.settledAt.millisecondsSinceEpoch)|"
            + "\(b.totalAmount.fen)|\(b.fundTotal.fen)|\(b.accountPaid.fen)|\(b.cashPaid.fen)"
    }
}
