import Synchronization
import YibaoCore

/// Reference data kept in memory: institutions, policies and catalogues change rarely and are read on
/// every settlement. Every change bumps a version row; each instance compares versions at most once a
/// `checkIntervalMilliseconds` and drops what changed, so a change made through another instance is
/// seen within that interval (changes made through this instance are seen at once).
package final class ReferenceCache: Sendable {
    /// How often versions are compared with the database.
    static let checkIntervalMilliseconds: Int64 = 1000

    package struct PolicyKey: Hashable {
        let region: RegionCode
        let type: InsuranceType
        let year: Int
    }

    private struct State {
        var versions: [String: Int64] = [:]
        var checkedAt = Instant(millisecondsSinceEpoch: 0)
        var institutions: [String: Institution]?
        var policies: [PolicyKey: Policy?] = [:]
        var catalogues: [RegionCode: [String: CatalogueItem]] = [:]
        var plans: [PlanKey: CommercialPlan?] = [:]
    }

    package struct PlanKey: Hashable {
        let region: RegionCode
        let year: Int
    }

    private let state = Mutex(State())

    package init() {}

    /// Drops everything (after a change through this instance).
    package func invalidate() {
        state.withLock { $0 = State() }
    }

    /// Compares versions with the database if the last check is older than the interval.
    func refreshIfStale(now: Instant, in db: any SQLExecutor) throws {
        let due = state.withLock { now.millisecondsSinceEpoch - $0.checkedAt.millisecondsSinceEpoch >= ReferenceCache.checkIntervalMilliseconds }
        guard due else { return }
        let versions = try ReferenceVersions.all(in: db)
        state.withLock { state in
            for (name, version) in versions where state.versions[name] != version {
                if name == "institutions" { state.institutions = nil }
                if name == "policies" { state.policies = [:] }
                if name == "plans" { state.plans = [:] }
                if name.hasPrefix("catalogue:"), let region = RegionCode(String(name.dropFirst("catalogue:".count))) {
                    state.catalogues[region] = nil
                }
            }
            state.versions = versions
            state.checkedAt = now
        }
    }

    package func institution(_ code: String, now: Instant, in db: any SQLExecutor) throws -> Institution? {
        try refreshIfStale(now: now, in: db)
        if let cached = state.withLock({ $0.institutions }) { return cached[code] }
        let all = try InstitutionRepository.all(in: db)
        let byCode = Dictionary(uniqueKeysWithValues: all.map { ($0.code, $0) })
        state.withLock { $0.institutions = byCode }
        return byCode[code]
    }

    package func policy(region: RegionCode, type: InsuranceType, year: Int, now: Instant, in db: any SQLExecutor) throws -> Policy? {
        try refreshIfStale(now: now, in: db)
        let key = PolicyKey(region: region, type: type, year: year)
        if let cached = state.withLock({ $0.policies[key] }) { return cached }
        let policy = try PolicyRepository.find(region: region, type: type, year: year, in: db)
        state.withLock { $0.policies[key] = .some(policy) }
        return policy
    }

    /// The commercial plan of a region and year, if one is configured.
    package func plan(region: RegionCode, year: Int, now: Instant, in db: any SQLExecutor) throws -> CommercialPlan? {
        try refreshIfStale(now: now, in: db)
        let key = PlanKey(region: region, year: year)
        if let cached = state.withLock({ $0.plans[key] }) { return cached }
        let plan = try CommercialPlanRepository.find(region: region, year: year, in: db)
        state.withLock { $0.plans[key] = .some(plan) }
        return plan
    }

    package func catalogue(_ region: RegionCode, now: Instant, in db: any SQLExecutor) throws -> [String: CatalogueItem] {
        try refreshIfStale(now: now, in: db)
        if let cached = state.withLock({ $0.catalogues[region] }) { return cached }
        let items = try CatalogueRepository.items(region: region, in: db)
        let byCode = Dictionary(items.map { ($0.code, $0) }, uniquingKeysWith: { first, _ in first })
        state.withLock { $0.catalogues[region] = byCode }
        return byCode
    }
}
