// The settlement record's JSON (and its drug lines' reminders), written by hand (see `JSONWritable`). Fields are written in the order of
// their API keys, sorted as `JSONEncoder`'s `.sortedKeys` sorts them; the second name of a field is its
// stored (Swift) name where it differs.

extension SettlementRecord: JSONWritable {
    public func write(to json: inout JSONWriter) {
        json.object { json in
            json.field("accumulator_delta", "accumulatorDelta", accumulatorDelta)
            json.field("breakdown", breakdown)
            json.field("cash_collection", "cashCollection", cashCollection)
            json.field("cash_owed_change", "cashOwedChange", cashOwedChange)
            json.field("category", category)
            json.field("decline_reason", "declineReason", declineReason)
            json.field("details", details)
            json.field("funding_source", "fundingSource", fundingSource)
            json.field("id", id)
            json.field("institution", institution)
            json.field("insurance_region", "insuranceRegion", insuranceRegion)
            json.field("insurance_type", "insuranceType", insuranceType)
            json.field("kind", kind)
            json.field("lines", lines)
            json.field("mutual_aid_payer", "mutualAidPayer", mutualAidPayer)
            json.field("original_id", "originalId", originalId)
            json.field("payer_number", "payerNumber", payerNumber)
            json.field("person_name_masked", "personNameMasked", personNameMasked)
            json.field("person_number", "personNumber", personNumber)
            json.field("plan", plan)
            json.field("policy_title", "policyTitle", policyTitle)
            json.field("pool", pool)
            json.field("refund_type", "refundType", refundType)
            json.field("returned", returned)
            json.field("reversed_by", "reversedBy", reversedBy)
            json.field("settled_at", "settledAt", settledAt)
            json.field("state", state)
            json.field("trace", trace)
            json.field("visit_id", "visitId", visitId)
            json.field("year", year)
        }
    }
}

extension SettlementBreakdown: JSONWritable {
    public func write(to json: inout JSONWriter) {
        json.object { json in
            json.field("acct_mulaid_pay", "acctMulaidPay", mutualAidPaid)
            json.field("acct_pay", "acctPay", accountPaid)
            json.field("act_pay_dedc", "actPayDedc", deductiblePaid)
            json.field("balc", accountBalanceAfter)
            json.field("cvlserv_pay", "cvlservPay", civilServantFund)
            json.field("fulamt_ownpay_amt", "fulamtOwnpayAmt", fullSelfPay)
            json.field("fund_pay_sumamt", "fundPaySumamt", fundTotal)
            json.field("hifmi_pay", "hifmiPay", catastrophicFund)
            json.field("hifob_pay", "hifobPay", largeAmountFund)
            json.field("hifp_pay", "hifpPay", pooledFund)
            json.field("hosp_part_amt", "hospPartAmt", hospitalBorne)
            json.field("inscp_scp_amt", "inscpScpAmt", inScope)
            json.field("maf_pay", "mafPay", medicalAssistanceFund)
            json.field("medfee_sumamt", "medfeeSumamt", totalAmount)
            json.field("oth_pay", "othPay", otherFund)
            json.field("overlmt_selfpay", "overlmtSelfpay", overLimitSelfPay)
            json.field("pool_prop_selfpay", "poolPropSelfpay", fundRatio)
            json.field("preselfpay_amt", "preselfpayAmt", firstSelfPay)
            json.field("psn_cash_pay", "psnCashPay", cashPaid)
            json.field("psn_part_amt", "psnPartAmt", personTotal)
        }
    }
}

extension FundDetail: JSONWritable {
    public func write(to json: inout JSONWriter) {
        json.object { json in
            json.field("crt_payb_lmt_amt", "crtPaybLmtAmt", remainingLimit)
            json.field("fund_pay_type", "fundPayType", fundType)
            json.field("fund_pay_type_name", "fundPayTypeName", fundTypeName)
            json.field("fund_payamt", "fundPayamt", amount)
            json.field("inscp_scp_amt", "inscpScpAmt", inScope)
            json.field("setl_proc_info", "setlProcInfo", trace)
        }
    }
}

extension SettledLine: JSONWritable {
    public func write(to json: inout JSONWriter) {
        json.object { json in
            json.field("account_paid", "accountPaid", accountPaid)
            json.field("cash_paid", "cashPaid", cashPaid)
            json.field("fund_paid", "fundPaid", fundPaid)
            json.field("plan_paid", "planPaid", planPaid)
            json.field("split", split)
        }
    }
}

extension LineSplit: JSONWritable {
    public func write(to json: inout JSONWriter) {
        json.object { json in
            json.field("amount", amount)
            json.field("category", category)
            json.field("charge_batch", "chargeBatch", chargeBatch)
            json.field("dosage", dosage)
            json.field("first_self_pay", "firstSelfPay", firstSelfPay)
            json.field("first_self_pay_ratio", "firstSelfPayRatio", firstSelfPayRatio)
            json.field("full_self_pay", "fullSelfPay", fullSelfPay)
            json.field("hospital_item_code", "hospitalItemCode", hospitalItemCode)
            json.field("in_scope", "inScope", inScope)
            json.field("item_class", "itemClass", itemClass)
            json.field("item_code", "itemCode", itemCode)
            json.field("item_name", "itemName", itemName)
            json.field("line_number", "lineNumber", lineNumber)
            json.field("over_limit", "overLimit", overLimit)
            json.field("price_cap", "priceCap", priceCap)
            json.field("quantity", quantity)
            json.field("specification", specification)
            json.field("unit_price", "unitPrice", unitPrice)
        }
    }
}

