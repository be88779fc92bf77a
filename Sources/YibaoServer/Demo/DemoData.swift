import Foundation
import Hummingbird
import HummingbirdBcrypt
import Logging
import YibaoApp
import YibaoCore
import YibaoSandbox
import YibaoStore

/// The demo: two regions' policies (Guangzhou 440100, Lanzhou 620100) for last year, this year and
/// next year by the platform's clock, institutions of every level, a few hundred catalogue items per region,
/// enrolled employees, retirees, residents and a cross-region patient — and credentials that are
/// published in the README, so the walkthrough works verbatim. Loaded once, on the first start of an
/// empty database with `--demo`; later starts add the years the clock has reached.
public enum DemoData {
    /// The demo administrator's token (public: demo only).
    public static let operatorToken = "op_demo_administrator_token"
    /// The demo institutions' secret; each key id is `Kdemo-<institution code>` (public: demo only).
    public static let institutionSecret = "demo-secret"

    /// The demo viewer's and (plain) operator's tokens (public: demo only): the bureau dashboard shows
    /// each role only what it may do.
    public static let viewerToken = "op_demo_viewer_token"
    public static let plainOperatorToken = "op_demo_operator_token"
    /// The institution whose demo staff sign in to the cashier console (广州示例市第二人民医院, level 3).
    public static let staffInstitution = "H44010000004"
    /// The demo staff's password (public: demo only).
    public static let staffPassword = "Demo-counter-2026"
    /// The demo staff: login name, display name, role, and the authenticator key (public: demo only;
    /// the base32 form goes into an authenticator app).
    public static let staff: [(name: String, displayName: String, role: StaffRole, totpSecret: String)] = [
        ("demo-cashier", "李收款", .cashier, "yibao-demo-cashier-key"),
        ("demo-manager", "陈主管", .manager, "yibao-demo-manager-key"),
    ]

    /// The token of a demo institution, e.g. `Kdemo-H44010000004.demo-secret`.
    public static func institutionToken(_ code: String) -> String { "Kdemo-\(code).\(institutionSecret)" }

    /// What was loaded.
    public struct Summary: Sendable, CustomStringConvertible {
        public var policies = 0
        public var institutions = 0
        public var catalogueItems = 0
        public var people = 0
        public var cards = 0
        public var description: String {
            "\(policies) policies, \(institutions) institutions, \(catalogueItems) catalogue items, \(people) people, \(cards) sandbox bank cards"
        }
    }

    /// The sandbox debit card of the n-th demo person (0-based, in people.csv order), 5,000 yuan on it:
    /// 张伟's is `6228480000000000` plus its check digit.
    public static func cardNumber(_ index: Int) -> String {
        let body = "622848" + String(format: "%09d", index)
        return body + String(Luhn.checkDigit(body))
    }

    /// The bundled demo file at a path under `demo/`.
    public static func file(_ path: String) throws -> String {
        guard let base = Bundle.module.resourceURL?.appendingPathComponent("Assets/demo") else {
            throw StoreError.configuration("the demo data is missing from this build")
        }
        return try String(contentsOf: base.appendingPathComponent(path), encoding: .utf8)
    }

    /// The regions of the demo.
    static let regions = ["440100", "620100"]
    /// The years the bundled policy files carry figures for (a later year repeats the newest).
    static let fileYears = 2026...2027

    /// The demo's policies of a region for any year: the figures of the bundled file for that year (the
    /// nearest one outside 2026–2027), relabelled — the year, the titles, and the contribution windows
    /// moved by the same number of years. The demo therefore never runs out of policies as time passes.
    public static func policies(region: String, year: Int) throws -> ReferenceFiles.PolicyFile {
        let source = min(max(year, fileYears.lowerBound), fileYears.upperBound)
        var file = try YibaoJSON.decode(ReferenceFiles.PolicyFile.self, from: try DemoData.file("policies/\(region)-\(source).json"))
        let shift = year - source
        file.year = year
        file.policies = file.policies.map { template in
            var policy = template
            policy.year = year
            policy.title = template.title.replacingOccurrences(of: String(source), with: String(year))
            policy.premiums = template.premiums?.map { schedule in
                var moved = schedule
                moved.opens = schedule.opens.flatMap { CivilDate(year: $0.year + shift, month: $0.month, day: $0.day) }
                moved.closes = schedule.closes.flatMap { CivilDate(year: $0.year + shift, month: $0.month, day: $0.day) }
                return moved
            }
            return policy
        }
        return file
    }

    /// The demo's commercial plan of a region for any year: the bundled template (written for 2026)
    /// relabelled — the year, the id and the enrolment window moved by the same number of years.
    public static func plan(region: String, year: Int) throws -> CommercialPlan {
        var plan = try YibaoJSON.decode(CommercialPlan.self, from: try DemoData.file("plans/\(region).json"))
        let shift = year - plan.year
        plan.id = plan.id.replacingOccurrences(of: String(plan.year), with: String(year))
        plan.year = year
        plan.enrolmentOpens = plan.enrolmentOpens.flatMap { CivilDate(year: $0.year + shift, month: $0.month, day: $0.day) }
        plan.enrolmentCloses = plan.enrolmentCloses.flatMap { CivilDate(year: $0.year + shift, month: $0.month, day: $0.day) }
        return plan
    }

