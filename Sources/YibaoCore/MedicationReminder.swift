/// How a prescribed drug is to be taken, as the hospital sends it with the fee line (national 2204
/// `feedetail`). Every field is optional: many hospital systems send none, and then a reminder is
/// proposed on stated assumptions the patient can edit.
public struct Dosage: Sendable, Hashable, Codable {
    /// 单次剂量描述 `sin_dos_dscr`, e.g. "1片" or "0.5g".
    public var singleDose: String?
    /// 使用频次描述 `used_frqu_dscr`, e.g. "tid" or "每日三次".
    public var frequency: String?
    /// 周期天数 `prd_days`: for how many days (a fraction on the wire is rounded up to whole days).
    public var days: Int?
    /// 用药途径描述 `medc_way_dscr`, e.g. "口服".
    public var route: String?

    /// Creates a dosage.
    public init(singleDose: String? = nil, frequency: String? = nil, days: Int? = nil, route: String? = nil) {
        self.singleDose = singleDose
        self.frequency = frequency
        self.days = days
        self.route = route
    }

    /// The longest course a reminder follows (days).
    public static let daysMax = 365

    /// Checks lengths and ranges; `path` names the line in refusals.
    public func validate(path: String) throws(Refusal) {
        for (name, value, limit) in [("single_dose", singleDose, 50), ("frequency", frequency, 30), ("route", route, 30)] {
            if let value, value.isEmpty || value.count > limit {
                throw .invalid(path + ".dosage." + name, "\(name) must be 1 to \(limit) characters")
            }
        }
        if let days, !(1...Dosage.daysMax).contains(days) {
            throw .invalid(path + ".dosage.days", "days must be 1 to \(Dosage.daysMax)")
        }
    }
}

/// A time of day in China Standard Time, written "HH:mm".
public struct TimeOfDay: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Minutes after midnight, 0 to 1439.
    public let minutes: Int

    /// A time from hours and minutes; nil out of range.
    public init?(hour: Int, minute: Int) {
        guard (0...23).contains(hour), (0...59).contains(minute) else { return nil }
        self.minutes = hour * 60 + minute
    }

    /// Parses "HH:mm" (or "H:mm").
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...2).contains(parts[0].count), parts[1].count == 2,
            parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
            let hour = Int(parts[0]), let minute = Int(parts[1])
        else { return nil }
        self.init(hour: hour, minute: minute)
    }

    public var description: String {
        let hour = minutes / 60
        let minute = minutes % 60
        return (hour < 10 ? "0" : "") + String(hour) + ":" + (minute < 10 ? "0" : "") + String(minute)
    }

    public static func < (lhs: TimeOfDay, rhs: TimeOfDay) -> Bool { lhs.minutes < rhs.minutes }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let time = TimeOfDay(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "a time of day is \"HH:mm\""))
        }
        self = time
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// What a frequency description means for reminders: at which times of day, every how many days.
public struct DoseTimes: Sendable, Hashable {
    /// The times of day, ascending.
    public var times: [TimeOfDay]
    /// 1 for every day, 2 for every other day, 7 for weekly.
    public var everyDays: Int

