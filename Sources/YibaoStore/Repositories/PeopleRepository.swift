import YibaoCore

/// People: personal data sealed with the `PersonalDataCipher`, looked up by keyed hashes.
package enum PeopleRepository {
    package static let columns = """
        number, name_cipher, id_number_cipher, id_number_lookup, phone_cipher, phone_lookup, key_id, birth_date, region,
        insurance_type, retired, status, cross_region_filing, created_at, updated_at
        """

    /// Inserts a person; refuses a duplicate number or ID number.
    package static func insert(_ person: Person, cipher: PersonalDataCipher, now: Instant, in db: any SQLExecutor) throws {
        do {
            try db.execute(
                "INSERT INTO people (\(columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                values(person, cipher: cipher) + [.instant(now), .instant(now)]
            )
        } catch StoreError.uniqueViolation {
            throw Refusal(.alreadyExists, "a person with this person number or ID number is already enrolled", field: "number")
        }
    }

    private static func values(_ person: Person, cipher: PersonalDataCipher) -> [SQLValue] {
        let row = person.number
        return [
            .text(person.number),
            .text(cipher.seal(person.name, field: "people.name", row: row)),
            .text(cipher.seal(person.idNumber, field: "people.id_number", row: row)),
            .text(cipher.lookup(person.idNumber.uppercased(), purpose: "id_number")),
            .text(person.phone.map { cipher.seal($0, field: "people.phone", row: row) }),
            .text(person.phone.map { cipher.lookup($0, purpose: "phone") }),
            .text(cipher.currentKeyID),
            .text(person.birthDate.description),
            .text(person.region.value),
            .text(person.insuranceType.rawValue),
            .bool(person.retired),
            .text(person.status.rawValue),
            .text(person.crossRegionFiling.rawValue),
        ]
    }

    package static func find(number: String, cipher: PersonalDataCipher, in db: any SQLExecutor) throws -> Person? {
        try db.fetch(find(number: number, cipher: cipher))
    }

    package static func find(number: String, cipher: PersonalDataCipher) -> SQLRead<Person?> {
        .one("SELECT \(columns) FROM people WHERE number = ?", [.text(number)]) { try decode($0, cipher: cipher) }
    }

    /// A person's cover, no sealed value opened.
    package static func insured(number: String) -> SQLRead<Insured?> {
        .one("SELECT \(insuredColumns) FROM people WHERE number = ?", [.text(number)]) { try decodeInsured($0) }
    }

    /// A person's cover and name, for a settlement: of the sealed values only the name is opened (the
    /// record shows it masked); the ID number and phone stay sealed.
    package static func insuredAndName(number: String, cipher: PersonalDataCipher) -> SQLRead<(insured: Insured, name: String)?> {
        .one("SELECT \(insuredColumns), name_cipher FROM people WHERE number = ?", [.text(number)]) { row in
            let insured = try decodeInsured(row)
            return (insured, try cipher.open(try row.string("name_cipher"), field: "people.name", row: insured.number))
        }
    }

    static let insuredColumns = "number, region, insurance_type, retired, status, cross_region_filing"

    static func decodeInsured(_ row: SQLRow) throws -> Insured {
        let number = try row.string("number")
        guard let region = RegionCode(try row.string("region")) else { throw StoreError.decoding("person \(number) has an unreadable region") }
        return Insured(
            number: number, region: region, insuranceType: try row.enumeration("insurance_type"), retired: try row.bool("retired"),
            status: try row.enumeration("status"), crossRegionFiling: try row.enumeration("cross_region_filing"))
    }

    package static func find(idNumber: String, cipher: PersonalDataCipher, in db: any SQLExecutor) throws -> Person? {
        try db.queryOne(
            "SELECT \(columns) FROM people WHERE id_number_lookup = ?",
            [.text(cipher.lookup(idNumber.uppercased(), purpose: "id_number"))]
        ).map { try decode($0, cipher: cipher) }
    }

    package static func exists(number: String, in db: any SQLExecutor) throws -> Bool {
        try db.queryOne("SELECT number FROM people WHERE number = ?", [.text(number)]) != nil
    }

    package static func decode(_ row: SQLRow, cipher: PersonalDataCipher) throws -> Person {
        let insured = try decodeInsured(row)
        let number = insured.number
        guard let birthDate = CivilDate(try row.string("birth_date")) else { throw StoreError.decoding("person \(number) has an unreadable date") }
        return Person(
            insured, name: try cipher.open(try row.string("name_cipher"), field: "people.name", row: number),
            idNumber: try cipher.open(try row.string("id_number_cipher"), field: "people.id_number", row: number), birthDate: birthDate,
            phone: try row.optionalString("phone_cipher").map { try cipher.open($0, field: "people.phone", row: number) })
    }
}
