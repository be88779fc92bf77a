import YibaoCore
import YibaoStore

/// What an institution sends to ask for a visit to be paid on the patient's phone (national 6201).
public struct PaymentOrderRequest: Sendable, Hashable, Codable {
    /// 人员编号 `psn_no`.
    public var personNumber: String
    /// 医疗类别 `med_type`.
    public var category: MedicalCategory
    /// The hospital's visit number (`ipt_otp_no`), unique per institution.
    public var hospitalVisitNumber: String
    /// The fee lines to pay.
    public var lines: [FeeLine]
    /// Minutes the order may be paid in (5 to 1,440; default 30).
    public var expiresInMinutes: Int?

    public init(personNumber: String, category: MedicalCategory, hospitalVisitNumber: String, lines: [FeeLine], expiresInMinutes: Int? = nil) {
        self.personNumber = personNumber
        self.category = category
        self.hospitalVisitNumber = hospitalVisitNumber
        self.lines = lines
        self.expiresInMinutes = expiresInMinutes
    }
}

/// A payment order as the institution and the patient see it.
public struct PaymentOrderView: Sendable, Hashable, Codable {
    /// `pay_ord_id`.
    public var id: String
    public var state: PaymentOrder.State
    public var institution: InstitutionSummary
    public var personNumber: String
    public var visitId: String
    public var hospitalVisitNumber: String
    public var category: MedicalCategory
    /// The fee lines' total (`medfee_sumamt`).
    public var total: Money
    public var createdAt: Instant
    public var expiresAt: Instant
    /// Who paid for the patient (a binder), once paid.
    public var payerNumber: String?
    /// What the fund, the account and cash would pay now (awaiting payment; the patient's own account).
    public var preview: SettlementPreview?
    /// The settlement, once a payment was made (paid, or being confirmed).
    public var settlement: SettlementRecord?
}

extension Platform {
    /// Creates a payment order: the visit is opened with its fee lines and the order written in the same
    /// transaction; the answer carries what the patient would pay now.
    public func createPaymentOrder(
        _ request: PaymentOrderRequest, institution: Institution, expectedTotal: Money? = nil
    ) async throws -> PaymentOrderView {
        guard !request.hospitalVisitNumber.isEmpty, request.hospitalVisitNumber.utf8.count <= 30 else {
            throw Refusal.invalid("hospital_visit_number", "hospital_visit_number (ipt_otp_no) must be 1 to 30 characters")
        }
        guard !request.lines.isEmpty else { throw Refusal(.noFeeLines, "send the fee lines the patient is to pay", field: "lines") }
        let minutes = request.expiresInMinutes ?? PaymentOrder.defaultLifetimeMinutes
        guard PaymentOrder.lifetimeMinutes.contains(minutes) else {
            throw Refusal.invalid("expires_in_minutes", "expires_in_minutes is 5 to 1440")
        }
        try Platform.validate(request.lines, existing: [])
        let reference = self.reference
        let visitID = ids.next("V")
        let orderID = ids.next("PO")
        let ids = self.ids
        let order: PaymentOrder = try await namingExistingVisit(institution: institution.code, number: request.hospitalVisitNumber) {
            try await write { db, now in
                let visit = try Platform.insertPersonVisit(
                    OpenVisitRequest(
                        personNumber: request.personNumber, category: request.category, hospitalVisitNumber: request.hospitalVisitNumber),
                    id: visitID, lines: request.lines, institution: institution, reference: reference, now: now, in: db)
                if let expectedTotal, expectedTotal != visit.total {
                    throw Refusal(.amountMismatch, "the fee lines total \(visit.total), not \(expectedTotal)", field: "medfee_sumamt")
                }
                let order = PaymentOrder(
                    id: orderID, institutionCode: institution.code, visitId: visitID, personNumber: request.personNumber,
                    category: request.category, hospitalVisitNumber: request.hospitalVisitNumber, total: visit.total, createdAt: now,
                    expiresAt: now.adding(seconds: Int64(minutes) * 60))
                try PaymentOrderRepository.insert(order, in: db)
                // The patient, and whoever binds them and may pay for them, is told in the app's inbox.
                let binders = try FamilyRepository.activeForMember(order.personNumber, in: db).map(\.binderNumber)
                let due = order.expiresAt.nationalDateTime
                for person in [order.personNumber] + binders {
                    let whose = person == order.personNumber ? "" : "（为家庭成员 \(order.personNumber)）"
                    try Events.message(
                        person: person, topic: "payment_order", title: "待支付账单 A bill to pay",
                        body: "\(institution.name)发来一笔 \(order.total) 元的账单\(whose)，请在 \(due) 前在医保App“待支付账单”中支付。",
                        reference: order.id, ids: ids, now: now, in: db)
                }
                return order
            }
        }
        return try await view(order, institution: institution, preview: true)
    }

    /// An institution's order, with its settlement once paid (5204-like query for the HIS).
    public func paymentOrder(id: String, institution: Institution) async throws -> PaymentOrderView {
        guard let order = try await read({ db, _ in try PaymentOrderRepository.find(id: id, institution: institution.code, lock: false, in: db) })
        else { throw Refusal(.notFound, "this institution has no payment order \(id)") }
        return try await view(order, institution: institution, preview: false)
    }