    /// Reads the common ways hospital systems write `used_frqu_dscr` — the Latin abbreviations (qd, bid,
    /// tid, qid, qn, qod, qw, q6h, q8h, q12h) and their Chinese forms (每日一次 … 每日四次, 一日3次,
    /// 每晚, 睡前, 隔日一次, 每周一次). Nil for a frequency with no fixed times (prn 必要时, st 立即) and
    /// for text it does not know; the proposal then says what it assumed.
    public static func reading(_ frequency: String) -> DoseTimes? {
        let text = frequency.lowercased().filter { !$0.isWhitespace && $0 != "." }
        func at(_ hours: [Int], every: Int = 1) -> DoseTimes {
            DoseTimes(times: hours.compactMap { TimeOfDay(hour: $0, minute: 0) }, everyDays: every)
        }
        switch text {
        case "qd", "1/d", "每日一次", "每天一次", "一日一次", "一天一次", "一日1次", "每日1次", "每天1次", "1日1次": return at([8])
        case "bid", "2/d", "每日两次", "每日二次", "每天两次", "一日两次", "一日二次", "一日2次", "每日2次", "每天2次", "1日2次": return at([8, 20])
        case "tid", "3/d", "每日三次", "每天三次", "一日三次", "一日3次", "每日3次", "每天3次", "1日3次": return at([8, 12, 18])
        case "qid", "4/d", "每日四次", "每天四次", "一日四次", "一日4次", "每日4次", "每天4次", "1日4次": return at([8, 12, 16, 20])
        case "qn", "hs", "每晚一次", "每晚", "睡前", "每晚睡前": return at([21])
        case "qm", "每早一次", "每早", "晨起": return at([7])
        case "q12h", "每12小时一次", "每12小时": return at([8, 20])
        case "q8h", "每8小时一次", "每8小时": return at([6, 14, 22])
        case "q6h", "每6小时一次", "每6小时": return at([6, 12, 18, 0].sorted())
        case "qod", "隔日一次", "隔日1次", "隔天一次": return at([8], every: 2)
        case "qw", "每周一次", "每周1次", "一周一次": return at([8], every: 7)
        default: return nil
        }
    }
}

/// Where a medication reminder stands.
public enum ReminderState: String, Sendable, Hashable, Codable, CaseIterable {
    /// Proposed from a settled drug line; fires only once the patient accepts it.
    case proposed
    /// Accepted: fires at its times.
    case active
    /// Turned off by the patient (may be turned on again while the course lasts).
    case off
    /// The drug line was refunded or the settlement reversed: never fires again.
    case cancelled
    /// The course is over: every time has passed.
    case finished
}

/// A reminder schedule for one settled drug line: the course's times in China Standard Time, from the
/// day of the settlement for the prescribed number of days. Pure: the next time, an edit and a delivery
/// are decided here; the platform stores the result.
public struct MedicationReminder: Sendable, Hashable, Codable {
    /// The reminder's id.
    public var id: String
    /// Whose medicine it is.
    public var personNumber: String
    /// The settlement that dispensed it.
    public var settlementId: String
    /// The line that dispensed it (`feedetl_sn`).
    public var lineNumber: String
    /// Where it was dispensed.
    public var institutionName: String
    /// The catalogue code (`med_list_codg`).
    public var itemCode: String
    /// The drug's name.
    public var itemName: String
    /// The drug's specification (pack size, strength).
    public var specification: String
    /// How much was dispensed (`cnt`).
    public var quantity: Quantity
    /// One dose, as the hospital wrote it (`sin_dos_dscr`), or as the patient edited it.
    public var singleDose: String?
    /// How it is taken (`medc_way_dscr`).
    public var route: String?
    /// The frequency as the hospital wrote it (`used_frqu_dscr`), kept for the patient to read.
    public var frequency: String?
    /// The times of day it fires.
    public var times: [TimeOfDay]
    /// 1: every day; 2: every other day; 7: weekly.
    public var everyDays: Int
    /// The course's first day (the settlement's day in China).
    public var firstDay: CivilDate
    /// The course's length in days.
    public var days: Int
    /// Where it stands.
    public var state: ReminderState
    /// What the proposal assumed where the hospital sent nothing (shown to the patient).
    public var assumptions: [String]
    /// When it fires next (nil unless active).
    public var nextAt: Instant?
    /// How many times it fired.
    public var delivered: Int
    /// The bound relative (family binder) who looks after this medicine: set when they accept or edit the
    /// reminder for the patient; each time also reaches their inbox while the binding lasts.
    public var caregiver: String?

    /// The course's last day.
    public var lastDay: CivilDate { firstDay.adding(days: Int64(days - 1)) }

