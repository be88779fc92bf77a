import YibaoCore

/// One payment in flight per person: while a settlement waits for the patient's bank, the patient's
/// other settlements wait (they would otherwise compute on accumulators the pending one is about to
/// change).
package enum PaymentLockRepository {
    package static func holder(person: String) -> SQLRead<String?> {
        .one("SELECT settlement_id FROM payment_locks WHERE person_number = ?", [.text(person)]) { try $0.string("settlement_id") }
    }

    package static func release(person: String, settlement: String, in db: any SQLExecutor) throws {
        try db.execute("DELETE FROM payment_locks WHERE person_number = ? AND settlement_id = ?", [.text(person), .text(settlement)])
    }
}
