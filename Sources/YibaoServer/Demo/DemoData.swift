import Foundation
import Logging
import YibaoCore
import YibaoStore

/// The demo: two regions' policies (Guangzhou 440100, Lanzhou 620100; 2026 and 2027), institutions of
/// every level, a few hundred catalogue items per region, enrolled employees, retirees, residents and a
/// cross-region patient — and credentials that are published in the README, so the walkthrough works
/// verbatim. Loaded once, on the first start of an empty database with `--demo`.
public enum DemoData {
    /// The demo administrator's token (public: demo only).
    public static let operatorToken = "op_demo_administrator_token"
    /// The demo institutions' secret; each key id is `Kdemo-<institution code>` (public: demo only).
    public static let institutionSecret = "demo-secret"

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

    /// Loads the demo into an empty store; does nothing (returns nil) when institutions exist.
    public static func loadIfEmpty(into store: Store, logger: Logger) async throws -> Summary? {
        guard try await store.institutions().isEmpty else { return nil }
        var summary = Summary()
        for name in ["440100-2026", "440100-2027", "620100-2026", "620100-2027"] {
            let file = try YibaoJSON.decode(ReferenceFiles.PolicyFile.self, from: try DemoData.file("policies/\(name).json"))
            if let problem = file.problems().first { throw StoreError.configuration("demo policy \(name): \(problem.field) \(problem.message)") }
            for policy in file.policies { try await store.savePolicy(policy) }
            summary.policies += file.policies.count
        }
        let institutions = try ReferenceFiles.institutions(try DemoData.file("institutions.csv"))
        for institution in institutions.items {
            try await store.saveInstitution(institution)
            try await store.installInstitutionKey(code: institution.code, keyID: "Kdemo-\(institution.code)", secret: institutionSecret)
        }
        summary.institutions = institutions.items.count
        for region in ["440100", "620100"] {
            let catalogue = try ReferenceFiles.catalogue(try DemoData.file("catalogue-\(region).csv"))
            guard catalogue.rejected.isEmpty else { throw StoreError.configuration("demo catalogue \(region): \(catalogue.rejected[0])") }
            _ = try await store.importCatalogue(catalogue.items)
            summary.catalogueItems += catalogue.items.count
        }
        let people = try ReferenceFiles.people(try DemoData.file("people.csv"))
        guard people.rejected.isEmpty else { throw StoreError.configuration("demo people: \(people.rejected[0])") }
        summary.people = try await store.enrol(people.items.map { ($0.person, $0.openingBalance) })
        if let bank = store.sandbox {
            for (index, entry) in people.items.enumerated() {
                _ = try await bank.issueCard(
                    holderIDNumber: entry.person.idNumber, holderName: entry.person.name, kind: .debit, balance: .yuan(5000),
                    number: DemoData.cardNumber(index)
                )
            }
            summary.cards = people.items.count
        }
        _ = try await store.createOperator(name: "demo-admin", role: .administrator, token: operatorToken)
        logger.notice("demo data loaded", metadata: ["summary": "\(summary)"])
        return summary
    }
}