    /// The most times of day one reminder may have.
    public static let timesMax = 8
    /// A course assumed when the hospital sends no days.
    public static let assumedDays = 7

    /// Proposes a reminder for a settled line dispensed at `settledAt`, or nil when the line is not a
    /// drug or its frequency has no fixed times (as needed, at once).
    public static func proposal(
        for line: LineSplit, dosage: Dosage?, id: String, personNumber: String, settlementId: String, institutionName: String,
        settledAt: Instant
    ) -> MedicationReminder? {
        guard line.category == .drug, line.quantity.scaled > 0 else { return nil }
        var assumptions: [String] = []
        let doseTimes: DoseTimes
        if let frequency = dosage?.frequency {
            guard let read = DoseTimes.reading(frequency) else {
                let text = frequency.lowercased().filter { !$0.isWhitespace }
                if ["prn", "st", "sos", "必要时", "立即", "临时"].contains(text) { return nil }
                assumptions.append("医院给出的频次“\(frequency)”无法识别，暂按每日一次提醒，请按医嘱修改")
                return proposal(
                    line: line, dosage: dosage, doseTimes: DoseTimes(times: [TimeOfDay(hour: 8, minute: 0)!], everyDays: 1),
                    assumptions: assumptions, id: id, personNumber: personNumber, settlementId: settlementId,
                    institutionName: institutionName, settledAt: settledAt)
            }
            doseTimes = read
        } else {
            assumptions.append("医院未提供用药频次，暂按每日一次提醒，请按医嘱修改")
            doseTimes = DoseTimes(times: [TimeOfDay(hour: 8, minute: 0)!], everyDays: 1)
        }
        return proposal(
            line: line, dosage: dosage, doseTimes: doseTimes, assumptions: assumptions, id: id, personNumber: personNumber,
            settlementId: settlementId, institutionName: institutionName, settledAt: settledAt)
    }

    private static func proposal(
        line: LineSplit, dosage: Dosage?, doseTimes: DoseTimes, assumptions: [String], id: String, personNumber: String,
        settlementId: String, institutionName: String, settledAt: Instant
    ) -> MedicationReminder {
        var assumptions = assumptions
        let days: Int
        if let sent = dosage?.days {
            days = sent
        } else {
            days = assumedDays
            assumptions.append("医院未提供用药天数，暂按 \(assumedDays) 天提醒，请按医嘱修改")
        }
        return MedicationReminder(
            id: id, personNumber: personNumber, settlementId: settlementId, lineNumber: line.lineNumber, institutionName: institutionName,
            itemCode: line.itemCode, itemName: line.itemName, specification: line.specification, quantity: line.quantity,
            singleDose: dosage?.singleDose, route: dosage?.route, frequency: dosage?.frequency, times: doseTimes.times,
            everyDays: doseTimes.everyDays, firstDay: ChinaTime.date(settledAt), days: days, state: .proposed, assumptions: assumptions,
            nextAt: nil, delivered: 0, caregiver: nil)
    }

    /// The first time of the course strictly after `instant`, or nil once the course is over.
    public func nextTime(after instant: Instant) -> Instant? {
        var day = max(firstDay, ChinaTime.date(instant))
        let offset = Int(day.daysSinceEpoch - firstDay.daysSinceEpoch) % everyDays
        if offset != 0 { day = day.adding(days: Int64(everyDays - offset)) }
        while day <= lastDay {
            for time in times.sorted() {
                let at = day.startInChina.adding(seconds: Int64(time.minutes) * 60)
                if at > instant { return at }
            }
            day = day.adding(days: Int64(everyDays))
        }
        return nil
    }

    /// What the patient may change.
    public struct Change: Sendable, Hashable {
        /// `active` to accept or turn on, `off` to turn off.
        public var state: ReminderState?
        /// New times of day.
        public var times: [TimeOfDay]?
        /// A new course length (from the first day).
        public var days: Int?
        /// A new dose text.
        public var singleDose: String?
        /// The bound relative making the change (nil: the patient): they become the caregiver.
        public var caregiver: String?

