/// Turns a settlement calculation into ledger movements. The home region's funds pay the fund part;
/// the patient's account (and a family member's, for mutual aid) pays the account part; both become
/// owed to the institution until clearing. A cash part collected through a payment channel moves from
/// the channel to what the channel owes the institution; cash taken at the counter does not pass
/// through Yibao and is not posted. A cash part a medical credit line paid also becomes owed by the
/// patient to the partner bank (`credit_line:<id>` against `credit_partner:<partner>`).
public enum SettlementPostings {
    /// The movements of a settlement.
    public static func movements(
        _ calculation: SettlementCalculation, person: Person, institution: Institution, mutualAidFrom binder: String?,
        cashChannel: String?, creditLine: (id: String, partner: String)? = nil
    ) -> [Posting] {
        movements(
            calculation, personNumber: person.number, region: person.region, insuranceType: person.insuranceType, institutionCode: institution.code,
            mutualAidFrom: binder, cashChannel: cashChannel, creditLine: creditLine)
    }

    /// The movements of a settlement, from the parties' identities alone.
    public static func movements(
        _ calculation: SettlementCalculation, personNumber: String, region: RegionCode, insuranceType: InsuranceType, institutionCode: String,
        mutualAidFrom binder: String?, cashChannel: String?, creditLine: (id: String, partner: String)? = nil
    ) -> [Posting] {
        let breakdown = calculation.breakdown
        precondition(breakdown.mutualAidPaid == .zero || binder != nil, "mutual aid needs a payer")
        var movements = [
            Posting(.fund(region, insuranceType, insuranceType.pooledFundType), -breakdown.pooledFund),
            Posting(.fund(region, insuranceType, insuranceType.aboveCapFundType), -(breakdown.largeAmountFund + breakdown.catastrophicFund)),
            Posting(.personal(personNumber), -calculation.ownAccountPaid),
            Posting(.institutionClearing(institutionCode), breakdown.fundTotal + breakdown.accountPaid),
        ]
        if let binder { movements.append(Posting(.personal(binder), -breakdown.mutualAidPaid)) }
        if let cashChannel {
            movements.append(Posting(.channel(cashChannel), -breakdown.cashPaid))
            movements.append(Posting(.institutionChannel(institutionCode), breakdown.cashPaid))
            if let creditLine {
                movements.append(Posting(.creditLine(creditLine.id), breakdown.cashPaid))
                movements.append(Posting(.creditPartner(creditLine.partner), -breakdown.cashPaid))
            }
        }
        return movements
    }

    /// The movements undoing some movements (a reversal).
    public static func negated(_ movements: [Posting]) -> [Posting] {
        movements.map { Posting($0.account, -$0.amount) }
    }
}
