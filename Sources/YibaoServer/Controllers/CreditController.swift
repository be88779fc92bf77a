import Foundation
import Hummingbird
import YibaoApp
import YibaoCore
import YibaoStore

/// "Treat first, pay later": the patient's medical credit line, bills and repayments, the frictionless
/// authorisation; the bureau's partner terms, daily job and credit-report records.
struct CreditController {
    let platform: Platform
    let auth: PatientAuthCheck

    struct ApplyRequest: Codable, Sendable {
        var totpCode: String?
    }

    struct RepayBody: Codable, Sendable {
        var amount: Money
        var source: CreditRepayment.Source
        var fundingSourceId: String?
    }

    struct AuthoriseRequest: Codable, Sendable {
        var fundingSourceId: String?
        var priority: PaymentPriority
        var totpCode: String?
    }

    /// The patient's frictionless authorisation (nil when none is in force), with the words they sign.
    struct FrictionlessStatus: Codable, Sendable {
        var authorisation: FrictionlessAuthorisation?
        var consentText: String?
    }

    /// A partner's terms; the partner is the path's.
    struct TermsBody: Codable, Sendable {
        var partnerName: String
        var billingDay: Int
        var graceDays: Int
        var penaltyBasisPointsPerDay: Int
        var lateFee: Money
        var suspendAfterOverdueDays: Int
    }

    struct DailyRunRequest: Codable, Sendable {
        var date: CivilDate?
    }

