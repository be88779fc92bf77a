import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import YibaoApp
import YibaoCore
import YibaoStore

/// The bureau's operators: institutions and their keys, policies, the catalogue, enrolment, the
/// ledger. Each route declares the least role that may call it.
struct AdminController {
    let platform: Platform
    /// Manual adjustments (opening balances included) above this need a second administrator.
    let adjustmentApprovalThreshold: Money

    struct AdjustmentInput: Codable, Sendable {
        /// Fen added (positive) or taken back (negative).
        var amount: Money
        var reason: String
    }

    struct AuthenticatorResetInput: Codable, Sendable {
        /// The ID number on the document the person showed (checked against the enrolment).
        var idNumber: String
        var reason: String
    }

    struct OperatorMe: Codable, Sendable {
        var name: String
        var role: OperatorRole
    }

    struct RoleInput: Codable, Sendable {
        /// The new role.
        var role: OperatorRole
    }

    struct OperatorInput: Codable, Sendable {
        /// The login name: letters, digits, dots, underscores, hyphens.
        var name: String
        var role: OperatorRole
    }

    struct InstitutionInput: Codable, Sendable {
        var name: String
        var region: RegionCode
        var level: HospitalLevel
        var kind: InstitutionKind?
        /// The bank account clearing pays into.
        var payoutAccount: String?
    }

    struct EnrolmentInput: Codable, Sendable {
        var number: String
        var name: String
        var idNumber: String
        var region: RegionCode
        var insuranceType: InsuranceType
        var retired: Bool?
        var phone: String?
        var crossRegionFiling: CrossRegionFiling?
        /// Opening personal-account balance in fen.
        var openingBalance: Money?
    }

    /// A person as operators see them: personal data masked.
    struct PersonView: Codable, Sendable {
        var number: String
        var nameMasked: String
        var idNumberMasked: String
        var phoneMasked: String?
        var birthDate: CivilDate
        var region: RegionCode
        var insuranceType: InsuranceType
        var personType: String
        var retired: Bool
        var status: InsuranceStatus
        var crossRegionFiling: CrossRegionFiling
        var accountBalance: Money
        var accountHeld: Money
        /// At enrolment: the opening balance as a manual adjustment (posted, or waiting for a second administrator).
        var openingBalanceAdjustment: AccountAdjustment?

        init(_ person: Person, balance: Money, held: Money, openingBalanceAdjustment: AccountAdjustment? = nil) {
            self.openingBalanceAdjustment = openingBalanceAdjustment
            number = person.number
            nameMasked = Masking.name(person.name)
            idNumberMasked = Masking.idNumber(person.idNumber)
            phoneMasked = person.phone.map(Masking.phone)
            birthDate = person.birthDate
            region = person.region
            insuranceType = person.insuranceType
            personType = person.personType
            retired = person.retired
            status = person.status
            crossRegionFiling = person.crossRegionFiling
            accountBalance = balance
            accountHeld = held
        }
    }

    /// The result of an import: what was accepted, and every rejected row with its line.
    struct ImportReport: Codable, Sendable {
        var received: Int
        var accepted: Int
        var created: Int
        var updated: Int
        var rejected: [ReferenceFiles.Rejection]
    }

    struct AccountView: Codable, Sendable {
        var id: String
        var balance: Money
    }

    struct SavedPolicies: Codable, Sendable {
        var region: RegionCode
        var year: Int
        var saved: [InsuranceType]
    }