    /// Cancels an order not paid (expired ones too); a paid one is refunded instead.
    public func cancelPaymentOrder(id: String, institution: Institution) async throws -> PaymentOrderView {
        let actor = Platform.actor(institution: institution.code)
        let order: PaymentOrder = try await write { db, now in
            guard var order = try PaymentOrderRepository.find(id: id, institution: institution.code, lock: true, in: db) else {
                throw Refusal(.notFound, "this institution has no payment order \(id)")
            }
            let settled = try order.settlementId.flatMap { try SettlementRepository.lockState($0, in: db) }
            if let refusal = order.refusalToCancel(settlement: settled, at: now) { throw refusal }
            // The visit the order opened goes with it (which cancels the order), unless the institution settled it
            // another way.
            if let visit = try VisitRepository.find(id: order.visitId, institution: institution.code, lock: true, in: db), visit.state == .open {
                _ = try Platform.cancel(visit, actor: actor, now: now, in: db)
            } else {
                try PaymentOrderRepository.cancel(id: id, now: now, in: db)
            }
            order.cancelled = true
            return order
        }
        return try await view(order, institution: institution, preview: false)
    }

    /// The settlement of a paid order, for its refund through the usual refund rules.
    public func paidSettlement(ofOrder id: String, institution: Institution) async throws -> String {
        let view = try await paymentOrder(id: id, institution: institution)
        guard view.state == .paid, let settlement = view.settlement else {
            throw Refusal(.settlementNotCompleted, "payment order \(id) is not paid (\(view.state.rawValue)): there is nothing to refund")
        }
        return settlement.id
    }

    /// The orders a patient may see: their own and those of the members they bind (last 30 days).
    public func paymentOrders(person: String) async throws -> [PaymentOrderView] {
        let orders: [PaymentOrder] = try await read { db, now in
            let members = try FamilyRepository.of(person: person, in: db).filter { $0.binderNumber == person && $0.isActive }.map(\.memberNumber)
            return try PaymentOrderRepository.of(people: [person] + members, since: now.adding(seconds: -30 * 86_400), in: db)
        }
        var institutions: [String: Institution] = [:]
        var views: [PaymentOrderView] = []
        for order in orders {
            if institutions[order.institutionCode] == nil { institutions[order.institutionCode] = try await institution(code: order.institutionCode) }
            guard let institution = institutions[order.institutionCode] else { continue }
            views.append(try await view(order, institution: institution, preview: true))
        }
        return views
    }

    /// Pays an order from the phone: the patient, or a binder who may pay for the member. In one
    /// transaction: the order and the visit locked, who may pay decided in Core, the visit's payer
    /// recorded and the settlement decided and written exactly as for a scanned code (fund, account and
    /// mutual aid, the cash part from the payer's default funding source); the bank is then asked for the
    /// cash part. A retry with the same key gets the first answer.
    public func payPaymentOrder(id: String, payer: String, useAccount: Bool, idempotency: IdempotencyRequest) async throws -> SettlementRecord {
        guard let found = try await read({ db, _ in try PaymentOrderRepository.find(id: id, lock: false, in: db) }),
            let institution = try await institution(code: found.institutionCode)
        else { throw Refusal(.notFound, "no payment order \(id) for you") }
        let context = SettleContext(self, institution: institution)
        let outcome: SettleOutcome = try await write { db, now in
            if let replay = try Platform.replay(scope: "order-pay:" + payer, idempotency, id: context.settlementID, now: now, in: db) {
                return replay
            }
            guard let order = try PaymentOrderRepository.find(id: id, lock: true, in: db) else { throw Refusal(.notFound, "no payment order \(id)") }
            let settled = try order.settlementId.flatMap { try SettlementRepository.lockState($0, in: db) }
            let bindingActive = try payer == order.personNumber || FamilyRepository.active(binder: payer, member: order.personNumber, in: db) != nil
            if let refusal = order.refusalToPay(payer: payer, settlement: settled, bindingActive: bindingActive, at: now) { throw refusal }
            guard var visit = try VisitRepository.find(id: order.visitId, institution: order.institutionCode, lock: true, in: db) else {
                throw StoreError.decoding("visit \(order.visitId) of payment order \(id) missing")
            }
            guard visit.state == .open else {
                throw Refusal(
                    .paymentOrderClosed,
                    visit.state == .cancelled ? "the institution cancelled this visit" : "the institution settled this visit another way",
                    references: ["visit_id": visit.id])
            }
            visit.paymentAuthority = .fundingSource
            visit.payerNumber = payer == order.personNumber ? nil : payer
            try VisitRepository.setPayment(visit.id, authority: .fundingSource, payer: visit.payerNumber, now: now, in: db)
            let decision = try Platform.decide(visit, useAccount: useAccount, context: context, now: now, in: db)
            try PaymentOrderRepository.setSettlement(id: id, settlementID: decision.record.id, payer: visit.payerNumber, now: now, in: db)
            var writes = WriteSet()
            writes.visitStates = [WriteSet.VisitState(id: visit.id, state: decision.visitState, settlementID: decision.record.id)]
            return try Platform.write(decision, context: context, into: &writes, now: now, in: db)
        }
        return try await finish(outcome)
    }

    private func view(_ order: PaymentOrder, institution: Institution, preview: Bool) async throws -> PaymentOrderView {
        var latest: SettlementRecord?
        if let id = order.settlementId { latest = try await settlement(id: id, institution: nil) }
        let state = order.state(settlement: latest?.state, at: clock.now())
        let shown = state == .paid || state == .paying ? latest : nil
        let estimate =
            preview && state == .awaitingPayment ? try? await preSettle(visitID: order.visitId, institution: institution, useAccount: true) : nil
        return PaymentOrderView(
            id: order.id, state: state, institution: InstitutionSummary(institution), personNumber: order.personNumber, visitId: order.visitId,
            hospitalVisitNumber: order.hospitalVisitNumber, category: order.category, total: order.total, createdAt: order.createdAt,
            expiresAt: order.expiresAt, payerNumber: order.payerNumber, preview: estimate, settlement: shown)
    }
}