extension Dosage: JSONWritable {
    public func write(to json: inout JSONWriter) {
        json.object { json in
            json.field("days", days)
            json.field("frequency", frequency)
            json.field("route", route)
            json.field("single_dose", "singleDose", singleDose)
        }
    }
}

extension PoolAccumulators: JSONWritable {
    public func write(to json: inout JSONWriter) {
        json.object { json in
            json.field("above_cap_amount", "aboveCapAmount", aboveCapAmount)
            json.field("above_cap_fund_paid", "aboveCapFundPaid", aboveCapFundPaid)
            json.field("basic_fund_paid", "basicFundPaid", basicFundPaid)
            json.field("deductible_paid", "deductiblePaid", deductiblePaid)
            json.field("in_scope_total", "inScopeTotal", inScopeTotal)
            json.field("plan_deductible_met", "planDeductibleMet", planDeductibleMet)
            json.field("plan_paid", "planPaid", planPaid)
            json.field("visits", visits)
            json.field("visits_by_level", "visitsByLevel", visitsByLevel)
        }
    }
}

extension LevelCounts: JSONWritable {
    /// An object of counts by level, its keys sorted (level raw values are digits).
    public func write(to json: inout JSONWriter) {
        json.object { json in
            for (level, count) in counts.sorted(by: { $0.key < $1.key }) {
                json.dynamicKey(level)
                json.integer(count)
            }
        }
    }
}

extension PayerAmounts: JSONWritable {
    public func write(to json: inout JSONWriter) {
        json.object { json in
            json.field("above_cap_fund", "aboveCapFund", aboveCapFund)
            json.field("cash", cash)
            json.field("mutual_aid", "mutualAid", mutualAid)
            json.field("own_account", "ownAccount", ownAccount)
            json.field("plan", plan)
            json.field("pooled_fund", "pooledFund", pooledFund)
        }
    }
}

extension InstitutionSummary: JSONWritable {
    public func write(to json: inout JSONWriter) {
        json.object { json in
            json.field("code", code)
            json.field("level", level)
            json.field("name", name)
            json.field("region", region)
        }
    }
}

extension FundingSourceSummary: JSONWritable {
    public func write(to json: inout JSONWriter) {
        json.object { json in
            json.field("bank", bank)
            json.field("id", id)
            json.field("kind", kind)
            json.field("masked", masked)
        }
    }
}

extension PlanReference: JSONWritable {
    public func write(to json: inout JSONWriter) {
        json.object { json in
            json.field("id", id)
            json.field("insurer_code", "insurerCode", insurerCode)
            json.field("insurer_name", "insurerName", insurerName)
            json.field("name", name)
        }
    }
}

extension Money: JSONWritable {
    /// Integer fen.
    public func write(to json: inout JSONWriter) { json.integer(fen) }
}

extension Ratio: JSONWritable {
    /// Integer basis points.
    public func write(to json: inout JSONWriter) { json.integer(basisPoints) }
}

extension Quantity: JSONWritable {
    /// A decimal number, as `Codable` writes it (through `Double`).
    public func write(to json: inout JSONWriter) { json.double(Double(scaled) / Double(Quantity.scale)) }
}

extension Instant: JSONWritable {
    /// ISO 8601 in China Standard Time.
    public func write(to json: inout JSONWriter) { json.string(iso8601) }
}

extension RegionCode: JSONWritable {
    /// The six-digit code.
    public func write(to json: inout JSONWriter) { json.string(value) }
}

extension SettlementKind: JSONWritable {}
extension SettlementState: JSONWritable {}
extension CashCollection: JSONWritable {}
extension InsuranceType: JSONWritable {}
extension MedicalCategory: JSONWritable {}
extension BenefitPoolKind: JSONWritable {}
extension HospitalLevel: JSONWritable {}
extension CatalogueCategory: JSONWritable {}
extension CatalogueClass: JSONWritable {}
extension FundPayType: JSONWritable {}
extension CardKind: JSONWritable {}
extension DeclineReason: JSONWritable {}
extension RefundType: JSONWritable {}

// A settled drug line's reminder is written with its settlement (in the projections after the commit).

extension MedicationReminder: JSONWritable {
    public func write(to json: inout JSONWriter) {
        json.object { json in
            json.field("assumptions", assumptions)
            json.field("caregiver", caregiver)
            json.field("days", days)
            json.field("delivered", delivered)
            json.field("every_days", "everyDays", everyDays)
            json.field("first_day", "firstDay", firstDay)
            json.field("frequency", frequency)
            json.field("id", id)
            json.field("institution_name", "institutionName", institutionName)
            json.field("item_code", "itemCode", itemCode)
            json.field("item_name", "itemName", itemName)
            json.field("line_number", "lineNumber", lineNumber)
            json.field("next_at", "nextAt", nextAt)
            json.field("person_number", "personNumber", personNumber)
            json.field("quantity", quantity)
            json.field("route", route)
            json.field("settlement_id", "settlementId", settlementId)
            json.field("single_dose", "singleDose", singleDose)
            json.field("specification", specification)
            json.field("state", state)
            json.field("times", times)
        }
    }
}

extension TimeOfDay: JSONWritable {
    /// "HH:mm".
    public func write(to json: inout JSONWriter) { json.string(description) }
}

extension CivilDate: JSONWritable {
    /// "YYYY-MM-DD".
    public func write(to json: inout JSONWriter) { json.string(description) }
}

extension ReminderState: JSONWritable {}
