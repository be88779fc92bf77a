import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import YibaoApp
import YibaoCore
import YibaoStore

/// Reconciliation and clearing: the institution agrees its totals and details with Yibao (national
/// 3201 / 3202) and applies for clearing (3203) or cancels an application (3204); the bureau reviews
/// with deductions, approves, runs the payout and records the bank's answer.
struct ClearingController {
    let platform: Platform

    /// One line of an institution's totals (3201): its count and sums for an insurance type × clearing type.
    struct TotalsLineInput: Codable, Sendable {
        var insuranceType: InsuranceType
        var clearingType: ClearingType
        var count: Int
        /// `medfee_sumamt`, fen.
        var total: Money
        /// `fund_pay_sumamt`, fen.
        var fund: Money
        /// `acct_pay`, fen.
        var account: Money
        /// Cash, fen; total − fund − account when left out (3201 does not send it).
        var cash: Money?
    }

    struct TotalsInput: Codable, Sendable {
        var from: CivilDate
        var through: CivilDate
        /// `refd_setl_flag`: count refunds and reversals too (default true).
        var includeRefunds: Bool?
        var lines: [TotalsLineInput]
    }

    struct ApplicationInput: Codable, Sendable {
        var insuranceType: InsuranceType
        var from: CivilDate
        var through: CivilDate
    }

    struct BureauApplicationInput: Codable, Sendable {
        var institutionCode: String
        var insuranceType: InsuranceType
        var from: CivilDate
        var through: CivilDate
    }

    struct DeductionInput: Codable, Sendable {
        var settlementId: String?
        var amount: Money
        var reason: String
    }

    struct DayInput: Codable, Sendable {
        var day: CivilDate?
        /// Run again a day already closed (refreshes the kept result).
        var again: Bool?
    }

    struct ResolutionInput: Codable, Sendable {
        var resolution: String
    }

    struct PayoutInput: Codable, Sendable {
        var paid: Bool
        var bankReference: String?
        var failure: String?
    }

    func addRoutes(to routes: RouteRegistry) {
        addInstitutionRoutes(to: routes)
        addBureauRoutes(to: routes)
    }

