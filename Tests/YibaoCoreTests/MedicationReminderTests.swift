import Testing

@testable import YibaoCore

@Suite("Medication reminders: frequencies, proposals, times in China, edits")
struct MedicationReminderTests {
    static let region = RegionCode("440100")!
    static let drug = CatalogueItem(region: region, code: "A001", name: "阿莫西林胶囊", specification: "0.25g×24粒", category: .drug, itemClass: .a)
    static let service = CatalogueItem(region: region, code: "S001", name: "静脉输液", specification: "次", category: .service, itemClass: .a)
    /// 10:00 on 2 March 2026 in China.
    static let settledAt = Instant(iso8601: "2026-03-02T10:00:00+08:00")!

    static func at(_ text: String) -> Instant { Instant(iso8601: text + "+08:00")! }

    static func proposal(_ dosage: Dosage?, item: CatalogueItem = drug) -> MedicationReminder? {
        let line = LineSplit.split(
            FeeLine(lineNumber: "1", itemCode: item.code, unitPrice: .yuan(12), quantity: Quantity(units: 2), dosage: dosage), item: item)
        return MedicationReminder.proposal(
            for: line, dosage: line.dosage, id: "MR1", personNumber: "P1", settlementId: "S1", institutionName: "测试医院", settledAt: settledAt)
    }

    /// Every time the reminder fires after `from`, in order.
    static func times(_ reminder: MedicationReminder, from: Instant) -> [Instant] {
        var out: [Instant] = []
        var cursor = from
        while let next = reminder.nextTime(after: cursor), out.count < 1000 {
            out.append(next)
            cursor = next
        }
        return out
    }

    @Test(
        "frequency descriptions hospitals send read as times of day",
        arguments: [
            ("tid", ["08:00", "12:00", "18:00"], 1), ("每日三次", ["08:00", "12:00", "18:00"], 1), ("一日3次", ["08:00", "12:00", "18:00"], 1),
            ("BID", ["08:00", "20:00"], 1), ("q.d.", ["08:00"], 1), ("每日四次", ["08:00", "12:00", "16:00", "20:00"], 1),
            ("q8h", ["06:00", "14:00", "22:00"], 1), ("q6h", ["00:00", "06:00", "12:00", "18:00"], 1), ("睡前", ["21:00"], 1),
            ("qod", ["08:00"], 2), ("每周一次", ["08:00"], 7),
        ])
    func frequencies(text: String, times: [String], everyDays: Int) {
        let read = DoseTimes.reading(text)
        #expect(read?.times.map(\.description) == times)
        #expect(read?.everyDays == everyDays)
    }

    @Test("as-needed and unknown frequencies have no times")
    func noTimes() {
        #expect(DoseTimes.reading("prn") == nil)
        #expect(DoseTimes.reading("每日五次") == nil)
        #expect(Self.proposal(Dosage(frequency: "必要时")) == nil, "an as-needed drug gets no reminder")
        #expect(Self.proposal(Dosage(frequency: "tid"), item: Self.service) == nil, "only drugs get reminders")
    }

