import Testing
import YibaoCore

@Suite("Money, ratios and the one rounding rule")
struct MoneyTests {
    @Test(
        "portions round half away from zero, to the fen",
        arguments: [
            (452, 500, 23),  // 4.52 × 5 % = 0.226 → 0.23 (reference §6.1's captured row)
            (450, 500, 23),  // 0.225 → 0.23 (half rounds away)
            (449, 500, 22),  // 0.2245 → 0.22
            (-452, 500, -23),
            (100, 3333, 33),
            (756_000, 8500, 642_600),
            (0, 8500, 0),
        ] as [(Int64, Int64, Int64)])
    func portion(fen: Int64, basisPoints: Int64, expected: Int64) {
        #expect(Money(fen: fen).portion(Ratio(basisPoints: basisPoints)) == Money(fen: expected))
    }

    @Test func descriptionIsYuanWithTwoDecimals() {
        #expect(Money(fen: 642_600).description == "6426.00")
        #expect(Money(fen: -23).description == "-0.23")
        #expect(Money(fen: 5).description == "0.05")
        #expect(Ratio(basisPoints: 8500).description == "85%")
        #expect(Ratio(basisPoints: 450).description == "4.5%")
        #expect(Ratio(basisPoints: 5).description == "0.05%")
    }

    @Test func ratiosScaleAndCap() {
        #expect(Ratio(percent: 80).scaled(by: Ratio(percent: 70)) == Ratio(percent: 56))
        #expect(Ratio(percent: 98).adding(Ratio(percent: 5)) == .whole)
    }

    @Test func quantitiesKeepFourDecimals() throws {
        #expect(Quantity(decimal: 1.5)?.scaled == 15_000)
        #expect(Quantity(decimal: 0.0001)?.scaled == 1)
        #expect(Quantity(decimal: 0.00001) == nil)
        #expect(Quantity(decimal: -1)?.scaled == -10_000)
        #expect(Quantity(decimal: 20_000) == nil)
        #expect(Quantity(scaled: 15_000).amount(at: Money(fen: 333)) == Money(fen: 500))  // 4.995 → 5.00
        #expect(Quantity(scaled: 15_000).description == "1.5")
    }

    @Test func allocationAddsUpExactly() {
        let shares = Allocation.proportional(Money(fen: 100), weights: [Money(fen: 1), Money(fen: 1), Money(fen: 1)])
        #expect(shares.map(\.fen) == [34, 33, 33])
        #expect(Allocation.proportional(Money(fen: 7), weights: [.zero, .zero]).map(\.fen) == [7, 0])
        let uneven = Allocation.proportional(Money(fen: 1000), weights: [Money(fen: 300), Money(fen: 600), Money(fen: 100)])
        #expect(uneven.map(\.fen) == [300, 600, 100])
    }

    @Test func idNumbersCarryACheckCharacter() {
        let number = IDNumber.make(region: "440106", birthDate: CivilDate(year: 1990, month: 3, day: 7)!, sequence: 12)
        #expect(number.count == 18)
        #expect(IDNumber.isValid(number))
        #expect(IDNumber.birthDate(number) == CivilDate(year: 1990, month: 3, day: 7))
        var tampered = Array(number)
        tampered[16] = tampered[16] == "1" ? "2" : "1"
        #expect(!IDNumber.isValid(String(tampered)))
        #expect(IDNumber.isValid("11010519491231002X"))
        #expect(!IDNumber.isValid("110105194912310021"))
    }

    @Test func maskingHidesTheMiddle() {
        #expect(Masking.name("张三") == "张*")
        #expect(Masking.name("欧阳娜娜") == "欧***")
        #expect(Masking.idNumber("440106199001011234") == "4401**********1234")
        #expect(Masking.phone("13800138000") == "138****8000")
    }
}

@Suite("Time in China Standard Time")
struct TimeTests {
    @Test func civilDatesRoundTripThroughDays() {
        for days: Int64 in [-1, 0, 1, 10_957, 20_000, 20_454, 2_932_896] {
            let date = CivilDate(daysSinceEpoch: days)
            #expect(date.daysSinceEpoch == days)
        }
        #expect(CivilDate(year: 2024, month: 2, day: 29) != nil)
        #expect(CivilDate(year: 2026, month: 2, day: 29) == nil)
        #expect(CivilDate("2026-11-22")?.firstOfNextMonth == CivilDate("2026-12-01"))
        #expect(CivilDate("2026-12-31")?.firstOfNextMonth == CivilDate("2027-01-01"))
    }

    @Test func instantsParseAndPrintInChinaTime() throws {
        let instant = try #require(Instant(iso8601: "2026-11-22T00:30:00Z"))
        #expect(instant.iso8601 == "2026-11-22T08:30:00.000+08:00")
        #expect(ChinaTime.date(instant) == CivilDate("2026-11-22"))
        // 23:30 UTC on the 31st is already the 1st in Beijing.
        let newYear = try #require(Instant(iso8601: "2026-12-31T16:30:00Z"))
        #expect(ChinaTime.date(newYear) == CivilDate("2027-01-01"))
        #expect(Instant(iso8601: "2026-11-22T08:30:00.5+08:00")?.millisecondsSinceEpoch == instant.millisecondsSinceEpoch + 500)
        #expect(Instant(iso8601: "2026-13-22T08:30:00Z") == nil)
        #expect(Instant(iso8601: "yesterday") == nil)
        #expect(CivilDate("2027-01-01")!.startInChina == newYear.adding(seconds: -1800))
    }

    @Test func agesCountWholeYears() {
        let born = CivilDate("2010-06-15")!
        #expect(born.age(on: CivilDate("2026-06-14")!) == 15)
        #expect(born.age(on: CivilDate("2026-06-15")!) == 16)
    }

    @Test func seededIdentifiersRepeatAndSort() {
        let clock = ManualClock(Instant(secondsSinceEpoch: 1_790_000_000))
        let first = SeededIDGenerator(seed: 42, clock: clock)
        let second = SeededIDGenerator(seed: 42, clock: clock)
        #expect(first.next("S") == second.next("S"))
        let early = first.next("S")
        clock.advance(seconds: 1)
        let late = first.next("S")
        #expect(early < late)
        #expect(early.count == 27)
    }
}
