import YibaoCore
import YibaoStore

/// The side effects of business events: the wallet movements of everyone whose money moved, their inbox
/// messages, and webhook deliveries for the institutions and partners that subscribed (an outbox:
/// delivered after the commit, retried until acknowledged, never lost).
///
/// Decided without the database into `ProjectionWrites` (given the live webhook subscriptions), then
/// written together by `ProjectionRepository.write` — a batch of settlements' projections in two round
/// trips. The `in db` forms write one event's projections in the caller's transaction.
package enum Events {
    /// A webhook event's body (Standard Webhooks: `type`, `timestamp`, `data`).
    struct Envelope<Data: Encodable>: Encodable {
        let type: String
        let timestamp: Instant
        let data: Data
    }

    /// What institutions and partners learn of a settlement: no personal data beyond the person number.
    struct SettlementData: Encodable {
        let settlementId: String
        let kind: SettlementKind
        let state: SettlementState
        let originalId: String?
        let visitId: String
        let institutionCode: String
        let personNumber: String
        let totalAmount: Money
        let fundPaid: Money
        let accountPaid: Money
        let cashPaid: Money
        let cashCollection: CashCollection
        let settledAt: Instant
    }

    /// A completed settlement, reversal or refund.
    static func settlement(
        _ record: SettlementRecord, receiptCode: String, frictionless: Bool = false, subscriptions: [WebhookRepository.Subscription],
        ids: any IDGenerator, now: Instant, into writes: inout ProjectionWrites
    ) throws {
        precondition(record.state == .completed, "events of completed records only")
        let b = record.breakdown
        let kind: WalletEventKind = record.kind == .settlement ? .settlement : record.kind == .reversal ? .reversal : .refund
        let actor = record.payerNumber.map { "family:" + $0 } ?? "institution:" + record.institution.code
        writes.record(
            WalletEvent(
                personNumber: record.personNumber, seq: 0, id: ids.next("W"),
                kind: kind, reference: record.id, at: now, institutionCode: record.institution.code, counterparty: record.institution.name,
                total: b.totalAmount, fund: b.fundTotal, account: record.ownAccountPaid, mutualAid: b.mutualAidPaid, cash: b.cashPaid, actor: actor
            ))
        let verb = record.kind == .settlement ? "结算" : record.kind == .reversal ? "结算撤销" : "退费"
        writes.message(
            person: record.personNumber, id: ids.next("M"), topic: "settlement.\(record.kind.rawValue)",
            title: frictionless ? "无感支付：\(record.institution.name) 医疗费用\(verb)" : "\(record.institution.name) 医疗费用\(verb)",
            body: "总额 \(b.totalAmount) 元：基金 \(b.fundTotal)，个人账户 \(b.accountPaid)，现金 \(b.cashPaid)"
                + (record.fundingSource.map { "（\($0.bank) \($0.masked)）" } ?? "")
                + "。结算号 \(record.id)。电子票据 /v1/patient/settlements/\(record.id)/receipt，校验码 \(receiptCode)",
            reference: record.id, at: now
        )
        if let payer = record.mutualAidPayer, b.mutualAidPaid != .zero {
            writes.record(
                WalletEvent(
                    personNumber: payer, seq: 0, id: ids.next("W"), kind: .mutualAidGiven,
                    reference: record.id, at: now, institutionCode: record.institution.code, counterparty: record.personNameMasked,
                    total: b.mutualAidPaid, fund: .zero, account: b.mutualAidPaid, mutualAid: .zero, cash: .zero, actor: actor
                ))
            try writes.audit(
                actor: "family:" + payer, action: "family.mutual_aid", subject: record.personNumber,
                value: ["settlement": record.id, "amount": "\(b.mutualAidPaid.fen)"], at: now
            )
            writes.message(
                person: payer, id: ids.next("M"), topic: "mutual_aid.\(record.kind.rawValue)", title: "家庭共济支付",
                body: "您的个人账户为家庭成员 \(record.personNameMasked) 在 \(record.institution.name) 支付 \(b.mutualAidPaid) 元。结算号 \(record.id)",
                reference: record.id, at: now
            )
        }
        if let payer = record.payerNumber, payer != record.personNumber, b.cashPaid != .zero, record.cashCollection == .channel {
            writes.record(
                WalletEvent(
                    personNumber: payer, seq: 0, id: ids.next("W"), kind: .familyPayment,
                    reference: record.id, at: now, institutionCode: record.institution.code, counterparty: record.personNameMasked,
                    total: b.cashPaid, fund: .zero, account: .zero, mutualAid: .zero, cash: b.cashPaid, actor: "family:" + payer
                ))
            try writes.audit(
                actor: "family:" + payer, action: "family.pay", subject: record.personNumber, value: ["settlement": record.id], at: now)
        }
        let type = record.kind == .settlement ? "settlement.completed" : record.kind == .reversal ? "settlement.reversed" : "settlement.refunded"
        try publish(
            type: type, institution: record.institution.code,
            data: SettlementData(
                settlementId: record.id, kind: record.kind, state: record.state, originalId: record.originalId, visitId: record.visitId,
                institutionCode: record.institution.code, personNumber: record.personNumber, totalAmount: b.totalAmount, fundPaid: b.fundTotal,
                accountPaid: b.accountPaid, cashPaid: b.cashPaid, cashCollection: record.cashCollection, settledAt: record.settledAt
            ),
            subscriptions: subscriptions, ids: ids, now: now, into: &writes
        )
        if let claim = PlanClaim.of(record) {
            // Claims data carries the items treated: only the plan's own insurer receives it.
            try publish(
                type: "plan.claim", institution: nil, insurer: claim.insurerCode, data: claim, subscriptions: subscriptions, ids: ids, now: now,
                into: &writes)
        }
    }

    /// A settlement whose cash part the bank refused.
    static func declined(
        _ record: SettlementRecord, subscriptions: [WebhookRepository.Subscription], ids: any IDGenerator, now: Instant,
        into writes: inout ProjectionWrites
    ) throws {
        writes.message(
            person: record.personNumber, id: ids.next("M"), topic: "payment.declined", title: "扣款未成功",
            body: "\(record.institution.name) 的现金部分 \(record.breakdown.cashPaid) 元未能扣款：\(record.declineReason?.message ?? "已取消")。未发生任何扣款。",
            reference: record.id, at: now
        )
        try publish(
            type: "payment.declined", institution: record.institution.code,
            data: ["settlement_id": record.id, "visit_id": record.visitId, "reason": record.declineReason?.rawValue ?? "cancelled"],
            subscriptions: subscriptions, ids: ids, now: now, into: &writes
        )
    }

    /// A paid contribution, written in the caller's transaction.
    static func premium(_ payment: PremiumPayment, ids: any IDGenerator, now: Instant, in db: any SQLExecutor) throws {
        var writes = ProjectionWrites()
        let actor = payment.payerNumber == payment.personNumber ? "patient:" + payment.personNumber : "family:" + payment.payerNumber
        writes.record(
            WalletEvent(
                personNumber: payment.personNumber, seq: 0, id: ids.next("W"),
                kind: .premium, reference: payment.id, at: now, institutionCode: nil,
                counterparty: "\(payment.region) \(payment.kind == .commercialPlan ? "惠民保" : "医保基金") (\(payment.kind.rawValue) \(payment.period))",
                total: payment.amount, fund: .zero, account: .zero, mutualAid: .zero, cash: payment.amount, actor: actor
            ))
        for person in Set([payment.personNumber, payment.payerNumber]).sorted() {
            writes.message(
                person: person, id: ids.next("M"), topic: "premium.paid", title: "缴费成功",
                body: "\(payment.period) \(payment.kind.chineseName) \(payment.amount) 元已缴纳，收据号 \(payment.id)。",
                reference: payment.id, at: now
            )
        }
        try publish(
            type: "premium.paid", institution: nil,
            data: [
                "premium_id": payment.id, "region": payment.region.value, "kind": payment.kind.rawValue, "period": payment.period,
                "amount": "\(payment.amount.fen)",
            ],
            subscriptions: try WebhookRepository.live(in: db), ids: ids, now: now, into: &writes
        )
        try ProjectionRepository.write(writes, in: db)
    }

    /// Money put into a personal account, written in the caller's transaction.
    static func accountCredit(
        person: String, amount: Money, reference: String, counterparty: String, actor: String, ids: any IDGenerator, now: Instant,
        in db: any SQLExecutor
    ) throws {
        var writes = ProjectionWrites()
        writes.record(
            WalletEvent(
                personNumber: person, seq: 0, id: ids.next("W"), kind: .accountCredit,
                reference: reference, at: now, institutionCode: nil, counterparty: counterparty, total: amount, fund: .zero, account: -amount,
                mutualAid: .zero, cash: .zero, actor: actor
            ))
        writes.message(
            person: person, id: ids.next("M"), topic: "account.credited", title: "个人账户划入", body: "个人账户划入 \(amount) 元。", reference: reference,
            at: now)
        try ProjectionRepository.write(writes, in: db)
    }

    /// A security or binding event: the inbox only, written in the caller's transaction.
    static func notice(person: String, topic: String, title: String, body: String, ids: any IDGenerator, now: Instant, in db: any SQLExecutor) throws
    {
        try message(person: person, topic: topic, title: title, body: body, reference: nil, ids: ids, now: now, in: db)
    }

    /// One inbox message, written in the caller's transaction.
    static func message(
        person: String, topic: String, title: String, body: String, reference: String?, ids: any IDGenerator, now: Instant, in db: any SQLExecutor
    ) throws {
        var writes = ProjectionWrites()
        writes.message(person: person, id: ids.next("M"), topic: topic, title: title, body: body, reference: reference, at: now)
        try ProjectionRepository.write(writes, in: db)
    }

    /// Queues a webhook delivery for every live subscription that wants this event: an institution's
    /// subscriptions get its own events, a partner's every event of the types it chose — except an
    /// insurer's claims data (`insurer` set), which only that insurer's partner subscription (the partner
    /// named by the insurer's code) receives, and only when it asked for the type by name.
    static func publish<T: Encodable>(
        type: String, institution: String?, insurer: String? = nil, data: T, subscriptions: [WebhookRepository.Subscription],
        ids: any IDGenerator, now: Instant, into writes: inout ProjectionWrites
    ) throws {
        let subscriptions = subscriptions.filter { subscription in
            if let insurer { return subscription.owner == "partner:" + insurer && subscription.events.contains(type) }
            guard subscription.events.contains(type) || subscription.events.contains("*") else { return false }
            if subscription.owner.hasPrefix("institution:") { return institution.map { "institution:" + $0 } == subscription.owner }
            return subscription.owner.hasPrefix("partner:")
        }
        guard !subscriptions.isEmpty else { return }
        let payload = try YibaoJSON.string(Envelope(type: type, timestamp: now, data: data))
        for subscription in subscriptions {
            writes.deliver(id: ids.next("msg_"), subscription: subscription.id, type: type, payload: payload, at: now)
        }
    }
}