        /// Creates a change.
        public init(
            state: ReminderState? = nil, times: [TimeOfDay]? = nil, days: Int? = nil, singleDose: String? = nil, caregiver: String? = nil
        ) {
            self.state = state
            self.times = times
            self.days = days
            self.singleDose = singleDose
            self.caregiver = caregiver
        }
    }

    /// The reminder after the patient's change at `now`: accepted or turned on it fires at its next
    /// time (finished when none is left); turned off it does not fire. A cancelled or finished reminder
    /// cannot be changed.
    public func applying(_ change: Change, now: Instant) throws(Refusal) -> MedicationReminder {
        guard state != .cancelled && state != .finished else {
            throw Refusal(
                .reminderClosed,
                state == .cancelled ? "this reminder was cancelled: its drug was refunded" : "this reminder's course is over")
        }
        var next = self
        if let state = change.state {
            guard state == .active || state == .off else { throw .invalid("state", "state is active (accept or turn on) or off") }
            next.state = state
        }
        if let times = change.times {
            guard (1...MedicationReminder.timesMax).contains(times.count), Set(times).count == times.count else {
                throw .invalid("times", "times are 1 to \(MedicationReminder.timesMax) different \"HH:mm\" times")
            }
            next.times = times.sorted()
        }
        if let days = change.days {
            guard (1...Dosage.daysMax).contains(days) else { throw .invalid("days", "days must be 1 to \(Dosage.daysMax)") }
            next.days = days
        }
        if let dose = change.singleDose {
            guard !dose.isEmpty && dose.count <= 50 else { throw .invalid("single_dose", "single_dose must be 1 to 50 characters") }
            next.singleDose = dose
        }
        if let caregiver = change.caregiver { next.caregiver = caregiver }
        next.assumptions = change.times == nil && change.days == nil ? assumptions : []
        next.schedule(after: now)
        return next
    }

    /// The reminder after it fired for the time `due`, at `now`: the next time after now (times missed
    /// while the platform was down are not sent late one by one), finished when none is left.
    public func fired(due: Instant, now: Instant) -> MedicationReminder {
        precondition(state == .active, "only an active reminder fires")
        var next = self
        next.delivered += 1
        next.schedule(after: max(due, now))
        return next
    }

    /// The reminder after its drug line was refunded or its settlement reversed.
    public func cancelled() -> MedicationReminder {
        var next = self
        if next.state != .finished { next.state = .cancelled }
        next.nextAt = nil
        return next
    }

    private mutating func schedule(after instant: Instant) {
        guard state == .active else {
            nextAt = nil
            return
        }
        nextAt = nextTime(after: instant)
        if nextAt == nil { state = .finished }
    }

    /// The caregiver's inbox message for the time `due`: the same, naming whose medicine it is.
    public func caregiverMessage(due: Instant, patientMasked: String) -> (title: String, body: String) {
        let own = message(due: due)
        return ("家人用药提醒：\(patientMasked) · \(itemName)", "为 \(patientMasked) 提醒：" + own.body)
    }

    /// The inbox message for the time `due`.
    public func message(due: Instant) -> (title: String, body: String) {
        let local = ChinaTime.localDateTime(due)
        let day = Int(local.date.daysSinceEpoch - firstDay.daysSinceEpoch) + 1
        let time = TimeOfDay(hour: local.hour, minute: local.minute).map(\.description) ?? ""
        let how = [route, singleDose].compactMap { $0 }.joined(separator: " ")
        return (
            "用药提醒：\(itemName)",
            "\(time) 用药：\(itemName)（\(specification)），\(how.isEmpty ? "请按医嘱服用" : how)。疗程第 \(day)/\(days) 天，\(institutionName) 开具，结算号 \(settlementId)。"
        )
    }
}