    func addRoutes(to routes: RouteRegistry) {
        routes.add(.get, "/v1/admin/institutions", .operator(.viewer), "List institutions") { _, _ in
            JSONResponse(try await platform.institutions())
        }
        routes.add(.put, "/v1/admin/institutions/{code}", .operator(.administrator), "Create or update an institution") { request, context in
            var request = request
            let input = try await request.decodeJSON(InstitutionInput.self, context: context)
            let institution = Institution(
                code: try context.parameters.require("code"), name: input.name, region: input.region, level: input.level,
                kind: input.kind ?? .hospital, payoutAccount: input.payoutAccount
            )
            let created = try await platform.saveInstitution(institution, actor: "operator:" + context.operator.name)
            return JSONResponse(institution, status: created ? .created : .ok)
        }
        routes.add(.post, "/v1/admin/institutions/{code}/keys", .operator(.administrator), "Issue an API key (earlier keys expire after 7 days)") {
            _, context in
            JSONResponse(
                try await platform.issueInstitutionKey(code: try context.parameters.require("code"), actor: "operator:" + context.operator.name),
                status: .created, headers: [.cacheControl: "no-store"]
            )
        }
        routes.add(.get, "/v1/admin/policies", .operator(.viewer), "List policies") { _, _ in
            JSONResponse(try await platform.policies())
        }
        routes.add(.put, "/v1/admin/policies/{region}/{year}", .operator(.administrator), "Save a region's policies for a year") { request, context in
            var request = request
            let file = try await request.decodeJSON(ReferenceFiles.PolicyFile.self, context: context)
            let region = try context.parameters.require("region")
            let year = try context.parameters.require("year", as: Int.self)
            guard file.region.value == region, file.year == year else {
                throw Refusal.invalid("region", "the file is for \(file.region) \(file.year) but the path says \(region) \(year)")
            }
            if let problem = file.problems().first { throw Refusal.invalid(problem.field, problem.message) }
            try await platform.savePolicies(file.policies, actor: "operator:" + context.operator.name)
            return JSONResponse(SavedPolicies(region: file.region, year: file.year, saved: file.policies.map(\.insuranceType)))
        }
        routes.add(.get, "/v1/admin/policies/{region}/{year}/{insurance_type}", .operator(.viewer), "A policy") { _, context in
            guard let region = RegionCode(try context.parameters.require("region")),
                let type = InsuranceType(rawValue: try context.parameters.require("insurance_type"))
            else { throw Refusal(.notFound, "no such policy") }
            guard let policy = try await platform.policy(region: region, type: type, year: try context.parameters.require("year", as: Int.self))
            else {
                throw Refusal(.notFound, "no policy for \(region) \(type.rawValue)")
            }
            return JSONResponse(policy)
        }
        routes.add(.get, "/v1/admin/plans", .operator(.viewer), "List commercial plans (惠民保), per region and year") { _, _ in
            JSONResponse(try await platform.commercialPlans())
        }
        routes.add(.put, "/v1/admin/plans/{region}/{year}", .operator(.administrator), "Save a region's commercial plan for a year") {
            request, context in
            var request = request
            let plan = try await request.decodeJSON(CommercialPlan.self, context: context)
            let region = try context.parameters.require("region")
            let year = try context.parameters.require("year", as: Int.self)
            guard plan.region.value == region, plan.year == year else {
                throw Refusal.invalid("region", "the plan is for \(plan.region) \(plan.year) but the path says \(region) \(year)")
            }
            try await platform.saveCommercialPlan(plan, actor: "operator:" + context.operator.name)
            return JSONResponse(plan)
        }
        routes.add(.get, "/v1/admin/plans/{region}/{year}", .operator(.viewer), "A region's commercial plan for a year") { _, context in
            guard let region = RegionCode(try context.parameters.require("region")),
                let plan = try await platform.commercialPlan(region: region, year: try context.parameters.require("year", as: Int.self))
            else { throw Refusal(.notFound, "no commercial plan for that region and year") }
            return JSONResponse(plan)
        }
        routes.add(
            .get, "/v1/admin/plans/{region}/{year}/claims", .operator(.viewer),
            "What the plan paid per settlement, with the lines (?from, through): the insurer's claims report"
        ) { request, context in
            guard let region = RegionCode(try context.parameters.require("region")) else {
                throw Refusal(.notFound, "no commercial plan for that region and year")
            }
            return JSONResponse(
                try await platform.planClaims(
                    region: region, year: try context.parameters.require("year", as: Int.self), period: try ClearingController.period(request)))
        }
        routes.add(.post, "/v1/admin/catalogue", .operator(.operator), "Import catalogue items from CSV (text/csv body)") { request, context in
            var request = request
            let bytes = try await request.bodyBytes(context: context)
            let text = String(decoding: bytes.readableBytesView, as: UTF8.self)
            let parsed: (items: [CatalogueItem], rejected: [ReferenceFiles.Rejection])
            do {
                parsed = try ReferenceFiles.catalogue(text)
            } catch {
                throw Refusal.invalid("body", "\(error)")
            }
            let created = parsed.items.isEmpty ? 0 : try await platform.importCatalogue(parsed.items, actor: "operator:" + context.operator.name)
            return JSONResponse(
                ImportReport(
                    received: parsed.items.count + parsed.rejected.count, accepted: parsed.items.count, created: created,
                    updated: parsed.items.count - created, rejected: parsed.rejected
                )
            )
        }
        routes.add(.get, "/v1/admin/catalogue/{region}/{code}", .operator(.viewer), "A catalogue item") { _, context in
            guard let region = RegionCode(try context.parameters.require("region")),
                let item = try await platform.catalogueItem(region: region, code: try context.parameters.require("code"))
            else { throw Refusal(.notFound, "no such catalogue item") }
            return JSONResponse(item)
        }
        routes.add(.post, "/v1/admin/people", .operator(.operator), "Enrol a person (参保登记)") { request, context in
            var request = request
            let input = try await request.decodeJSON(EnrolmentInput.self, context: context)
            guard let birth = IDNumber.birthDate(input.idNumber.uppercased()), IDNumber.isValid(input.idNumber) else {
                throw Refusal.invalid("id_number", "id_number must be an 18-character resident ID number with a valid check digit")
            }
            let person = Person(
                number: input.number, name: input.name, idNumber: input.idNumber.uppercased(), birthDate: birth, region: input.region,
                insuranceType: input.insuranceType, retired: input.retired ?? false, crossRegionFiling: input.crossRegionFiling ?? .none,
                phone: input.phone
            )
            let opening = input.openingBalance ?? .zero
            if opening != .zero && context.operator.role != .administrator {
                throw Refusal(
                    .forbidden,
                    "an opening balance is money the bureau creates: an administrator enrols with one (or adds it later as an adjustment)",
                    field: "opening_balance")
            }
            let adjustment = try await platform.enrol(
                person, openingBalance: opening, requestedBy: "operator:" + context.operator.name, threshold: adjustmentApprovalThreshold)
            let balance = try await platform.accountBalance(of: person.number)
            return JSONResponse(
                PersonView(person, balance: balance.balance, held: balance.held, openingBalanceAdjustment: adjustment), status: .created)
        }
        routes.add(.get, "/v1/admin/people/{number}", .operator(.viewer), "A person, personal data masked") { _, context in
            let number = try context.parameters.require("number")
            guard let person = try await platform.person(number: number) else { throw Refusal(.notFound, "no person has number \(number)") }
            try await platform.audit(actor: "operator:" + context.operator.name, action: "person.view", subject: number)
            let balance = try await platform.accountBalance(of: number)
            return JSONResponse(PersonView(person, balance: balance.balance, held: balance.held))
        }
        addAccessRoutes(to: routes)
        routes.add(.get, "/v1/admin/ledger/verification", .operator(.viewer), "Verify the whole ledger (like yibao verify-ledger)") { _, _ in
            JSONResponse(try await platform.verifyLedger())
        }
        routes.add(.get, "/v1/admin/audit/verification", .operator(.viewer), "Verify the hash-chained audit log (like yibao verify-audit)") {
            request, _ in
            let anchors = (request.uri.queryParameters.get("anchor") ?? "").split(separator: ",").compactMap { AuditReport.Head(String($0)) }
            return JSONResponse(try await platform.verifyAudit(anchors: anchors))
        }
        routes.add(.get, "/v1/admin/accounts/{account_id}", .operator(.viewer), "An account's balance, e.g. fund:440100-310-310100") { _, context in
            let id = try context.parameters.require("account_id")
            guard let account = AccountID(key: id) else { throw Refusal(.notFound, "no account \(id)") }
            return JSONResponse(AccountView(id: account.key, balance: try await platform.balance(of: account)))
        }
    }