    /// Saves the demo policies of last year, this year and next year (by the platform's clock) that are not
    /// there yet; returns how many were saved.
    @discardableResult
    public static func ensurePolicies(into platform: Platform) async throws -> Int {
        let year = ChinaTime.date(platform.clock.now()).year
        var saved = 0
        for region in regions {
            for target in (year - 1)...(year + 1) {
                let file = try policies(region: region, year: target)
                if let problem = file.problems().first {
                    throw StoreError.configuration("demo policy \(region) \(target): \(problem.field) \(problem.message)")
                }
                for policy in file.policies where try await platform.policy(region: policy.region, type: policy.insuranceType, year: target) == nil {
                    try await platform.savePolicy(policy)
                    saved += 1
                }
                let plan = try plan(region: region, year: target)
                if try await platform.commercialPlan(region: plan.region, year: target) == nil {
                    try await platform.saveCommercialPlan(plan)
                }
            }
        }
        return saved
    }

    /// Loads the demo into an empty platform; on a platform that has it, only adds the policies of the years
    /// the clock reached (returns nil then).
    public static func loadIfEmpty(into platform: Platform, logger: Logger) async throws -> Summary? {
        guard try await platform.institutions().isEmpty else {
            let added = try await ensurePolicies(into: platform)
            if added > 0 { logger.notice("demo policies added for the current years", metadata: ["policies": "\(added)"]) }
            return nil
        }
        var summary = Summary()
        summary.policies = try await ensurePolicies(into: platform)
        let institutions = try ReferenceFiles.institutions(try DemoData.file("institutions.csv"))
        for var institution in institutions.items {
            // Demo only: a made-up bank account reference, so clearings can be run and paid end to end.
            institution.payoutAccount = "DEMO-BANK-\(institution.code)"
            try await platform.saveInstitution(institution)
            try await platform.installInstitutionKey(code: institution.code, keyID: "Kdemo-\(institution.code)", secret: institutionSecret)
        }
        summary.institutions = institutions.items.count
        for region in ["440100", "620100"] {
            let catalogue = try ReferenceFiles.catalogue(try DemoData.file("catalogue-\(region).csv"))
            guard catalogue.rejected.isEmpty else { throw StoreError.configuration("demo catalogue \(region): \(catalogue.rejected[0])") }
            _ = try await platform.importCatalogue(catalogue.items)
            summary.catalogueItems += catalogue.items.count
        }
        let people = try ReferenceFiles.people(try DemoData.file("people.csv"))
        guard people.rejected.isEmpty else { throw StoreError.configuration("demo people: \(people.rejected[0])") }
        summary.people = try await platform.enrol(people.items.map { ($0.person, $0.openingBalance) })
        if let bank = platform.sandbox {
            for (index, entry) in people.items.enumerated() {
                _ = try await bank.issueCard(
                    holderIDNumber: entry.person.idNumber, holderName: entry.person.name, kind: .debit, balance: .yuan(5000),
                    number: DemoData.cardNumber(index)
                )
            }
            summary.cards = people.items.count
        }
        _ = try await platform.createOperator(name: "demo-admin", role: .administrator, token: operatorToken)
        _ = try await platform.createOperator(name: "demo-operator", role: .operator, token: plainOperatorToken)
        _ = try await platform.createOperator(name: "demo-viewer", role: .viewer, token: viewerToken)
        let passwordHash = Bcrypt.hash(staffPassword, cost: 8)  // the password is published: no point in a slow hash, and tests load the demo often
        for member in staff {
            _ = try await platform.createStaff(
                institution: staffInstitution, name: member.name, displayName: member.displayName, role: member.role, passwordHash: passwordHash,
                totpSecret: member.totpSecret, actor: "system:demo")
        }
        logger.notice("demo data loaded", metadata: ["summary": "\(summary)"])
        return summary
    }
}

extension DemoData {
    /// The demo's published sign-ins, for the front door (`serve --demo` only; not in /openapi.json).
    struct SignIns: Codable, Sendable {
        struct Staff: Codable, Sendable {
            var institutionCode: String
            var name: String
            var displayName: String
            var role: StaffRole
            var password: String
            /// The base32 key an authenticator app takes.
            var totpKey: String
        }
        struct OperatorToken: Codable, Sendable {
            var name: String
            var role: OperatorRole
            var token: String
        }
        var staff: [Staff]
        var operators: [OperatorToken]
        var hisAuthorization: String
        var patient: [String: String]
    }

    static func addSignInRoute(to routes: RouteRegistry) {
        routes.add(.get, "/v1/demo/sign-ins", .anyone, "The demo's published sign-ins (serve --demo only)") { _, _ in
            JSONResponse(
                SignIns(
                    staff: staff.map {
                        SignIns.Staff(
                            institutionCode: staffInstitution, name: $0.name, displayName: $0.displayName, role: $0.role, password: staffPassword,
                            totpKey: AuthenticatorCode.manualKey($0.totpSecret))
                    },
                    operators: [
                        .init(name: "demo-admin", role: .administrator, token: operatorToken),
                        .init(name: "demo-operator", role: .operator, token: plainOperatorToken),
                        .init(name: "demo-viewer", role: .viewer, token: viewerToken),
                    ],
                    hisAuthorization: "Bearer " + institutionToken(staffInstitution),
                    patient: ["name": "王芳", "id_number": "440106199007251029", "person_number": "P440100000002", "phone": "13800100002"]))
        }
    }
}
