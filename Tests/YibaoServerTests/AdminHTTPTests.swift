import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import YibaoApp
import YibaoCore
import YibaoSandbox
import YibaoServer
import YibaoStore

@Suite("HTTP: operators, reference data, health, OpenAPI")
struct AdminHTTPTests {
    typealias H = ServerHarness

    @Test func healthAndReadiness() async throws {
        try await H.withApp { client, _ in
            let health = try await client.send(.get, "/health")
            #expect(health.status == .ok && health.object["status"] as? String == "ok")
            #expect(health.headers[HTTPField.Name("X-Request-Id")!] != nil)
            let ready = try await client.send(.get, "/ready")
            #expect(ready.object["database"] as? String == "sqlite")
            let metrics = try await client.send(.get, "/metrics")
            #expect(metrics.status == .ok)
        }
    }

    @Test("the OpenAPI document describes exactly the routes the server has")
    func openAPIMatchesRoutes() async throws {
        try await H.withApp { client, harness in
            let response = try await client.send(.get, "/openapi.json")
            let document = try #require(response.object["paths"] as? [String: [String: Any]])
            var documented = Set<String>()
            for (path, operations) in document {
                for method in operations.keys { documented.insert("\(method.uppercased()) \(path)") }
            }
            let served = Set(harness.routes.map { "\($0.method.rawValue) \($0.path)" })
            #expect(documented.subtracting(served).isEmpty, "documented but not served: \(documented.subtracting(served).sorted())")
            #expect(served.subtracting(documented).isEmpty, "served but not documented: \(served.subtracting(documented).sorted())")
            #expect(response.object["openapi"] as? String == "3.1.0")
        }
    }

    @Test("enrolment masks personal data; a bad ID number names the field")
    func enrolment() async throws {
        try await H.withApp { client, _ in
            let id = IDNumber.make(region: "440106", birthDate: CivilDate(year: 1991, month: 2, day: 3)!, sequence: 77)
            let body =
                #"{"number":"P440100099999","name":"欧阳娜娜","id_number":"\#(id)","region":"440100","insurance_type":"310","phone":"13812345678","opening_balance":50000}"#
            let created = try await client.send(.post, "/v1/admin/people", token: H.adminToken, json: body)
            #expect(created.status == .created)
            #expect(created.object["name_masked"] as? String == "欧***")
            #expect(created.object["account_balance"] as? Int == 50_000)
            #expect(!created.text.contains(id))
            let again = try await client.send(.post, "/v1/admin/people", token: H.adminToken, json: body)
            #expect(again.status == .conflict)
            let bad = try await client.send(
                .post, "/v1/admin/people", token: H.adminToken,
                json: #"{"number":"P1","name":"x","id_number":"440106199102030771","region":"440100","insurance_type":"310"}"#
            )
            #expect(bad.status == .badRequest && bad.problem?.field == "id_number")
            let viewer = try await client.send(.get, "/v1/admin/people/P440100099999", token: H.adminToken)
            #expect(viewer.object["id_number_masked"] as? String == Masking.idNumber(id))
        }
    }

    @Test("a catalogue CSV import reports rejected rows by line")
    func catalogueImport() async throws {
        try await H.withApp { client, _ in
            let csv = """
                region,code,name,specification,category,class,price_cap_yuan,first_self_pay_percent
                440100,T0001,测试药品,1g×10,drug,A,,
                440100,T0002,测试药品乙,1g×10,drug,B,12.50,10
                440100,T0003,坏价格,1g,drug,A,abc,
                44010,T0004,坏地区,1g,drug,A,,
                440100,T0005,丙类带比例,1g,drug,C,,10
                """
            let response = try await client.send(
                .post, "/v1/admin/catalogue", token: H.adminToken, json: csv, headers: [.contentType: "text/csv"]
            )
            #expect(response.status == .ok)
            #expect(response.object["accepted"] as? Int == 2)
            let rejected = try #require(response.object["rejected"] as? [[String: Any]])
            #expect(rejected.map { $0["line"] as? Int } == [4, 5, 6])
            let item = try await client.send(.get, "/v1/admin/catalogue/440100/T0002", token: H.adminToken)
            #expect(item.object["price_cap"] as? Int == 1250)
            let noHeader = try await client.send(
                .post, "/v1/admin/catalogue", token: H.adminToken, json: "a,b\n1,2\n", headers: [.contentType: "text/csv"])
            #expect(noHeader.status == .badRequest)
        }
    }

    @Test("policies: saved per region and year, checked, read back")
    func policies() async throws {
        try await H.withApp { client, _ in
            let current = try await client.send(.get, "/v1/admin/policies/440100/2026/310", token: H.adminToken)
            #expect(current.status == .ok)
            let policy = try current.decode(Policy.self)
            #expect(policy.outpatient.annualCap == .yuan(8000))
            var broken = policy
            broken.inpatient.levels[0].ratio = Ratio(basisPoints: 20_000)
            let file = ReferenceFiles.PolicyFile(region: policy.region, year: 2026, policies: [broken])
            let refused = try await client.send(.put, "/v1/admin/policies/440100/2026", token: H.adminToken, json: try YibaoJSON.string(file))
            #expect(refused.status == .badRequest)
            #expect(refused.problem?.field == "policies[0].inpatient.levels[0].ratio")
            let good = ReferenceFiles.PolicyFile(region: policy.region, year: 2026, policies: [policy])
            let saved = try await client.send(.put, "/v1/admin/policies/440100/2026", token: H.adminToken, json: try YibaoJSON.string(good))
            #expect(saved.status == .ok)
        }
    }

    @Test("institutions and key rotation through the admin API")
    func institutions() async throws {
        try await H.withApp { client, _ in
            let created = try await client.send(
                .put, "/v1/admin/institutions/H44019900001", token: H.adminToken, json: #"{"name":"新医院","region":"440100","level":"2"}"#
            )
            #expect(created.status == .created)
            let key = try await client.send(.post, "/v1/admin/institutions/H44019900001/keys", token: H.adminToken)
            let credential = try key.decode(InstitutionCredential.self)
            let visit = try await client.send(.post, "/v1/visits", token: credential.token, json: Body.visit(number: "N1", lines: Body.line()))
            #expect(visit.status == .created)
            let list = try await client.send(.get, "/v1/admin/institutions", token: H.adminToken)
            #expect(try list.decode([Institution].self).count == 13)
        }
    }
}
