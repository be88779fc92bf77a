import Foundation

/// Reading reference data files: catalogue, institutions and people as CSV, policies as JSON.
/// Each reader returns what it accepted and, for every rejected row, the line and the reason.
public enum ReferenceFiles {
    /// A rejected row.
    public struct Rejection: Sendable, Hashable, Codable, CustomStringConvertible {
        /// The line in the file.
        public var line: Int
        /// Why.
        public var reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    /// The catalogue columns, in order.
    public static let catalogueHeader = ["region", "code", "name", "specification", "category", "class", "price_cap_yuan", "first_self_pay_percent"]

    /// Reads a catalogue CSV.
    public static func catalogue(_ text: String) throws(CSV.Malformed) -> (items: [CatalogueItem], rejected: [Rejection]) {
        try rows(text, header: catalogueHeader) { fields in
            guard let region = RegionCode(fields[0]) else { return .failure("region \"\(fields[0])\" is not a six-digit code") }
            guard let category = CatalogueCategory(rawValue: fields[4]) else { return .failure("category must be drug, service or material") }
            guard let itemClass = CatalogueClass(rawValue: fields[5].uppercased()) else { return .failure("class must be A, B or C") }
            var cap: Money?
            if !fields[6].isEmpty {
                guard let value = Money(yuan: fields[6]), !value.isNegative else {
                    return .failure("price_cap_yuan \"\(fields[6])\" is not an amount")
                }
                cap = value
            }
            var ratio = Ratio.zero
            if !fields[7].isEmpty {
                guard let value = Ratio(percentText: fields[7]), value.isProperFraction else {
                    return .failure("first_self_pay_percent \"\(fields[7])\" must be 0 to 100")
                }
                ratio = value
            }
            let item = CatalogueItem(
                region: region, code: fields[1], name: fields[2], specification: fields[3], category: category, itemClass: itemClass,
                priceCap: cap, firstSelfPayRatio: ratio
            )
            if let problem = item.problems().first { return .failure(problem) }
            return .success(item)
        }
    }

    /// The institution columns, in order.
    public static let institutionHeader = ["code", "name", "region", "level", "kind"]

    /// Reads an institutions CSV.
    public static func institutions(_ text: String) throws(CSV.Malformed) -> (items: [Institution], rejected: [Rejection]) {
        try rows(text, header: institutionHeader) { fields in
            guard let region = RegionCode(fields[2]) else { return .failure("region \"\(fields[2])\" is not a six-digit code") }
            guard let level = HospitalLevel(rawValue: fields[3]) else { return .failure("level must be community, 1, 2, 3 or 3A") }
            guard let kind = InstitutionKind(rawValue: fields[4]) else { return .failure("kind must be hospital or pharmacy") }
            guard !fields[0].isEmpty, !fields[1].isEmpty else { return .failure("code and name are required") }
            return .success(Institution(code: fields[0], name: fields[1], region: region, level: level, kind: kind))
        }
    }

    /// One enrolment from a people CSV.
    public struct Enrolment: Sendable, Hashable {
        /// The person.
        public var person: Person
        /// The opening personal-account balance.
        public var openingBalance: Money
    }

    /// The people columns, in order.
    public static let peopleHeader = [
        "number", "name", "id_number", "region", "insurance_type", "retired", "phone", "opening_balance_yuan", "cross_region_filing",
    ]

    /// Reads a people CSV (the birth date comes from the ID number).
    public static func people(_ text: String) throws(CSV.Malformed) -> (items: [Enrolment], rejected: [Rejection]) {
        try rows(text, header: peopleHeader) { fields in
            guard IDNumber.isValid(fields[2]), let birth = IDNumber.birthDate(fields[2]) else {
                return .failure("id_number is not a valid resident ID number")
            }
            guard let region = RegionCode(fields[3]) else { return .failure("region \"\(fields[3])\" is not a six-digit code") }
            guard let type = InsuranceType(rawValue: fields[4]) else { return .failure("insurance_type must be 310 or 390") }
            guard ["true", "false", "1", "0", ""].contains(fields[5]) else { return .failure("retired must be true or false") }
            guard let balance = fields[7].isEmpty ? .zero : Money(yuan: fields[7]), !balance.isNegative else {
                return .failure("opening_balance_yuan \"\(fields[7])\" is not an amount")
            }
            guard let filing = fields[8].isEmpty ? CrossRegionFiling.none : CrossRegionFiling(rawValue: fields[8]) else {
                return .failure("cross_region_filing must be none, referral or longTermResident")
            }
            let person = Person(
                number: fields[0], name: fields[1], idNumber: fields[2].uppercased(), birthDate: birth, region: region, insuranceType: type,
                retired: fields[5] == "true" || fields[5] == "1", crossRegionFiling: filing, phone: fields[6].isEmpty ? nil : fields[6]
            )
            return .success(Enrolment(person: person, openingBalance: balance))
        }
    }

    /// A policy file: every insurance type's policy for one region and year.
    public struct PolicyFile: Sendable, Hashable, Codable {
        /// The region.
        public var region: RegionCode
        /// The year.
        public var year: Int
        /// The policies, one per insurance type.
        public var policies: [Policy]

        /// Creates a policy file.
        public init(region: RegionCode, year: Int, policies: [Policy]) {
            self.region = region
            self.year = year
            self.policies = policies
        }

        /// Checks that every policy belongs to the file's region and year and is valid.
        public func problems() -> [(field: String, message: String)] {
            var found: [(String, String)] = []
            if policies.isEmpty { found.append(("policies", "a policy file needs at least one policy")) }
            for (index, policy) in policies.enumerated() {
                if policy.region != region { found.append(("policies[\(index)].region", "must be the file's region \(region)")) }
                if policy.year != year { found.append(("policies[\(index)].year", "must be the file's year \(year)")) }
                if policies[..<index].contains(where: { $0.insuranceType == policy.insuranceType }) {
                    found.append(("policies[\(index)].insurance_type", "insurance type \(policy.insuranceType.rawValue) appears twice"))
                }
                found += policy.problems().map { ("policies[\(index)].\($0.field)", $0.message) }
            }
            return found
        }
    }

    private enum RowResult<T> {
        case success(T)
        case failure(String)
    }

    private static func rows<T>(
        _ text: String, header: [String], convert: ([String]) -> RowResult<T>
    ) throws(CSV.Malformed) -> (items: [T], rejected: [Rejection]) {
        let records = try CSV.parse(text)
        guard let first = records.first else { throw CSV.Malformed(line: 1, reason: "the file is empty; the first line must be the header") }
        let names = first.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard names == header else {
            throw CSV.Malformed(line: first.line, reason: "the header must be: \(header.joined(separator: ","))")
        }
        var items: [T] = []
        var rejected: [Rejection] = []
        for record in records.dropFirst() {
            guard record.fields.count == header.count else {
                rejected.append(Rejection(line: record.line, reason: "expected \(header.count) fields, found \(record.fields.count)"))
                continue
            }
            switch convert(record.fields.map { $0.trimmingCharacters(in: .whitespaces) }) {
            case .success(let item): items.append(item)
            case .failure(let reason): rejected.append(Rejection(line: record.line, reason: reason))
            }
        }
        return (items, rejected)
    }
}
