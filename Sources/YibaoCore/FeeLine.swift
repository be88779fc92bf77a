/// One fee line as the hospital's system sends it (费用明细, national 2204 / 2301 `feedetail`).
public struct FeeLine: Sendable, Hashable, Codable {
    /// 费用明细流水号 `feedetl_sn`: unique within the visit.
    public var lineNumber: String
    /// 医疗目录编码 `med_list_codg`: the national catalogue code.
    public var itemCode: String
    /// 医药机构目录编码 `medins_list_codg`: the hospital's own code, kept for reconciliation.
    public var hospitalItemCode: String?
    /// 单价 `pric`, in fen.
    public var unitPrice: Money
    /// 数量 `cnt`.
    public var quantity: Quantity
    /// How a drug is to be taken (`sin_dos_dscr`, `used_frqu_dscr`, `prd_days`, `medc_way_dscr`), when
    /// the hospital sends it: the medication reminder follows it.
    public var dosage: Dosage?
    /// 收费批次号 `chrg_bchno`: the hospital's charge batch, when it sends one (national 2205 cancels by it).
    public var chargeBatch: String?

    /// Creates a fee line.
    public init(
        lineNumber: String, itemCode: String, hospitalItemCode: String? = nil, unitPrice: Money, quantity: Quantity, dosage: Dosage? = nil,
        chargeBatch: String? = nil
    ) {
        self.lineNumber = lineNumber
        self.itemCode = itemCode
        self.hospitalItemCode = hospitalItemCode
        self.unitPrice = unitPrice
        self.quantity = quantity
        self.dosage = dosage
        self.chargeBatch = chargeBatch
    }

    /// The most lines one visit may carry.
    public static let linesPerVisitMax = 1000
    /// The highest unit price accepted (1,000,000 yuan).
    public static let unitPriceMax = Money.yuan(1_000_000)

    /// 明细项目费用总额 `det_item_fee_sumamt`: unit price × quantity, with the one rounding rule.
    public var amount: Money { quantity.amount(at: unitPrice) }

    /// Checks ranges; `path` names the line in refusals (e.g. `lines[3]`).
    public func validate(path: String) throws(Refusal) {
        if lineNumber.isEmpty || lineNumber.utf8.count > 30 {
            throw .invalid(path + ".line_number", "line_number must be 1 to 30 characters")
        }
        if itemCode.isEmpty || itemCode.utf8.count > 50 {
            throw .invalid(path + ".item_code", "item_code must be 1 to 50 characters")
        }
        if let code = hospitalItemCode, code.utf8.count > 150 {
            throw .invalid(path + ".hospital_item_code", "hospital_item_code must be at most 150 characters")
        }
        if unitPrice.isNegative || unitPrice > FeeLine.unitPriceMax {
            throw .invalid(path + ".unit_price", "unit_price is in fen and must be 0 to 100000000 (1,000,000 yuan)")
        }
        if quantity.scaled <= 0 || quantity > Quantity.max {
            throw .invalid(path + ".quantity", "quantity must be above 0 and at most 10000")
        }
        if let batch = chargeBatch, batch.isEmpty || batch.utf8.count > 30 {
            throw .invalid(path + ".charge_batch", "charge_batch must be 1 to 30 characters")
        }
        try dosage?.validate(path: path)
    }
}

