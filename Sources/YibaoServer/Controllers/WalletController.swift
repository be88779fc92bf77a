import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import YibaoApp
import YibaoCore
import YibaoStore

/// The patient's wallet (医保数字钱包): balances, history, drug list, statements, inbox, reports of
/// unknown movements; contributions (缴费) and coverage; and the public receipt check.
struct WalletController {
    let platform: Platform
    let limiter: RateLimiter
    let trustedProxies: [String]

    struct ReadThrough: Codable, Sendable {
        var throughSeq: Int64
    }

    struct ReportRequest: Codable, Sendable {
        var eventId: String
        var reason: String
    }

    struct PremiumReceipt: Codable, Sendable {
        var payment: PremiumPayment
        var verificationCode: String
    }

    struct CoverageView: Codable, Sendable {
        var kind: PremiumKind
        var period: String
        var premiumId: String
    }

    /// A patient's change to a medication reminder: accept or turn on (`active`), turn off (`off`),
    /// new times, a new course length, a new dose text.
    struct ReminderChange: Codable, Sendable {
        var state: ReminderState?
        var times: [TimeOfDay]?
        var days: Int?
        var singleDose: String?

        /// The change, made by the patient (`caregiver` nil) or by a bound relative.
        func change(caregiver: String? = nil) -> MedicationReminder.Change {
            MedicationReminder.Change(state: state, times: times, days: days, singleDose: singleDose, caregiver: caregiver)
        }
    }

