import YibaoCore

package enum DeviceRepository {
    package static func insert(_ device: Device, secretCipher: String, in db: any SQLExecutor) throws {
        try db.execute(
            "INSERT INTO devices (id, number, person_number, name, secret_cipher, enrolled_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, NULL)",
            [
                .text(device.id), .text(device.number), .text(device.personNumber), .text(device.name), .text(secretCipher),
                .instant(device.enrolledAt),
            ]
        )
    }

    package static func list(person: String, in db: any SQLExecutor) throws -> [Device] {
        try db.query(
            "SELECT id, number, person_number, name, enrolled_at, revoked_at FROM devices WHERE person_number = ? ORDER BY enrolled_at",
            [.text(person)]
        ).map(decode)
    }

    package static func find(id: String, person: String, in db: any SQLExecutor) throws -> (Device, String)? {
        try db.queryOne(
            "SELECT id, number, person_number, name, enrolled_at, revoked_at, secret_cipher FROM devices WHERE id = ? AND person_number = ?",
            [.text(id), .text(person)]
        ).map { (try decode($0), try $0.string("secret_cipher")) }
    }

    package static func find(number: String, in db: any SQLExecutor) throws -> (Device, String)? {
        try db.fetch(finding(number: number))
    }

    /// `find` as a read to batch with others: the device with a code's number and its sealed secret.
    package static func finding(number: String) -> SQLRead<(Device, String)?> {
        .one("SELECT id, number, person_number, name, enrolled_at, revoked_at, secret_cipher FROM devices WHERE number = ?", [.text(number)]) {
            (try decode($0), try $0.string("secret_cipher"))
        }
    }

    package static func revoke(id: String, person: String, now: Instant, in db: any SQLExecutor) throws -> Bool {
        try db.execute(
            "UPDATE devices SET revoked_at = ? WHERE id = ? AND person_number = ? AND revoked_at IS NULL", [.instant(now), .text(id), .text(person)]
        ) == 1
    }

    /// Records a (device, step) as spent; false when it was spent before (a replay).
    package static func spend(device: String, step: Int64, institution: String, now: Instant, in db: any SQLExecutor) throws -> Bool {
        try db.execute(
            "INSERT INTO used_codes (device_id, step, institution_code, used_at) VALUES (?, ?, ?, ?) ON CONFLICT (device_id, step) DO NOTHING",
            [.text(device), .integer(step), .text(institution), .instant(now)]
        ) == 1
    }

    package static func decode(_ row: SQLRow) throws -> Device {
        Device(
            id: try row.string("id"), number: try row.string("number"), personNumber: try row.string("person_number"), name: try row.string("name"),
            enrolledAt: try row.instant("enrolled_at"), revokedAt: try row.optionalInstant("revoked_at")
        )
    }
}
