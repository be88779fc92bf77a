import Foundation
import HTTPTypes
import Hummingbird
import YibaoApp
import YibaoCore
import YibaoStore

/// An institution's staff at the counter: sign-in (password and authenticator), their accounts
/// (managed by the institution's manager, or by an administrator), and what the cashier console reads
/// besides the settlement routes — the catalogue search and the day's settlements.
struct StaffController {
    let platform: Platform
    let auth: PatientAuth
    let limiter: RateLimiter

    struct SignInRequest: Codable, Sendable {
        /// 定点医药机构编号 `fixmedins_code`.
        var institutionCode: String
        var name: String
        var password: String
        var totpCode: String?
    }

    struct SignedIn: Codable, Sendable {
        var token: String
        var sessionId: String
        var expiresAt: Instant
        var staff: StaffView
    }

    /// The signed-in staff member as the console shows them.
    struct StaffView: Codable, Sendable {
        var institutionCode: String
        var institutionName: String
        var name: String
        var displayName: String
        var role: StaffRole
        var expiresAt: Instant

        init(_ session: StaffSession) {
            institutionCode = session.institution.code
            institutionName = session.institution.name
            name = session.name
            displayName = session.displayName
            role = session.role
            expiresAt = session.expiresAt
        }
    }

    struct NewMember: Codable, Sendable {
        var name: String
        var displayName: String
        var role: StaffRole
        /// The first password (at least 10 characters with a letter and a digit).
        var password: String
    }

    /// A created account: the authenticator key is shown once, to be added to the member's app.
    struct CreatedMember: Codable, Sendable {
        var member: StaffMember
        var totpSecret: String
        var otpauthUri: String
    }

    func addRoutes(to routes: RouteRegistry) {
        routes.add(.post, "/v1/staff/sessions", .anyone, "Staff sign-in: institution, name, password and authenticator code") {
            request, context in
            var request = request
            let body = try await request.decodeJSON(SignInRequest.self, context: context)
            let key = body.institutionCode + "/" + body.name
            try limiter.check("staff-sign-in:" + key, Limits.signInsPerPhone, what: "sign-in attempts")
            let now = platform.clock.now()
            guard let credentials = try await platform.staffCredentials(institution: body.institutionCode, name: body.name),
                credentials.member.disabledAt == nil
            else {
                _ = try await auth.hash(body.password)  // as slow as a real check: the answer does not tell whether the name exists
                throw Refusal(.signInFailed, "the name, password or authenticator code is wrong")
            }
            let step = try await auth.checkSignIn(
                password: body.password, hash: credentials.passwordHash, totpSecret: credentials.totpSecret, code: body.totpCode,
                lastStep: credentials.totpLastStep, lockedUntil: credentials.lockedUntil, now: now,
                wrong: "the name, password or authenticator code is wrong"
            ) { try await platform.recordStaffSignInFailure(institution: body.institutionCode, name: body.name) }
            let (token, session) = try await platform.openStaffSession(institution: body.institutionCode, name: body.name, totpStep: step)
            return JSONResponse(
                SignedIn(token: token, sessionId: session.id, expiresAt: session.expiresAt, staff: StaffView(session)), status: .created)
        }
        routes.add(.get, "/v1/staff/me", .staff, "The signed-in staff member and their institution") { _, context in
            JSONResponse(StaffView(context.staff))
        }
        routes.add(.delete, "/v1/staff/sessions/current", .staff, "Sign out") { _, context in
            try await platform.endStaffSession(context.staff)
            return Response(status: .noContent)
        }
        routes.add(.get, "/v1/staff/members", .staffManager, "The institution's staff") { _, context in
            JSONResponse(try await platform.staffMembers(institution: context.staff.institution.code))
        }
        routes.add(.post, "/v1/staff/members", .staffManager, "Create a staff account; the authenticator key is shown once") {
            request, context in
            var request = request
            let body = try await request.decodeJSON(NewMember.self, context: context)
            return JSONResponse(
                try await create(body, institution: context.staff.institution.code, actor: context.staff.actor), status: .created)
        }
        routes.add(.post, "/v1/staff/members/{name}/disable", .staffManager, "Disable a staff account: its sessions end at once") {
            _, context in
            let name = try context.parameters.require("name")
            guard name != context.staff.name else { throw Refusal(.forbidden, "a manager cannot disable their own account") }
            try await platform.disableStaff(institution: context.staff.institution.code, name: name, actor: context.staff.actor)
            return Response(status: .noContent)
        }
        routes.add(.get, "/v1/admin/institutions/{code}/staff", .operator(.viewer), "An institution's staff") { _, context in
            JSONResponse(try await platform.staffMembers(institution: try context.parameters.require("code")))
        }
        routes.add(
            .post, "/v1/admin/institutions/{code}/staff", .operator(.administrator),
            "Create a staff account of an institution (its first manager); the authenticator key is shown once"
        ) { request, context in
            var request = request
            let body = try await request.decodeJSON(NewMember.self, context: context)
            return JSONResponse(
                try await create(body, institution: try context.parameters.require("code"), actor: "operator:" + context.operator.name),
                status: .created)
        }
        routes.add(.post, "/v1/admin/institutions/{code}/staff/{name}/disable", .operator(.administrator), "Disable a staff account") {
            _, context in
            try await platform.disableStaff(
                institution: try context.parameters.require("code"), name: try context.parameters.require("name"),
                actor: "operator:" + context.operator.name)
            return Response(status: .noContent)
        }
        addCounterRoutes(to: routes)
    }