    func addRoutes(to routes: RouteRegistry) {
        routes.add(.post, "/v1/patient/credit/lines", .patient, "Apply for a medical credit line; the partner bank decides at once") {
            request, context in
            var request = request
            let body = try await request.decodeJSON(ApplyRequest.self, context: context)
            try await auth.requireSecondFactor(body.totpCode, session: context.patient)
            return JSONResponse(try await platform.applyForCredit(person: context.patient.personNumber), status: .created)
        }
        routes.add(.get, "/v1/patient/credit/lines", .patient, "Your credit lines: limit, used, available, what is owed") { _, context in
            JSONResponse(try await platform.creditLines(person: context.patient.personNumber))
        }
        routes.add(.get, "/v1/patient/credit/lines/{line_id}", .patient, "A credit line with its bills") { _, context in
            JSONResponse(try await platform.creditLine(id: try context.parameters.require("line_id"), person: context.patient.personNumber))
        }
        routes.add(.get, "/v1/patient/credit/lines/{line_id}/entries", .patient, "This cycle's purchases and refunds, not yet on a bill") {
            _, context in
            JSONResponse(try await platform.creditUnbilled(line: try context.parameters.require("line_id"), person: context.patient.personNumber))
        }
        routes.add(.get, "/v1/patient/credit/bills/{bill_id}", .patient, "A bill with every entry on it") { _, context in
            JSONResponse(try await platform.creditBill(id: try context.parameters.require("bill_id"), person: context.patient.personNumber))
        }
        routes.add(.get, "/v1/patient/credit/lines/{line_id}/repayments", .patient, "Your repayments of a line") { _, context in
            JSONResponse(try await platform.creditRepayments(line: try context.parameters.require("line_id"), person: context.patient.personNumber))
        }
        routes.add(
            .post, "/v1/patient/credit/lines/{line_id}/repayments", .patient,
            "Repay in full or in part, from a card or the personal account; needs an Idempotency-Key"
        ) { request, context in
            let line = try context.parameters.require("line_id")
            // Someone else's line is not found, before anything about the request is judged.
            _ = try await platform.creditLine(id: line, person: context.patient.personNumber)
            var request = request
            let bytes = try await request.bodyBytes(context: context)
            let idempotency = try VisitController.idempotency(request, bytes)
            let body = try JSONBody.decode(RepayBody.self, from: bytes)
            return JSONResponse(
                try await platform.repayCredit(
                    person: context.patient.personNumber, line: line,
                    RepaymentRequest(amount: body.amount, source: body.source, fundingSourceId: body.fundingSourceId), idempotency: idempotency
                ),
                status: .created
            )
        }
        routes.add(.get, "/v1/patient/frictionless", .patient, "Your frictionless-payment authorisation, if one is in force") { _, context in
            let authorisation = try await platform.frictionlessAuthorisation(person: context.patient.personNumber)
            let sources = try await platform.fundingSources(person: context.patient.personNumber)
            let source = sources.first { $0.id == authorisation?.fundingSourceId }
            return JSONResponse(
                FrictionlessStatus(
                    authorisation: authorisation,
                    consentText: authorisation.map {
                        FrictionlessAuthorisation.consentText(priority: $0.priority, source: source.map { "\($0.bank) \($0.masked)" })
                    }
                )
            )
        }
        routes.add(
            .put, "/v1/patient/frictionless", .patient,
            "Sign the frictionless-payment authorisation: which source pays, in which order (authenticator code)"
        ) { request, context in
            var request = request
            let body = try await request.decodeJSON(AuthoriseRequest.self, context: context)
            try await auth.requireSecondFactor(body.totpCode, session: context.patient)
            let authorisation = try await platform.signFrictionless(
                person: context.patient.personNumber, fundingSourceID: body.fundingSourceId, priority: body.priority)
            let source = try await platform.fundingSources(person: context.patient.personNumber).first { $0.id == authorisation.fundingSourceId }
            return JSONResponse(
                FrictionlessStatus(
                    authorisation: authorisation,
                    consentText: FrictionlessAuthorisation.consentText(
                        priority: authorisation.priority, source: source.map { "\($0.bank) \($0.masked)" })
                )
            )
        }
        routes.add(.delete, "/v1/patient/frictionless", .patient, "Revoke frictionless payment, at once") { _, context in
            do {
                try await platform.revokeFrictionless(person: context.patient.personNumber)
            } catch let refusal as Refusal where refusal.code == .notFound {
                // Nothing in force: revoking is already done.
            }
            return Response(status: .noContent)
        }
        routes.add(.get, "/v1/admin/credit/partners", .operator(.viewer), "Partner banks' credit terms") { _, _ in
            JSONResponse(try await platform.creditTerms())
        }
        routes.add(.put, "/v1/admin/credit/partners/{partner}", .operator(.administrator), "Set a partner's terms (for lines opened from now on)") {
            request, context in
            var request = request
            let body = try await request.decodeJSON(TermsBody.self, context: context)
            let terms = CreditTerms(
                partner: try context.parameters.require("partner"), partnerName: body.partnerName, billingDay: body.billingDay,
                graceDays: body.graceDays,
                penaltyBasisPointsPerDay: body.penaltyBasisPointsPerDay, lateFee: body.lateFee, suspendAfterOverdueDays: body.suspendAfterOverdueDays
            )
            try await platform.saveCreditTerms(terms, actor: "operator:" + context.operator.name)
            return JSONResponse(terms)
        }
        routes.add(.post, "/v1/admin/credit/daily-run", .operator(.operator), "Run the daily credit job now (idempotent; the server runs it itself)")
        {
            request, context in
            var request = request
            let body = try await VisitController.optionalBody(DailyRunRequest.self, &request, context)
            return JSONResponse(try await platform.runCreditDay(date: body?.date))
        }
        routes.add(
            .get, "/v1/admin/credit/delinquency", .operator(.viewer),
            "Credit lines suspended or with bills past due on a day (?date=, today by default): how many, what they owe, since when"
        ) { request, _ in
            let day = try request.uri.queryParameters.get("date").map { text -> CivilDate in
                guard let day = CivilDate(text) else { throw Refusal.invalid("date", "date is YYYY-MM-DD") }
                return day
            }
            return JSONResponse(try await platform.creditDelinquency(on: day))
        }
        routes.add(.get, "/v1/admin/credit/reports", .operator(.viewer), "Credit-report records (overdue and repaid), newest first") { _, _ in
            JSONResponse(try await platform.creditReports())
        }
    }
}
