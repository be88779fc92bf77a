import Foundation
import YibaoCore
import YibaoStore

extension Platform {
    /// The most records the counter's day list returns.
    public static let counterDayRecordsMax = 2000

    /// An institution's settlements, refunds and reversals of a day (China time), newest first, with
    /// the net of those completed.
    public func counterDay(institution: Institution, day: CivilDate) async throws -> CounterDay {
        let from = day.startInChina
        let records = try await read { db, _ in
            try SettlementRepository.ofInstitution(
                institution.code, from: from, until: from.adding(days: 1), limit: Platform.counterDayRecordsMax, in: db)
        }
        return CounterDay(day: day, records: records)
    }

    /// The institution's visits waiting to be settled (frictionless visits, visits whose card was
    /// declined, visits a cashier left open), newest first.
    public func openVisits(institution: Institution, limit: Int = 200) async throws -> [Visit] {
        try await read { db, _ in try VisitRepository.open(institution: institution.code, limit: limit, in: db) }
    }

    /// Catalogue items of the institution's region whose code starts with the query or whose name
    /// contains it (case-insensitive), by code, at most `limit`.
    public func searchCatalogue(region: RegionCode, query: String, limit: Int) async throws -> [CatalogueItem] {
        let needle = query.trimmingCharacters(in: .whitespaces).lowercased()
        guard !needle.isEmpty else { return [] }
        let reference = self.reference
        let items = try await read { db, now in try reference.catalogue(region, now: now, in: db) }
        return Array(
            items.values.filter { $0.code.lowercased().hasPrefix(needle) || $0.name.lowercased().contains(needle) }
                .sorted { $0.code < $1.code }.prefix(max(1, min(limit, 50))))
    }
}