    /// An institution's estimate: for a person, at this institution.
    struct InstitutionEstimate: Codable, Sendable {
        var personNumber: String
        var category: MedicalCategory
        var lines: [FeeLine]?
        var amounts: [EstimateRequest.ClassAmount]?
        var useAccount: Bool?
    }

    func addCounterRoutes(to routes: RouteRegistry) {
        routes.add(.get, "/v1/catalogue", .institution, "Search this institution's catalogue by code prefix or name (?q=, limit)") {
            request, context in
            let query = request.uri.queryParameters.get("q") ?? ""
            guard query.count <= 64 else { throw Refusal.invalid("q", "a search is at most 64 characters") }
            let limit = try request.uri.queryParameters.get("limit").map { text -> Int in
                guard let value = Int(text), (1...50).contains(value) else { throw Refusal.invalid("limit", "limit is 1 to 50") }
                return value
            }
            return JSONResponse(try await platform.searchCatalogue(region: context.institution.region, query: query, limit: limit ?? 20))
        }
        routes.add(
            .post, "/v1/estimates", .institution,
            "Estimate what a settlement of these items would pay a person now (报销测算); nothing is locked or written"
        ) { request, context in
            var request = request
            let body = try await request.decodeJSON(InstitutionEstimate.self, context: context)
            let asked = EstimateRequest(
                institutionCode: context.institution.code, category: body.category, lines: body.lines, amounts: body.amounts,
                useAccount: body.useAccount)
            return JSONResponse(try await platform.estimate(person: body.personNumber, asked))
        }
        routes.add(.get, "/v1/visits", .institution, "This institution's visits waiting to be settled (open), newest first") { _, context in
            JSONResponse(try await platform.openVisits(institution: context.institution))
        }
        routes.add(
            .get, "/v1/settlements", .institution,
            "This institution's settlements, refunds and reversals of a day (?day=, today by default), with the net"
        ) { request, context in
            let day: CivilDate
            if let text = request.uri.queryParameters.get("day") {
                guard let parsed = CivilDate(text) else { throw Refusal.invalid("day", "day is a date, YYYY-MM-DD") }
                day = parsed
            } else {
                day = ChinaTime.date(platform.clock.now())
            }
            return JSONResponse(try await platform.counterDay(institution: context.institution, day: day))
        }
    }

    private func create(_ body: NewMember, institution: String, actor: String) async throws -> CreatedMember {
        try StaffMember.validateName(body.name)
        if let problem = PasswordPolicy.problem(body.password, loginName: body.name) {
            throw Refusal(.weakPassword, problem, field: "password")
        }
        let secret = AuthenticatorCode.newSecret()
        let member = try await platform.createStaff(
            institution: institution, name: body.name, displayName: body.displayName, role: body.role,
            passwordHash: try await auth.hash(body.password), totpSecret: secret, actor: actor)
        return CreatedMember(
            member: member, totpSecret: AuthenticatorCode.manualKey(secret),
            otpauthUri: AuthenticatorCode.otpauthURI(secret: secret, label: "Yibao:\(institution)/\(body.name)"))
    }
}
