/// The settlement breakdown with the national buckets (`setlinfo`, reference §3). JSON keys are the
/// national field names; amounts are integer fen. The identities of reference §3.3 hold for every
/// breakdown Yibao produces, checked by `checkIdentities()`.
public struct SettlementBreakdown: Sendable, Hashable, Codable {
    /// 医疗费总额 `medfee_sumamt`.
    public var totalAmount: Money
    /// 全自费金额 `fulamt_ownpay_amt`.
    public var fullSelfPay: Money
    /// 超限价自费费用 `overlmt_selfpay`.
    public var overLimitSelfPay: Money
    /// 先行自付金额 `preselfpay_amt`.
    public var firstSelfPay: Money
    /// 符合政策范围金额 `inscp_scp_amt`.
    public var inScope: Money
    /// 实际支付起付线 `act_pay_dedc`.
    public var deductiblePaid: Money
    /// 基本医疗保险统筹基金支出 `hifp_pay`.
    public var pooledFund: Money
    /// 职工大额医疗费用补助基金支出 `hifob_pay` (employees above the basic cap).
    public var largeAmountFund: Money
    /// 居民大病保险资金支出 `hifmi_pay` (residents above the basic cap).
    public var catastrophicFund: Money
    /// 公务员医疗补助资金支出 `cvlserv_pay` (not paid by Yibao's policies yet; always 0).
    public var civilServantFund: Money
    /// 医疗救助基金支出 `maf_pay` (always 0 for now).
    public var medicalAssistanceFund: Money
    /// 其他支出 `oth_pay` (always 0 for now).
    public var otherFund: Money
    /// 基金支付总额 `fund_pay_sumamt`.
    public var fundTotal: Money
    /// 个人负担总金额 `psn_part_amt`.
    public var personTotal: Money
    /// 个人账户支出 `acct_pay`, including `acct_mulaid_pay`.
    public var accountPaid: Money
    /// 个人账户共济支付金额 `acct_mulaid_pay`: the part of `acct_pay` drawn from a family member's account.
    public var mutualAidPaid: Money
    /// 个人现金支出 `psn_cash_pay`.
    public var cashPaid: Money
    /// 医院负担金额 `hosp_part_amt`.
    public var hospitalBorne: Money
    /// 余额 `balc`: the patient's own personal-account balance after the settlement.
    public var accountBalanceAfter: Money
    /// 基本医疗保险统筹基金支付比例 `pool_prop_selfpay`: the ratio applied, in basis points.
    public var fundRatio: Ratio

    enum CodingKeys: String, CodingKey {
        case totalAmount = "medfeeSumamt"
        case fullSelfPay = "fulamtOwnpayAmt"
        case overLimitSelfPay = "overlmtSelfpay"
        case firstSelfPay = "preselfpayAmt"
        case inScope = "inscpScpAmt"
        case deductiblePaid = "actPayDedc"
        case pooledFund = "hifpPay"
        case largeAmountFund = "hifobPay"
        case catastrophicFund = "hifmiPay"
        case civilServantFund = "cvlservPay"
        case medicalAssistanceFund = "mafPay"
        case otherFund = "othPay"
        case fundTotal = "fundPaySumamt"
        case personTotal = "psnPartAmt"
        case accountPaid = "acctPay"
        case mutualAidPaid = "acctMulaidPay"
        case cashPaid = "psnCashPay"
        case hospitalBorne = "hospPartAmt"
        case accountBalanceAfter = "balc"
        case fundRatio = "poolPropSelfpay"
    }

    /// A breakdown with every amount zero.
    public static let zero = SettlementBreakdown(
        totalAmount: .zero, fullSelfPay: .zero, overLimitSelfPay: .zero, firstSelfPay: .zero, inScope: .zero,
        deductiblePaid: .zero, pooledFund: .zero, largeAmountFund: .zero, catastrophicFund: .zero, civilServantFund: .zero,
        medicalAssistanceFund: .zero, otherFund: .zero, fundTotal: .zero, personTotal: .zero, accountPaid: .zero,
        mutualAidPaid: .zero, cashPaid: .zero, hospitalBorne: .zero, accountBalanceAfter: .zero, fundRatio: .zero
    )