    func addInstitutionRoutes(to routes: RouteRegistry) {
        routes.add(.post, "/v1/reconciliation/totals", .institution, "Totals reconciliation (3201): balanced or not, with both sides' figures") {
            request, context in
            var request = request
            let input = try await request.decodeJSON(TotalsInput.self, context: context)
            guard input.lines.count <= 64 else { throw Refusal.invalid("lines", "at most 64 lines") }
            let lines = input.lines.map { line in
                (
                    StatementKey(insuranceType: line.insuranceType, clearingType: line.clearingType),
                    StatementTotals(
                        count: line.count, total: line.total, fund: line.fund, account: line.account,
                        cash: line.cash ?? ClearingController.cash(line))
                )
            }
            return JSONResponse(
                try await platform.reconcileTotals(
                    institution: context.institution.code, period: try StatementPeriod(from: input.from, through: input.through),
                    includeRefunds: input.includeRefunds ?? true, lines: lines))
        }
        routes.add(
            .post, "/v1/reconciliation/details", .institution,
            "Detail reconciliation (3202): a tab-separated detail file in, the result file out (?from, through)"
        ) { request, context in
            var request = request
            let period = try ClearingController.period(request)
            let bytes = try await request.bodyBytes(context: context)
            guard let text = String(validating: bytes.readableBytesView, as: UTF8.self) else {
                throw Refusal.invalid("file", "the detail file is UTF-8 text")
            }
            let answer = try await platform.reconcileDetails(institution: context.institution.code, period: period, file: text)
            let balanced = answer.results.allSatisfy { $0.outcome == .match }
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/tab-separated-values; charset=utf-8", HTTPField.Name("Yibao-Statement-Result")!: balanced ? "0" : "1",
                ],
                body: .init(byteBuffer: ByteBuffer(string: answer.file)))
        }
        routes.add(.post, "/v1/clearings", .institution, "Apply for clearing of a period (3203); the same open application if applied already") {
            request, context in
            var request = request
            let input = try await request.decodeJSON(ApplicationInput.self, context: context)
            let result = try await platform.applyForClearing(
                institution: context.institution.code, insuranceType: input.insuranceType,
                period: try StatementPeriod(from: input.from, through: input.through),
                startedBy: Platform.actor(institution: context.institution.code))
            return JSONResponse(result.clearing, status: result.created ? .created : .ok)
        }
        routes.add(.get, "/v1/clearings", .institution, "This institution's clearings, newest first") { _, context in
            JSONResponse(try await platform.clearings(institution: context.institution.code, state: nil))
        }
        routes.add(.get, "/v1/clearings/{clearing_id}", .institution, "A clearing with the settlements it carries") { _, context in
            JSONResponse(try await platform.clearing(id: try context.parameters.require("clearing_id"), institution: context.institution.code))
        }
        routes.add(.delete, "/v1/clearings/{clearing_id}", .institution, "Cancel an application not yet approved (3204)") { _, context in
            JSONResponse(
                try await platform.cancelClearing(
                    id: try context.parameters.require("clearing_id"), institution: context.institution.code,
                    actor: Platform.actor(institution: context.institution.code)))
        }
    }

    func addBureauRoutes(to routes: RouteRegistry) {
        routes.add(.get, "/v1/admin/reconciliations", .operator(.viewer), "Reconciliations institutions ran, newest first (?institution)") {
            request, _ in
            JSONResponse(try await platform.reconciliations(institution: request.uri.queryParameters.get("institution")))
        }
        routes.add(.post, "/v1/admin/clearings", .operator(.operator), "Start a clearing for an institution and period") { request, context in
            var request = request
            let input = try await request.decodeJSON(BureauApplicationInput.self, context: context)
            let result = try await platform.applyForClearing(
                institution: input.institutionCode, insuranceType: input.insuranceType,
                period: try StatementPeriod(from: input.from, through: input.through), startedBy: "operator:" + context.operator.name)
            return JSONResponse(result.clearing, status: result.created ? .created : .ok)
        }
        routes.add(.get, "/v1/admin/clearings", .operator(.viewer), "Clearings, newest first (?state, institution)") { request, _ in
            let q = request.uri.queryParameters
            let state = try q.get("state").map { text -> ClearingState in
                guard let state = ClearingState(rawValue: text) else {
                    throw Refusal.invalid("state", "state is one of \(ClearingState.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return state
            }
            return JSONResponse(try await platform.clearings(institution: q.get("institution"), state: state))
        }
        routes.add(.get, "/v1/admin/clearings/{clearing_id}", .operator(.viewer), "A clearing with the settlements it carries") { _, context in
            JSONResponse(try await platform.clearing(id: try context.parameters.require("clearing_id"), institution: nil))
        }
        routes.add(
            .post, "/v1/admin/clearings/{clearing_id}/deductions", .operator(.operator),
            "Deduct an amount on one settlement or the whole clearing (审核扣款)"
        ) { request, context in
            var request = request
            let input = try await request.decodeJSON(DeductionInput.self, context: context)
            return JSONResponse(
                try await platform.deduct(
                    clearingID: try context.parameters.require("clearing_id"), settlementID: input.settlementId, amount: input.amount,
                    reason: input.reason, operatorName: context.operator.name))
        }
        routes.add(
            .post, "/v1/admin/clearings/{clearing_id}/approval", .operator(.administrator),
            "Approve: the deductions go back to the funds; the rest is ready to pay"
        ) { _, context in
            JSONResponse(try await platform.approveClearing(id: try context.parameters.require("clearing_id"), administrator: context.operator.name))
        }
        routes.add(
            .post, "/v1/admin/clearings/{clearing_id}/run", .operator(.administrator),
            "Run: the payable amount leaves the institution's clearing account for its bank account"
        ) { _, context in
            JSONResponse(try await platform.runClearing(id: try context.parameters.require("clearing_id"), administrator: context.operator.name))
        }
        routes.add(
            .post, "/v1/admin/clearings/{clearing_id}/payout", .operator(.operator),
            "The bank's answer: paid with its reference, or failed (the run is undone)"
        ) { request, context in
            var request = request
            let input = try await request.decodeJSON(PayoutInput.self, context: context)
            return JSONResponse(
                try await platform.recordPayout(
                    id: try context.parameters.require("clearing_id"), paid: input.paid, bankReference: input.bankReference,
                    failure: input.failure, operatorName: context.operator.name))
        }
        routes.add(.delete, "/v1/admin/clearings/{clearing_id}", .operator(.operator), "Cancel an application not yet approved") {
            _, context in
            JSONResponse(
                try await platform.cancelClearing(
                    id: try context.parameters.require("clearing_id"), institution: nil, actor: "operator:" + context.operator.name))
        }
        routes.add(
            .get, "/v1/admin/fund-report", .operator(.viewer),
            "The fund report of a period (?from, through; verify=true also verifies the ledger)"
        ) { request, _ in
            JSONResponse(
                try await platform.fundReport(
                    period: try ClearingController.period(request), verifyLedger: request.uri.queryParameters.get("verify") == "true"))
        }
        routes.add(.get, "/v1/admin/fund-report.csv", .operator(.viewer), "The fund report as CSV (same parameters)") { request, _ in
            let report = try await platform.fundReport(
                period: try ClearingController.period(request), verifyLedger: request.uri.queryParameters.get("verify") == "true")
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/csv; charset=utf-8",
                    .contentDisposition: "attachment; filename=\"yibao-fund-report-\(report.period.from)-\(report.period.through).csv\"",
                ],
                body: .init(byteBuffer: ByteBuffer(string: report.csv)))
        }
        routes.add(.get, "/v1/admin/exceptions", .operator(.viewer), "The exception queue (?state=open|resolved), oldest first") { request, _ in
            JSONResponse(try await platform.exceptions(state: request.uri.queryParameters.get("state") ?? "open"))
        }
        routes.add(
            .post, "/v1/admin/exceptions/{exception_id}/resolution", .operator(.operator), "Resolve an exception item, saying how (audited)"
        ) { request, context in
            var request = request
            let input = try await request.decodeJSON(ResolutionInput.self, context: context)
            return JSONResponse(
                try await platform.resolveException(
                    id: try context.parameters.require("exception_id"), resolution: input.resolution, operatorName: context.operator.name))
        }
        routes.add(
            .post, "/v1/admin/channel-reconciliation", .operator(.operator),
            "Three-way reconciliation of a day: the channel's statement against the ledger; breaks go to the exception queue"
        ) { request, context in
            var request = request
            let input = try await request.decodeJSON(DayInput.self, context: context)
            guard let day = input.day else { throw Refusal.invalid("day", "day is a date such as 2026-11-30") }
            return JSONResponse(try await platform.reconcileChannel(day: day))
        }
        routes.add(
            .post, "/v1/admin/daily-close", .operator(.operator),
            "Close a day (yesterday by default): channel reconciliation, exception scan, the day's fund report with the ledger verified"
        ) { request, context in
            var request = request
            let input = try await VisitController.optionalBody(DayInput.self, &request, context)
            return JSONResponse(try await platform.closeDay(input?.day, again: input?.again ?? false))
        }
        routes.add(
            .get, "/v1/admin/daily-closes", .operator(.viewer),
            "The days closed within from..through (at most 92 days), the latest first: each as the close answered it"
        ) { request, _ in
            JSONResponse(try await platform.dailyCloses(period: try ClearingController.period(request)))
        }
        routes.add(
            .get, "/v1/admin/calendar", .operator(.viewer),
            "Today by the platform's clock (China) and the day the installation went into service: the days the daily close covers"
        ) { _, _ in
            JSONResponse(try await platform.serviceDays())
        }
        routes.add(
            .get, "/v1/admin/payment-instructions.csv", .operator(.operator), "The bank's payment instruction file: every clearing being paid"
        ) { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"yibao-payment-instructions.csv\""],
                body: .init(byteBuffer: ByteBuffer(string: try await platform.paymentInstructions())))
        }
    }

    /// Cash when the institution does not send it: what neither fund nor account paid, refused when the
    /// figures are absurd.
    static func cash(_ line: TotalsLineInput) -> Money {
        let bound = Money.requestAmountMax.fen * 100
        guard [line.total, line.fund, line.account].allSatisfy({ $0.fen.magnitude <= UInt64(bound) }) else { return .zero }
        return line.total - line.fund - line.account
    }

    /// The `from` and `through` query parameters (dates, China time).
    static func period(_ request: Request) throws -> StatementPeriod {
        let q = request.uri.queryParameters
        guard let fromText = q.get("from"), let from = CivilDate(fromText) else { throw Refusal.invalid("from", "from is a date such as 2026-11-01") }
        guard let throughText = q.get("through"), let through = CivilDate(throughText) else {
            throw Refusal.invalid("through", "through is a date such as 2026-11-30")
        }
        return try StatementPeriod(from: from, through: through)
    }
}