    /// Who may get in, and money the bureau moves by hand: operators and their tokens, institution keys,
    /// patients' authenticator resets, manual account adjustments with a second administrator's approval.
    func addAccessRoutes(to routes: RouteRegistry) {
        routes.add(.get, "/v1/admin/me", .operator(.viewer), "The operator calling: name and role (what the dashboard shows them)") { _, context in
            JSONResponse(OperatorMe(name: context.operator.name, role: context.operator.role))
        }
        routes.add(.get, "/v1/admin/operators", .operator(.administrator), "Operators, their roles and live tokens") { _, _ in
            JSONResponse(try await platform.operators())
        }
        routes.add(.post, "/v1/admin/operators", .operator(.administrator), "Create an operator; its first token is in the answer, once") {
            request, context in
            var request = request
            let input = try await request.decodeJSON(OperatorInput.self, context: context)
            let credential = try await platform.createOperator(name: input.name, role: input.role, actor: "operator:" + context.operator.name)
            return JSONResponse(credential, status: .created, headers: [.cacheControl: "no-store"])
        }
        routes.add(
            .post, "/v1/admin/operators/{name}/tokens", .operator(.administrator),
            "Issue a new token for an operator (after a revocation, or a lost one); shown once"
        ) { _, context in
            let credential = try await platform.issueOperatorToken(
                name: try context.parameters.require("name"), actor: "operator:" + context.operator.name)
            return JSONResponse(credential, status: .created, headers: [.cacheControl: "no-store"])
        }
        routes.add(
            .put, "/v1/admin/operators/{name}/role", .operator(.administrator), "Change an operator's role (not your own); their tokens keep working"
        ) { request, context in
            var request = request
            let input = try await request.decodeJSON(RoleInput.self, context: context)
            let name = try context.parameters.require("name")
            try await platform.changeOperatorRole(name: name, to: input.role, actor: "operator:" + context.operator.name)
            return Response(status: .noContent)
        }
        routes.add(.post, "/v1/admin/operators/{name}/disable", .operator(.administrator), "Disable an operator: every token stops at once") {
            _, context in
            try await platform.disableOperator(name: try context.parameters.require("name"), actor: "operator:" + context.operator.name)
            return Response(status: .noContent)
        }
        routes.add(.post, "/v1/admin/operators/{name}/token-revocation", .operator(.administrator), "Revoke every token of an operator") {
            _, context in
            try await platform.revokeOperatorTokens(name: try context.parameters.require("name"), actor: "operator:" + context.operator.name)
            return Response(status: .noContent)
        }
        routes.add(.get, "/v1/admin/institutions/{code}/keys", .operator(.administrator), "An institution's API keys (never their secrets)") {
            _, context in
            JSONResponse(try await platform.institutionKeys(code: try context.parameters.require("code")))
        }
        routes.add(.delete, "/v1/admin/institutions/{code}/keys/{key_id}", .operator(.administrator), "Revoke an institution's key at once") {
            _, context in
            try await platform.revokeInstitutionKey(
                code: try context.parameters.require("code"), keyID: try context.parameters.require("key_id"),
                actor: "operator:" + context.operator.name)
            return Response(status: .noContent)
        }
        routes.add(
            .post, "/v1/admin/people/{number}/authenticator-reset", .operator(.operator),
            "Reset a patient's authenticator after checking their ID document in person (audited)"
        ) { request, context in
            var request = request
            let input = try await request.decodeJSON(AuthenticatorResetInput.self, context: context)
            try await platform.resetAuthenticator(
                person: try context.parameters.require("number"), idNumber: input.idNumber, reason: input.reason, operatorName: context.operator.name)
            return Response(status: .noContent)
        }
        routes.add(
            .post, "/v1/admin/people/{number}/adjustments", .operator(.administrator),
            "Adjust a personal account by hand; above the threshold a second administrator approves; needs an Idempotency-Key"
        ) { request, context in
            var request = request
            let bytes = try await request.bodyBytes(context: context)
            let idempotency = try VisitController.idempotency(request, bytes)
            let input = try JSONBody.decode(AdjustmentInput.self, from: bytes)
            let adjustment = try await platform.requestAdjustment(
                person: try context.parameters.require("number"), amount: input.amount, reason: input.reason,
                actor: "operator:" + context.operator.name, threshold: adjustmentApprovalThreshold, idempotency: idempotency)
            return JSONResponse(adjustment, status: adjustment.state == .posted ? .created : .accepted)
        }
        routes.add(.get, "/v1/admin/adjustments", .operator(.viewer), "Manual adjustments (?state=pending)") { request, _ in
            let state = try request.uri.queryParameters.get("state").map { text -> AccountAdjustment.State in
                guard let state = AccountAdjustment.State(rawValue: text) else {
                    throw Refusal.invalid("state", "state is pending, posted or rejected")
                }
                return state
            }
            return JSONResponse(try await platform.adjustments(state: state))
        }
        routes.add(.post, "/v1/admin/adjustments/{adjustment_id}/approval", .operator(.administrator), "A second administrator approves: posted") {
            _, context in
            JSONResponse(
                try await platform.approveAdjustment(id: try context.parameters.require("adjustment_id"), actor: "operator:" + context.operator.name))
        }
        routes.add(
            .post, "/v1/admin/adjustments/{adjustment_id}/rejection", .operator(.administrator), "A second administrator rejects: nothing posted"
        ) {
            _, context in
            JSONResponse(
                try await platform.rejectAdjustment(id: try context.parameters.require("adjustment_id"), actor: "operator:" + context.operator.name))
        }
    }
}