    /// The identity that fails, or nil when all hold (reference §3.3):
    /// I1 total = full self-pay + over-limit + first self-pay + in-scope;
    /// I2 total = fund + person + hospital; I3 person = account + cash;
    /// I4 fund = the sum of the funds; I5 mutual aid ≤ account.
    public func brokenIdentity() -> String? {
        if totalAmount != fullSelfPay + overLimitSelfPay + firstSelfPay + inScope {
            return "I1 medfee_sumamt = fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt + inscp_scp_amt"
        }
        if totalAmount != fundTotal + personTotal + hospitalBorne {
            return "I2 medfee_sumamt = fund_pay_sumamt + psn_part_amt + hosp_part_amt"
        }
        if personTotal != accountPaid + cashPaid { return "I3 psn_part_amt = acct_pay + psn_cash_pay" }
        if fundTotal != pooledFund + largeAmountFund + catastrophicFund + civilServantFund + medicalAssistanceFund + otherFund {
            return "I4 fund_pay_sumamt = sum of the fund payments"
        }
        if mutualAidPaid.magnitudeFen > accountPaid.magnitudeFen { return "I5 acct_mulaid_pay <= acct_pay" }
        return nil
    }

    /// Traps unless every identity holds. Called on every breakdown the engine produces and on
    /// every negation, in production too.
    public func checkIdentities() {
        if let broken = brokenIdentity() { preconditionFailure("settlement identity broken: \(broken)") }
    }

    /// The funds of the basic insurance (`fund_pay_sumamt` without a commercial plan's `oth_pay`): what
    /// the in-scope amount bounds.
    public var basicFundTotal: Money { fundTotal - otherFund }

    /// True when no bucket is negative (a settlement; reversals are the exact negation).
    public var hasNoNegativeBucket: Bool {
        [
            totalAmount, fullSelfPay, overLimitSelfPay, firstSelfPay, inScope, deductiblePaid, pooledFund, largeAmountFund,
            catastrophicFund, otherFund, fundTotal, personTotal, accountPaid, mutualAidPaid, cashPaid, hospitalBorne,
        ].allSatisfy { !$0.isNegative }
    }

    /// The exact negation (reference I8), with the balance after the reversal.
    public func negated(balanceAfter: Money) -> SettlementBreakdown {
        let negative = SettlementBreakdown(
            totalAmount: -totalAmount, fullSelfPay: -fullSelfPay, overLimitSelfPay: -overLimitSelfPay,
            firstSelfPay: -firstSelfPay, inScope: -inScope, deductiblePaid: -deductiblePaid, pooledFund: -pooledFund,
            largeAmountFund: -largeAmountFund, catastrophicFund: -catastrophicFund, civilServantFund: -civilServantFund,
            medicalAssistanceFund: -medicalAssistanceFund, otherFund: -otherFund, fundTotal: -fundTotal,
            personTotal: -personTotal, accountPaid: -accountPaid, mutualAidPaid: -mutualAidPaid, cashPaid: -cashPaid,
            hospitalBorne: -hospitalBorne, accountBalanceAfter: balanceAfter, fundRatio: fundRatio
        )
        negative.checkIdentities()
        return negative
    }
}

extension Money {
    var magnitudeFen: UInt64 { fen.magnitude }
}

/// One row of `setldetail` (基金分项): a fund's part of the settlement.
public struct FundDetail: Sendable, Hashable, Codable {
    /// 基金支付类型 `fund_pay_type`.
    public var fundType: FundPayType
    /// 基金支付类型名称 `fund_pay_type_name`.
    public var fundTypeName: String
    /// 符合政策范围金额 `inscp_scp_amt` this fund considered.
    public var inScope: Money
    /// 本次可支付限额金额 `crt_payb_lmt_amt`: the fund's remaining annual limit before this payment.
    public var remainingLimit: Money?
    /// 基金支付金额 `fund_payamt`.
    public var amount: Money
    /// 结算过程信息 `setl_proc_info`: how this fund's amount was computed.
    public var trace: String

    enum CodingKeys: String, CodingKey {
        case fundType = "fundPayType"
        case fundTypeName = "fundPayTypeName"
        case inScope = "inscpScpAmt"
        case remainingLimit = "crtPaybLmtAmt"
        case amount = "fundPayamt"
        case trace = "setlProcInfo"
    }

    /// Creates a detail row.
    public init(fundType: FundPayType, inScope: Money, remainingLimit: Money?, amount: Money, trace: String) {
        self.fundType = fundType
        self.fundTypeName = fundType.chineseName
        self.inScope = inScope
        self.remainingLimit = remainingLimit
        self.amount = amount
        self.trace = trace
    }

    /// The row negated, for a reversal.
    public func negated() -> FundDetail {
        FundDetail(fundType: fundType, inScope: -inScope, remainingLimit: remainingLimit, amount: -amount, trace: "冲销 reversal of: " + trace)
    }
}