/// A priced fee line: the platform's split of one line into the national buckets (the 2204 result).
/// `amount = fullSelfPay + overLimit + firstSelfPay + inScope` always.
public struct LineSplit: Sendable, Hashable, Codable {
    /// 费用明细流水号 `feedetl_sn`.
    public var lineNumber: String
    /// 医疗目录编码 `med_list_codg`.
    public var itemCode: String
    /// 医药机构目录编码 `medins_list_codg`.
    public var hospitalItemCode: String?
    /// Catalogue name.
    public var itemName: String
    /// Catalogue specification.
    public var specification: String
    /// Drug, service or material.
    public var category: CatalogueCategory
    /// 收费项目等级 `chrgitm_lv`.
    public var itemClass: CatalogueClass
    /// 单价 `pric`.
    public var unitPrice: Money
    /// 数量 `cnt`.
    public var quantity: Quantity
    /// 明细项目费用总额 `det_item_fee_sumamt`.
    public var amount: Money
    /// 定价上限金额 `pric_uplmt_amt`, if the item has a cap.
    public var priceCap: Money?
    /// 自付比例 `selfpay_prop`.
    public var firstSelfPayRatio: Ratio
    /// 全自费金额 `fulamt_ownpay_amt`.
    public var fullSelfPay: Money
    /// 超限价金额 `overlmt_amt`.
    public var overLimit: Money
    /// 先行自付金额 `preselfpay_amt`.
    public var firstSelfPay: Money
    /// 符合政策范围金额 `inscp_scp_amt`.
    public var inScope: Money
    /// The dosage the hospital sent with the line, if any (drugs; the medication reminder follows it).
    public var dosage: Dosage?
    /// 收费批次号 `chrg_bchno`, if the hospital sent one.
    public var chargeBatch: String?

    /// Splits a fee line against its catalogue item (reference §6.1):
    /// class C is wholly self-paid; the price above the cap is over-limit; a class B item's first
    /// self-pay is its ratio of what remains; the rest is in scope.
    public static func split(_ line: FeeLine, item: CatalogueItem) -> LineSplit {
        let amount = line.amount
        var fullSelfPay = Money.zero
        var overLimit = Money.zero
        var firstSelfPay = Money.zero
        switch item.itemClass {
        case .c:
            fullSelfPay = amount
        case .a, .b:
            if let cap = item.priceCap, line.unitPrice > cap {
                overLimit = min(amount, line.quantity.amount(at: line.unitPrice - cap))
            }
            if item.itemClass == .b {
                firstSelfPay = (amount - overLimit).portion(item.firstSelfPayRatio)
            }
        }
        let inScope = amount - fullSelfPay - overLimit - firstSelfPay
        precondition(!inScope.isNegative && fullSelfPay + overLimit + firstSelfPay + inScope == amount, "line split identity")
        return LineSplit(
            lineNumber: line.lineNumber, itemCode: line.itemCode, hospitalItemCode: line.hospitalItemCode,
            itemName: item.name, specification: item.specification, category: item.category, itemClass: item.itemClass,
            unitPrice: line.unitPrice, quantity: line.quantity, amount: amount, priceCap: item.priceCap,
            firstSelfPayRatio: item.firstSelfPayRatio, fullSelfPay: fullSelfPay, overLimit: overLimit,
            firstSelfPay: firstSelfPay, inScope: inScope, dosage: item.category == .drug ? line.dosage : nil,
            chargeBatch: line.chargeBatch
        )
    }
}

/// Splits totals across parts in proportion to weights (largest remainder), so that the parts
/// always add up to the total exactly. Used to show what each payer paid per line.
public enum Allocation {
    /// `total` split by `weights`; all zero weights give everything to the first part.
    public static func proportional(_ total: Money, weights: [Money]) -> [Money] {
        precondition(!total.isNegative && weights.allSatisfy { !$0.isNegative }, "allocation takes non-negative amounts")
        guard !weights.isEmpty else { return [] }
        let weightSum = Money.sum(weights)
        guard weightSum.isPositive else {
            return [total] + Array(repeating: .zero, count: weights.count - 1)
        }
        var shares: [Int64] = []
        var remainders: [(index: Int, remainder: Int64)] = []
        for (index, weight) in weights.enumerated() {
            let product = total.fen.multipliedFullWidth(by: weight.fen)
            let (quotient, remainder) = weightSum.fen.dividingFullWidth(product)
            shares.append(quotient)
            remainders.append((index, remainder))
        }
        var left = total.fen - shares.reduce(0, +)
        for entry in remainders.sorted(by: { $0.remainder != $1.remainder ? $0.remainder > $1.remainder : $0.index < $1.index }) where left > 0 {
            shares[entry.index] += 1
            left -= 1
        }
        precondition(left == 0, "allocation must distribute the whole total")
        return shares.map { Money(fen: $0) }
    }
}
