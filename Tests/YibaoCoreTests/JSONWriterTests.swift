import Foundation
import Testing
import YibaoCore

/// The settlement record's hand-written JSON against Foundation's `JSONEncoder` over the same record: the
/// API form byte for byte, the stored form as the same object. Records with every optional field set
/// (so a field added to a type but not to its writer fails here) and with none.
@Suite("Hand-written JSON: the same bytes as Foundation's encoder")
struct JSONWriterTests {
    static let now = Instant(iso8601: "2026-03-02T10:00:00.123+08:00")!

    /// A settlement decided by the engine, with every optional field of the record and its parts set,
    /// and text that needs escaping.
    static func fullRecord() throws -> SettlementRecord {
        let drug = Fixtures.item(.b, code: "D\"1\\", cap: .yuan(20), firstSelfPay: Ratio(percent: 10))
        var lines = [
            Fixtures.line(drug, price: .yuan(30), quantity: 3, number: "1"),
            LineSplit.split(
                FeeLine(lineNumber: "2", itemCode: "X", unitPrice: Money(fen: 333), quantity: Quantity(scaled: 3_333)), item: Fixtures.item(.a)),
            LineSplit.split(
                FeeLine(lineNumber: "3", itemCode: "X", unitPrice: Money(fen: 1), quantity: Quantity(units: 10_000)), item: Fixtures.item(.c)),
        ]
        lines[0].hospitalItemCode = "HIS-1/2"
        lines[0].chargeBatch = "B\t1"
        lines[0].dosage = Dosage(singleDose: "1片", frequency: "tid\n", days: 7, route: "口服")
        lines[1].dosage = Dosage(days: 3)
        lines[1].itemName = "控制\u{1}字符\u{1F}与 emoji 💊 and / slash"
        let visit = Visit(
            id: "V1", institutionCode: "H0001", personNumber: "P0001", category: .ordinaryOutpatient, hospitalVisitNumber: "HV1", state: .open,
            lines: lines, settlementId: nil, openedAt: now, paymentAuthority: .fundingSource)
        let snapshot = SettlementSnapshot(
            visit: visit, institution: Fixtures.institution(level: .level3), person: Fixtures.person().insured,
            personNameMasked: Masking.name(Fixtures.person().name), policy: Fixtures.policy(), year: 2026,
            accumulators: .zero, paymentInProgress: nil, payerBindingActive: true, useAccount: true, accountAvailable: .yuan(50), mutualAid: nil,
            frictionless: nil, authorisedSource: nil, defaultSource: SettlementDecisionTests.card, suspendedCreditSources: [], channelConfigured: true
        )
        var record = try SettlementDecision.decide(snapshot, settlementID: "S1", entryID: "J1", now: now).record
        record.originalId = "S0"
        record.mutualAidPayer = "P0002"
        record.declineReason = .insufficientFunds
        record.refundType = .lines
        record.payerNumber = "P0003"
        record.returned = PayerAmounts(
            pooledFund: .yuan(1), aboveCapFund: .yuan(2), plan: .yuan(3), ownAccount: .yuan(4), mutualAid: .yuan(5), cash: -.yuan(6))
        record.cashOwedChange = -Money(fen: 1)
        record.plan = try YibaoJSON.decode(
            PlanReference.self, from: #"{"id":"PL1","name":"穗岁康","insurer_code":"INS1","insurer_name":"某保险 \"公司\""}"#)
        record.reversedBy = "S9"
        record.accumulatorDelta.visitsByLevel = LevelCounts(["3": 1, "1": -2])
        record.details.append(FundDetail(fundType: .otherFund, inScope: .yuan(7), remainingLimit: .yuan(8), amount: .yuan(9), trace: "t"))
        record.trace.append("quote \" backslash \\ \r\u{8}\u{C}")
        #expect(record.fundingSource != nil && record.lines.contains { $0.split.priceCap != nil })
        return record
    }

    static func foundationAPI(_ value: some Encodable) throws -> [UInt8] { Array(try YibaoJSON.encoder().encode(value)) }

    static func sameObject(_ left: [UInt8], _ right: Data) throws -> Bool {
        let a = try JSONSerialization.jsonObject(with: Data(left)) as? NSObject
        let b = try JSONSerialization.jsonObject(with: right) as? NSObject
        return a != nil && a == b
    }

    @Test("every optional set, escaping, fractions, negatives: the API form is Foundation's bytes, the stored form its object")
    func fullRecordMatches() throws {
        let record = try Self.fullRecord()
        let api = JSONWriter.bytes(record, keys: .api)
        let foundation = try Self.foundationAPI(record)
        #expect(String(decoding: api, as: UTF8.self) == String(decoding: foundation, as: UTF8.self))
        let stored = JSONWriter.bytes(record, keys: .storage)
        #expect(try Self.sameObject(stored, try JSONEncoder().encode(record)))
        #expect(try JSONDecoder().decode(SettlementRecord.self, from: Data(stored)) == record)
        #expect(try YibaoJSON.decodeStored(SettlementRecord.self, from: try YibaoJSON.storageString(record)) == record)
    }

    @Test("no optional set: absent keys are left out as Foundation leaves them out")
    func bareRecordMatches() throws {
        var record = try SettlementDecisionTests.decide(SettlementDecisionTests.snapshot()).record
        record.fundingSource = nil
        #expect(record.originalId == nil && record.plan == nil && record.returned == nil)
        #expect(
            String(decoding: JSONWriter.bytes(record, keys: .api), as: UTF8.self) == String(decoding: try Self.foundationAPI(record), as: UTF8.self))
        #expect(try Self.sameObject(JSONWriter.bytes(record, keys: .storage), try JSONEncoder().encode(record)))
    }

