import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import YibaoApp
import YibaoCore
import YibaoSandbox
import YibaoServer
import YibaoStore

/// The demo follows the clock: it has policies for last year, this year and next year whenever it runs,
/// so neither the demo nor the suite stops working on a new year.
@Suite("Demo data follows the clock")
struct DemoDataTests {
    @Test("any year's demo policies: the nearest file's figures, relabelled, contribution windows moved", arguments: [2025, 2026, 2027, 2028, 2031])
    func policiesForAnyYear(year: Int) throws {
        for region in ["440100", "620100"] {
            let file = try DemoData.policies(region: region, year: year)
            #expect(file.year == year && file.problems().isEmpty)
            for policy in file.policies {
                #expect(policy.year == year && policy.title.hasSuffix(String(year)), "\(policy.title)")
                for schedule in policy.premiums ?? [] where schedule.kind == .residentAnnual {
                    #expect(
                        schedule.opens == CivilDate(year: year - 1, month: 9, day: 1) && schedule.closes == CivilDate(year: year, month: 2, day: 28))
                }
            }
        }
        // 2028 onwards repeats 2027's figures: the resident contribution stays 420 yuan in Guangzhou.
        if year >= 2027 {
            let resident = try #require(try DemoData.policies(region: "440100", year: year).policies.first { $0.insuranceType == .resident })
            #expect(resident.premiums?.first?.amount == .yuan(420))
        }
    }

    @Test("a demo started on 2 January 2028 settles (2027, 2028 and 2029 policies), and one restarted a year later gains 2030")
    func settlesInAnyYear() async throws {
        try await ServerHarness.withApp(start: Instant(iso8601: "2028-01-02T09:00:00+08:00")!) { client, harness in
            let settled = try await MoneyEdgesHTTPTests.settleByPersonNumber(client, visit: "Y2028")
            #expect(settled.year == 2028 && settled.policyTitle.hasSuffix("2028"))
            for year in 2027...2029 { #expect(try await harness.platform.policy(region: RegionCode("440100")!, type: .employee, year: year) != nil) }
            harness.clock.set(Instant(iso8601: "2029-01-02T09:00:00+08:00")!)
            #expect(try await DemoData.ensurePolicies(into: harness.platform) == 4)
            #expect(try await harness.platform.policy(region: RegionCode("620100")!, type: .resident, year: 2030) != nil)
        }
    }
}
