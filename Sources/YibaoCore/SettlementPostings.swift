/// Who takes part in a settlement's money: the patient and their home funds, the institution, the
/// relative whose account pays mutual aid, and the route of the cash part.
public struct SettlementParties: Sendable {
    /// The patient (人员编号).
    public var personNumber: String
    /// The patient's home region (参保地): its funds pay.
    public var region: RegionCode
    /// The patient's insurance type.
    public var insuranceType: InsuranceType
    /// The treating institution.
    public var institutionCode: String
    /// The relative whose personal account pays the mutual-aid part, if any.
    public var mutualAidPayer: String?
    /// How the cash part is collected.
    public var cashRoute: CashRoute
    /// The payment channel's name, for a cash part collected through it.
    public var channel: String?
    /// The medical credit line that paid the cash part (`cashRoute == .creditLine`).
    public var creditLine: (id: String, partner: String)?
    /// The insurer of the commercial plan that paid part, if one did.
    public var insurerCode: String?

    /// Creates the parties.
    public init(
        personNumber: String, region: RegionCode, insuranceType: InsuranceType, institutionCode: String, mutualAidPayer: String?,
        cashRoute: CashRoute, channel: String?, creditLine: (id: String, partner: String)? = nil, insurerCode: String? = nil
    ) {
        self.personNumber = personNumber
        self.region = region
        self.insuranceType = insuranceType
        self.institutionCode = institutionCode
        self.mutualAidPayer = mutualAidPayer
        self.cashRoute = cashRoute
        self.channel = channel
        self.creditLine = creditLine
        self.insurerCode = insurerCode
    }

    /// The parties of a settlement record (a settlement, or a refund or reversal of one).
    public init(_ record: SettlementRecord, channel: String?, creditLine: (id: String, partner: String)?) {
        self.init(
            personNumber: record.personNumber, region: record.insuranceRegion, insuranceType: record.insuranceType,
            institutionCode: record.institution.code, mutualAidPayer: record.mutualAidPayer, cashRoute: CashRoute(record), channel: channel,
            creditLine: creditLine, insurerCode: record.plan?.insurerCode)
    }
}

/// Turns what each payer pays into ledger movements — one function for settlements (the amounts paid),
/// reversals and refunds (the amounts returned, negated). The home region's funds pay the fund part (a
/// commercial plan's insurer its `oth_pay` part); the
/// patient's account (and a relative's, for mutual aid) pays the account part; both become owed to the
/// institution until clearing. A cash part collected through a payment channel moves from the channel to
/// what the channel owes the institution; cash taken at the counter does not pass through Yibao and is
/// not posted. A cash part a medical credit line paid also becomes owed by the patient to the partner
/// bank (`credit_line:<id>` against `credit_partner:<partner>`).
public enum SettlementPostings {
    /// The movements of `amounts` paid (positive) or returned (negative) between the parties.
    public static func movements(_ amounts: PayerAmounts, _ parties: SettlementParties) -> [Posting] {
        var movements = [
            Posting(.fund(parties.region, parties.insuranceType, parties.insuranceType.pooledFundType), -amounts.pooledFund),
            Posting(.fund(parties.region, parties.insuranceType, parties.insuranceType.aboveCapFundType), -amounts.aboveCapFund),
            Posting(.personal(parties.personNumber), -amounts.ownAccount),
            Posting(.institutionClearing(parties.institutionCode), amounts.fund + amounts.ownAccount + amounts.mutualAid),
        ]
        if amounts.plan != .zero {
            precondition(parties.insurerCode != nil, "a plan's part needs its insurer")
            if let insurer = parties.insurerCode { movements.append(Posting(.insurer(insurer), -amounts.plan)) }
        }
        if amounts.mutualAid != .zero {
            precondition(parties.mutualAidPayer != nil, "mutual aid needs a payer")
            if let binder = parties.mutualAidPayer { movements.append(Posting(.personal(binder), -amounts.mutualAid)) }
        }
        if parties.cashRoute != .counter, amounts.cash != .zero, let channel = parties.channel {
            movements.append(Posting(.channel(channel), -amounts.cash))
            movements.append(Posting(.institutionChannel(parties.institutionCode), amounts.cash))
            if parties.cashRoute == .creditLine, let line = parties.creditLine {
                movements.append(Posting(.creditLine(line.id), amounts.cash))
                movements.append(Posting(.creditPartner(line.partner), -amounts.cash))
            }
        }
        return movements
    }
}
