import Foundation
import YibaoApp
import YibaoCore

/// 医保移动支付 (reference §5.2) on Yibao's payment orders: 6201 uploads the fee details and creates the
/// order; the patient (or a binder) confirms and pays it in the Yibao app — Yibao's form of the payAuthNo
/// step — so 6202 and 6301 answer the order's result; 6401 cancels an unpaid order; 6203 refunds a paid
/// one. The `data` nodes use the camelCase names of the mobile-payment interface.
extension NationalGateway {
    func mobilePayment(_ message: Message) async throws -> NationalJSON {
        let input = try data(message)
        let institution = message.institution
        switch message.infno {
        case "6201":
            guard case .array(let rows)? = input["feedetailList"], !rows.isEmpty else { throw NationalFailure("缺少必填节点 data.feedetailList") }
            guard rows.count <= 1000 else { throw NationalFailure("一次最多上传1000条费用明细") }
            let person = try await enrolled(try NationalField.text(input, "psnNo", path: "data."))
            let number = try NationalField.optionalText(input, "medOrgOrd") ?? NationalField.text(input, "iptOtpNo", path: "data.")
            let category = try NationalField.optionalText(input, "medType").map(medicalCategory) ?? .ordinaryOutpatient
            var lines: [FeeLine] = []
            for (index, row) in rows.enumerated() {
                let path = "data.feedetailList[\(index)]."
                lines.append(
                    FeeLine(
                        lineNumber: try NationalField.text(row, "feedetlSn", path: path),
                        itemCode: try NationalField.text(row, "medListCodg", path: path),
                        hospitalItemCode: NationalField.optionalText(row, "medinsListCodg"),
                        unitPrice: try NationalField.price(row, "pric", path: path),
                        quantity: try NationalField.quantity(row, "cnt", path: path)))
            }
            // medfeeSumamt, when sent, must be the lines' total: checked in the transaction, so a mismatch writes nothing.
            let expected = try NationalField.optionalText(input, "medfeeSumamt").map { text -> Money in
                guard let fen = NationalField.decimal(text, places: 2) else { throw NationalFailure("data.medfeeSumamt 应为金额") }
                return Money(fen: fen)
            }
            let order = try await platform.createPaymentOrder(
                PaymentOrderRequest(personNumber: person.number, category: category, hospitalVisitNumber: number, lines: lines),
                institution: institution, expectedTotal: expected)
            return .object([
                (
                    "data",
                    .object([
                        ("payOrdId", .string(order.id)), ("payToken", .string(order.id)), ("mdtrtId", .string(order.visitId)),
                        ("extData", .object([("preSetl", preSettlement(order, person: person, msgid: message.msgid, institution: institution))])),
                    ])
                )
            ])
        case "6202", "6301":
            let order = try await platform.paymentOrder(id: try payOrderID(input), institution: institution)
            if message.infno == "6202" && order.state == .awaitingPayment {
                throw NationalFailure("患者尚未在医保App中确认支付：请提示患者在“待支付账单”中支付后再查询")
            }
            return .object([("data", try await orderResult(order, msgid: message.msgid, institution: institution))])
        case "6401":
            let order = try await platform.cancelPaymentOrder(id: try payOrderID(input), institution: institution)
            return .object([("data", .object([("payOrdId", .string(order.id)), ("ordStas", .string(Self.orderStatus(order.state)))]))])
        case "6203":
            let id = try payOrderID(input)
            let settlementID = try await platform.paidSettlement(ofOrder: id, institution: institution)
            let refund = try NationalField.text(input, "appRefdSn", path: "data.")
            let idempotency = IdempotencyRequest(key: "national:" + refund, fingerprint: "6203|" + id)
            // ALL reverses the settlement; CASH and HI are partial refunds of the cash or the insurance part.
            let partial: RefundRequest?
            switch NationalField.optionalText(input, "refdType") ?? "ALL" {
            case "ALL": partial = nil
            case "CASH": partial = RefundRequest(type: .cash, amount: try NationalField.amount(input, "cashRefdAmt", path: "data."))
            case "HI": partial = RefundRequest(type: .insurance, amount: try NationalField.amount(input, "fundRefdAmt", path: "data."))
            default: throw NationalFailure("data.refdType 应为 ALL、CASH 或 HI")
            }
            let record = try await metrics.count(partial == nil ? .reversal : .refund) {
                if let partial {
                    return try await platform.refund(settlementID: settlementID, institution: institution, request: partial, idempotency: idempotency)
                }
                return try await platform.reverse(settlementID: settlementID, institution: institution, idempotency: idempotency)
            }
            let now = platform.clock.now()
            return .object([
                (
                    "data",
                    .object([
                        ("refdSn", .string(record.id)), ("hiFefdSn", .string(record.id)), ("hiTrnsDate", .string(ChinaTime.date(now).description)),
                        ("hiTrnsTime", .string(String(NationalField.dateTime(now).suffix(8)))), ("refStatus", .string("SUCC")),
                        ("totlRefdAmt", .amount(-record.breakdown.totalAmount)), ("fundRefdAmt", .amount(-record.breakdown.fundTotal)),
                        ("psnAcctRefdAmt", .amount(-record.breakdown.accountPaid)), ("cashRefdAmt", .amount(-record.breakdown.cashPaid)),
                    ])
                )
            ])
        default:
            throw NationalFailure("暂不支持交易 \(message.infno)")
        }
    }