    @Test("a three-times-a-day course of two days settled at 10:00 fires at 12:00 and 18:00, then three times the next day")
    func course() throws {
        let reminder = try #require(Self.proposal(Dosage(singleDose: "1粒", frequency: "tid", days: 2, route: "口服")))
        #expect(reminder.state == .proposed && reminder.nextAt == nil && reminder.assumptions.isEmpty)
        #expect(reminder.firstDay == CivilDate("2026-03-02") && reminder.lastDay == CivilDate("2026-03-03"))
        #expect(
            Self.times(reminder, from: Self.settledAt)
                == [
                    Self.at("2026-03-02T12:00:00"), Self.at("2026-03-02T18:00:00"), Self.at("2026-03-03T08:00:00"), Self.at("2026-03-03T12:00:00"),
                    Self.at("2026-03-03T18:00:00"),
                ])
        let message = reminder.message(due: Self.at("2026-03-03T08:00:00"))
        #expect(message.title == "用药提醒：阿莫西林胶囊")
        #expect(message.body.hasPrefix("08:00 用药：阿莫西林胶囊（0.25g×24粒），口服 1粒。疗程第 2/2 天"), "\(message.body)")
    }

    @Test("a course settled just before midnight UTC+8 starts on the Chinese day; every other day skips a day")
    func chinaDayAndInterval() throws {
        let line = LineSplit.split(
            FeeLine(lineNumber: "1", itemCode: "A001", unitPrice: .yuan(12), quantity: Quantity(units: 1), dosage: Dosage(frequency: "qod", days: 5)),
            item: Self.drug)
        // 23:30 on 2 March in China is 15:30 UTC: the course's first day is 2 March.
        let reminder = try #require(
            MedicationReminder.proposal(
                for: line, dosage: line.dosage, id: "MR1", personNumber: "P1", settlementId: "S1", institutionName: "测试医院",
                settledAt: Self.at("2026-03-02T23:30:00")))
        #expect(reminder.firstDay == CivilDate("2026-03-02"))
        #expect(
            Self.times(reminder, from: Self.at("2026-03-02T23:30:00"))
                == [Self.at("2026-03-04T08:00:00"), Self.at("2026-03-06T08:00:00")])
    }

    @Test("without dosage the proposal is once a day for seven days and says so")
    func assumptions() throws {
        let reminder = try #require(Self.proposal(nil))
        #expect(reminder.times.map(\.description) == ["08:00"] && reminder.days == 7)
        #expect(reminder.assumptions.count == 2)
        let unknown = try #require(Self.proposal(Dosage(frequency: "遵医嘱", days: 3)))
        #expect(unknown.days == 3 && unknown.assumptions.count == 1 && unknown.assumptions[0].contains("遵医嘱"))
    }

    @Test("accepting schedules the next time; turning off stops it; edits are checked; a cancelled reminder cannot change")
    func edits() throws {
        let proposed = try #require(Self.proposal(Dosage(frequency: "bid", days: 3)))
        let accepted = try proposed.applying(.init(state: .active), now: Self.settledAt)
        #expect(accepted.state == .active && accepted.nextAt == Self.at("2026-03-02T20:00:00"))
        let edited = try accepted.applying(
            .init(times: [TimeOfDay("21:30")!, TimeOfDay("07:15")!], days: 1, singleDose: "2粒"), now: Self.settledAt)
        #expect(edited.times.map(\.description) == ["07:15", "21:30"] && edited.nextAt == Self.at("2026-03-02T21:30:00"))
        #expect(edited.singleDose == "2粒" && edited.assumptions.isEmpty)
        let off = try edited.applying(.init(state: .off), now: Self.settledAt)
        #expect(off.state == .off && off.nextAt == nil)

        #expect(throws: Refusal.invalid("times", "times are 1 to 8 different \"HH:mm\" times")) {
            try accepted.applying(.init(times: [TimeOfDay("08:00")!, TimeOfDay("08:00")!]), now: Self.settledAt)
        }
        #expect(throws: Refusal.self) { try accepted.applying(.init(state: .finished), now: Self.settledAt) }
        #expect(throws: Refusal.self) { try accepted.applying(.init(days: 0), now: Self.settledAt) }
        #expect(TimeOfDay("24:00") == nil && TimeOfDay("8:5") == nil && TimeOfDay("08:00")?.minutes == 480)

        let cancelled = accepted.cancelled()
        #expect(cancelled.state == .cancelled && cancelled.nextAt == nil)
        do {
            _ = try cancelled.applying(.init(state: .active), now: Self.settledAt)
            Issue.record("a cancelled reminder changed")
        } catch {
            #expect(error.code == .reminderClosed)
        }
    }

    @Test("firing moves to the next time after now (missed times are not sent late) and finishes after the last")
    func firing() throws {
        let accepted = try #require(Self.proposal(Dosage(frequency: "tid", days: 2))).applying(.init(state: .active), now: Self.settledAt)
        // The platform was down from 12:00 on day 1 until 09:00 on day 2: the next is 12:00 on day 2.
        let late = accepted.fired(due: Self.at("2026-03-02T12:00:00"), now: Self.at("2026-03-03T09:00:00"))
        #expect(late.nextAt == Self.at("2026-03-03T12:00:00") && late.delivered == 1)
        let last = late.fired(due: Self.at("2026-03-03T18:00:00"), now: Self.at("2026-03-03T18:00:01"))
        #expect(last.state == .finished && last.nextAt == nil && last.delivered == 2)
        // Accepting after the course is over finishes it at once.
        let stale = try #require(Self.proposal(Dosage(frequency: "qd", days: 1)))
        #expect(try stale.applying(.init(state: .active), now: Self.at("2026-03-05T08:00:00")).state == .finished)
    }

    @Test("dosage fields are checked like the rest of the line")
    func dosageValidation() {
        let line = FeeLine(lineNumber: "1", itemCode: "A001", unitPrice: .yuan(1), quantity: Quantity(units: 1), dosage: Dosage(days: 400))
        #expect(throws: Refusal.invalid("lines[0].dosage.days", "days must be 1 to 365")) { try line.validate(path: "lines[0]") }
        let empty = FeeLine(lineNumber: "1", itemCode: "A001", unitPrice: .yuan(1), quantity: Quantity(units: 1), dosage: Dosage(frequency: ""))
        #expect(throws: Refusal.self) { try empty.validate(path: "lines[0]") }
    }
}