    func addRoutes(to routes: RouteRegistry) {
        routes.add(.get, "/v1/patient/wallet", .patient, "Balances: personal account, cards and credit lines") { _, context in
            JSONResponse(try await platform.wallet(person: context.patient.personNumber))
        }
        routes.add(.get, "/v1/patient/history", .patient, "Every movement, newest first (?from, until, kind, institution, cursor, limit)") {
            request, context in
            JSONResponse(try await platform.history(person: context.patient.personNumber, query: try WalletController.query(request)))
        }
        routes.add(.get, "/v1/patient/history.csv", .patient, "The history as CSV (same filters)") { request, context in
            var query = try WalletController.query(request)
            query.cursor = nil
            let csv = try await platform.historyCSV(person: context.patient.personNumber, query: query)
            return Response(
                status: .ok, headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"yibao-history.csv\""],
                body: .init(byteBuffer: ByteBuffer(string: csv))
            )
        }
        routes.add(.get, "/v1/patient/items", .patient, "Drugs and items bought, with what each payer paid (?from, until, institution, cursor)") {
            request, context in
            let q = request.uri.queryParameters
            return JSONResponse(
                try await platform.purchasedItems(
                    person: context.patient.personNumber, from: try WalletController.instant(q.get("from"), "from"),
                    until: try WalletController.instant(q.get("until"), "until"), institution: q.get("institution"), cursor: q.get("cursor")
                )
            )
        }
        routes.add(.get, "/v1/patient/statements/{month}", .patient, "A month's statement (YYYY-MM)") { _, context in
            JSONResponse(try await platform.statement(person: context.patient.personNumber, month: try context.parameters.require("month")))
        }
        routes.add(.get, "/v1/patient/statements/{month}/page", .patient, "A month's statement as a printable page") { _, context in
            StatementPage.response(try await platform.statement(person: context.patient.personNumber, month: try context.parameters.require("month")))
        }
        routes.add(.get, "/v1/patient/inbox", .patient, "Messages, newest first (?cursor)") { request, context in
            let cursor = request.uri.queryParameters.get("cursor").flatMap(Int64.init)
            return JSONResponse(try await platform.inbox(person: context.patient.personNumber, cursor: cursor))
        }
        routes.add(.post, "/v1/patient/inbox/read", .patient, "Mark messages read up to a number") { request, context in
            var request = request
            let body = try await request.decodeJSON(ReadThrough.self, context: context)
            _ = try await platform.markRead(person: context.patient.personNumber, through: body.throughSeq)
            return Response(status: .noContent)
        }
        routes.add(.post, "/v1/patient/reports", .patient, "Report a movement you do not recognise") { request, context in
            var request = request
            let body = try await request.decodeJSON(ReportRequest.self, context: context)
            return JSONResponse(
                try await platform.reportTransaction(person: context.patient.personNumber, eventID: body.eventId, reason: body.reason),
                status: .created
            )
        }
        routes.add(.get, "/v1/patient/reports", .patient, "Your reports and how they were resolved") { _, context in
            JSONResponse(try await platform.transactionReports(state: nil, person: context.patient.personNumber))
        }
        routes.add(.get, "/v1/patient/medication-reminders", .patient, "Reminders proposed from settled drug lines, newest first") { _, context in
            JSONResponse(try await platform.medicationReminders(person: context.patient.personNumber))
        }
        routes.add(.patch, "/v1/patient/medication-reminders/{reminder_id}", .patient, "Accept, edit or turn off a medication reminder") {
            request, context in
            var request = request
            let body = try await request.decodeJSON(ReminderChange.self, context: context)
            return JSONResponse(
                try await platform.changeMedicationReminder(
                    id: try context.parameters.require("reminder_id"), person: context.patient.personNumber,
                    change: body.change()))
        }
        addPremiumRoutes(to: routes)
    }

    func addPremiumRoutes(to routes: RouteRegistry) {
        routes.add(.get, "/v1/patient/premiums", .patient, "Contributions you may pay, with amounts from the policy (?person_number)") {
            request, context in
            let person = request.uri.queryParameters.get("person_number") ?? context.patient.personNumber
            try await FamilyAuthority.require(platform: platform, actor: context.patient.personNumber, for: person, purpose: .premium)
            return JSONResponse(try await platform.premiumOptions(person: person))
        }
        routes.add(.post, "/v1/patient/premiums", .patient, "Pay a contribution (confirm the amount shown); needs an Idempotency-Key") {
            request, context in
            var request = request
            let bytes = try await request.bodyBytes(context: context)
            let idempotency = try VisitController.idempotency(request, bytes)
            let body = try JSONBody.decode(PremiumRequest.self, from: bytes)
            try await FamilyAuthority.require(platform: platform, actor: context.patient.personNumber, for: body.personNumber, purpose: .premium)
            if body.personNumber != context.patient.personNumber {
                try await platform.requireSecondFactor(body.totpCode, session: context.patient)
            }
            return JSONResponse(try await platform.payPremium(body, payer: context.patient.personNumber, idempotency: idempotency), status: .created)
        }
        routes.add(.get, "/v1/patient/premiums/{premium_id}/receipt", .patient, "The electronic receipt of a contribution") { _, context in
            let id = try context.parameters.require("premium_id")
            guard let payment = try await platform.premiumPayment(id: id, visibleTo: context.patient.personNumber), payment.state == .paid else {
                throw Refusal(.notFound, "no paid contribution \(id) of yours")
            }
            return JSONResponse(PremiumReceipt(payment: payment, verificationCode: platform.premiumReceiptCode(payment)))
        }
        routes.add(.get, "/v1/patient/coverage", .patient, "The periods you are covered for") { _, context in
            JSONResponse(
                try await platform.coverage(person: context.patient.personNumber).map {
                    CoverageView(kind: $0.kind, period: $0.period, premiumId: $0.premiumId)
                })
        }
        routes.add(
            .get, "/v1/receipts/{receipt_id}/verification", .anyone,
            "Check a receipt (?code, and the amount and period printed on it): authentic, amount, period; no personal data"
        ) {
            request, context in
            let client = context.clientAddress(request, trustedProxies: trustedProxies)
            try limiter.check("receipt-verify:" + client, Limits.receiptVerificationsPerClient, what: "receipt checks")
            let q = request.uri.queryParameters
            let amount = try q.get("amount").map { text -> Money in
                guard let fen = Int64(text) else { throw Refusal.invalid("amount", "amount is the receipt's amount in fen") }
                return Money(fen: fen)
            }
            return JSONResponse(
                try await platform.verifyReceipt(
                    id: try context.parameters.require("receipt_id"), code: q.get("code") ?? "", claimedAmount: amount, claimedPeriod: q.get("period")
                )
            )
        }
    }

    static func query(_ request: Request) throws -> HistoryQuery {
        let q = request.uri.queryParameters
        var kinds: [WalletEventKind] = []
        if let text = q.get("kind") {
            for name in text.split(separator: ",") {
                guard let kind = WalletEventKind(rawValue: String(name)) else {
                    throw Refusal.invalid("kind", "kind is one or more of \(WalletEventKind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                kinds.append(kind)
            }
        }
        let limit =
            try q.get("limit").map { text -> Int in
                guard let value = Int(text) else { throw Refusal.invalid("limit", "limit is a number") }
                return value
            } ?? 50
        return HistoryQuery(
            from: try instant(q.get("from"), "from"), until: try instant(q.get("until"), "until"), kinds: kinds, institution: q.get("institution"),
            cursor: q.get("cursor"), limit: limit
        )
    }

    /// A time from a query parameter: a date (`2026-11-01`, its start in China) or an ISO 8601 time.
    static func instant(_ text: String?, _ field: String) throws -> Instant? {
        guard let text else { return nil }
        if let date = CivilDate(text) { return date.startInChina }
        guard let instant = Instant(iso8601: text) else { throw Refusal.invalid(field, "\(field) is a date (2026-11-01) or an ISO 8601 time") }
        return instant
    }
}

/// The statement page.
enum StatementPage {
    static func response(_ statement: Statement) -> Response {
        var rows = ""
        for event in statement.events {
            rows +=
                "<tr><td>\(ReceiptPage.escape(event.at.nationalDateTime))</td><td>\(ReceiptPage.escape(event.kind.rawValue))</td>"
                + "<td>\(ReceiptPage.escape(event.counterparty))</td><td class=n>\(event.total)</td><td class=n>\(event.fund)</td>"
                + "<td class=n>\(event.account)</td><td class=n>\(event.mutualAid)</td><td class=n>\(event.cash)</td></tr>"
        }
        let html = """
            <!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>医保账单 \(ReceiptPage.escape(statement.month))</title>
            <style>body{font-family:sans-serif;max-width:900px;margin:2em auto}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ccc;padding:4px}
            .n{text-align:right}</style></head><body><h1>医保月度账单 Statement \(ReceiptPage.escape(statement.month))</h1>
            <p>个人账户 Personal account: 期初 opening \(statement.openingBalance) · 收入 in \(statement.accountIn) · 支出 out \(statement.accountOut) · 期末 closing \(statement.closingBalance)</p>
            <p>医疗费用 Care \(statement.careTotal) (\(statement.settlementCount) 笔): 基金 fund \(statement.fundPaid) · 个人账户 account \(statement.accountPaid) ·
            家庭共济 mutual aid \(statement.mutualAidReceived) · 现金 cash \(statement.cashPaid) · 为家人支付 paid for family \(statement.mutualAidGiven) · 缴费 contributions \(statement.premiums)</p>
            <table><tr><th>时间</th><th>类型</th><th>对方</th><th class=n>总额</th><th class=n>基金</th><th class=n>账户</th><th class=n>共济</th><th class=n>现金</th></tr>\(rows)</table>
            </body></html>
            """
        return Response(
            status: .ok,
            headers: [.contentType: "text/html; charset=utf-8", .contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'"],
            body: .init(byteBuffer: ByteBuffer(string: html))
        )
    }
}

/// Who may act for whom: a patient for themselves; a binder with a binding in force for the member
/// (reads of the member's records are written to the member's audit trail, which the member sees in
/// `GET /v1/patient/family/activity`). Everyone else gets 404, as if the person did not exist.
enum FamilyAuthority {
    enum Purpose {
        case premium
        case view
    }

    static func require(platform: Platform, actor: String, for person: String, purpose: Purpose, action: String? = nil) async throws {
        guard actor != person else { return }
        guard try await platform.mayActFor(binder: actor, member: person) else { throw Refusal(.notFound, "no person \(person) you may act for") }
        if let action { try await platform.audit(actor: "family:" + actor, action: action, subject: person) }
    }
}