    func payOrderID(_ input: NationalJSON) throws -> String {
        try NationalField.text(input, "payOrdId", path: "data.")
    }

    /// `ordStas` (reference §5.2): 1 预结算完成 (awaiting the patient), 2 结算中, 6 结算完成, 12 已撤销.
    static func orderStatus(_ state: PaymentOrder.State) -> String {
        switch state {
        case .awaitingPayment: "1"
        case .paying: "2"
        case .paid: "6"
        case .cancelled, .expired: "12"
        }
    }

    func preSettlement(_ order: PaymentOrderView, person: Person, msgid: String, institution: Institution) -> NationalJSON {
        guard let preview = order.preview else { return .null }
        return settlementOutput(
            id: nil, visitID: order.visitId, breakdown: preview.breakdown, details: preview.details, person: person, category: order.category,
            at: order.createdAt, msgid: msgid, institution: institution)
    }

    /// 6202 / 6301 output: the order's state and, once paid, its figures with `setlinfo` and `setldetail`.
    func orderResult(_ order: PaymentOrderView, msgid: String, institution: Institution) async throws -> NationalJSON {
        var fields: [(String, NationalJSON)] = [
            ("ordStas", .string(Self.orderStatus(order.state))), ("payOrdId", .string(order.id)), ("medOrgOrd", .string(order.hospitalVisitNumber)),
            ("feeSumamt", .amount(order.total)), ("orgCode", .string(institution.code)), ("orgName", .string(institution.name)),
        ]
        if let record = order.settlement {
            let b = record.breakdown
            let person = try await enrolled(record.personNumber)
            fields += [
                ("ownPayAmt", .amount(b.cashPaid)), ("ownpayAmt", .amount(b.cashPaid)), ("psnAcctPay", .amount(b.accountPaid)),
                ("fundPay", .amount(b.fundTotal)), ("acctMulaidPay", .amount(b.mutualAidPaid)),
                ("selfAcctPay", .amount(b.accountPaid - b.mutualAidPaid)),
                ("hospPartAmt", .amount(b.hospitalBorne)), ("othFeeAmt", .amount(.zero)),
                ("hiChrgTime", .string(NationalField.dateTime(record.settledAt))),
                ("hiDocSn", .string(record.id)),
                ("extData", settlementOutput(record, registration: order.visitId, person: person, msgid: msgid, institution: institution)),
            ]
        }
        return .object(fields)
    }
}