    @Test("a reversal (negated amounts) and a visit's stored lines")
    func reversalAndLines() throws {
        let reversal = try Self.fullRecord().reversal(id: "S2", at: Self.now, balanceAfter: .yuan(12))
        #expect(Array(try YibaoJSON.encode(reversal)) == (try Self.foundationAPI(reversal)))
        let lines = try Self.fullRecord().lines.map(\.split)
        #expect(try Self.sameObject(Array(try YibaoJSON.storageString(lines).utf8), try JSONEncoder().encode(lines)))
        #expect(try YibaoJSON.decodeStored([LineSplit].self, from: try YibaoJSON.storageString(lines)) == lines)
    }

    @Test("integers at their limits and strings with every escape", arguments: [Int64.min, -1, 0, 7, 10, 1_000_000_007, Int64.max])
    func scalars(_ number: Int64) throws {
        #expect(Array(try YibaoJSON.encode([number])) == (try Self.foundationAPI([number])))
        let text = (0..<0x20).map { String(UnicodeScalar(UInt8($0))) }.joined() + "\"\\/ 中文 \u{7F} \u{2028}\u{2029} \u{FEFF}"
        #expect(Array(try YibaoJSON.encode([text])) == (try Self.foundationAPI([text])))
    }

    @Test("a medication reminder, with and without a dosage, with and without a caregiver")
    func medicationReminder() throws {
        let drug = Fixtures.line(Fixtures.item(.a, code: "D1"), price: .yuan(12), quantity: 2)
        #expect(drug.category == .drug)
        for (dosage, caregiver) in [(Dosage(singleDose: "1片", frequency: "tid", days: 5, route: "口服"), "P0009"), (nil, nil)] {
            var reminder = try #require(
                MedicationReminder.proposal(
                    for: drug, dosage: dosage, id: "MR1", personNumber: "P0001", settlementId: "S1", institutionName: "某 \"医院\"",
                    settledAt: Self.now))
            reminder.caregiver = caregiver
            #expect(
                String(decoding: JSONWriter.bytes(reminder, keys: .api), as: UTF8.self)
                    == String(decoding: try Self.foundationAPI(reminder), as: UTF8.self))
            #expect(try Self.sameObject(JSONWriter.bytes(reminder, keys: .storage), try JSONEncoder().encode(reminder)))
            #expect(try YibaoJSON.decodeStored(MedicationReminder.self, from: try YibaoJSON.storageString(reminder)) == reminder)
        }
    }
}
