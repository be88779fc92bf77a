import Synchronization

/// A point in time as milliseconds since 1970-01-01T00:00:00Z. Core never reads the system clock:
/// every "now" comes from a `WallClock` passed in, so tests fix time at `t0` and move it by hand.
public struct Instant: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Milliseconds since the Unix epoch.
    public let millisecondsSinceEpoch: Int64

    /// Creates an instant from milliseconds since the Unix epoch.
    public init(millisecondsSinceEpoch: Int64) { self.millisecondsSinceEpoch = millisecondsSinceEpoch }

    /// Creates an instant from whole seconds since the Unix epoch.
    public init(secondsSinceEpoch: Int64) { self.millisecondsSinceEpoch = secondsSinceEpoch * 1000 }

    /// Whole seconds since the Unix epoch (rounded down).
    public var secondsSinceEpoch: Int64 { Int64((Double(millisecondsSinceEpoch) / 1000).rounded(.down)) }

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch }

    /// This instant moved by a number of milliseconds.
    public func adding(milliseconds: Int64) -> Instant { Instant(millisecondsSinceEpoch: millisecondsSinceEpoch + milliseconds) }

    /// This instant moved by a number of seconds.
    public func adding(seconds: Int64) -> Instant { adding(milliseconds: seconds * 1000) }

    /// This instant moved by a number of days.
    public func adding(days: Int64) -> Instant { adding(seconds: days * 86_400) }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let text = try? container.decode(String.self), let instant = Instant(iso8601: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected an ISO 8601 time such as 2026-11-22T08:30:00+08:00")
        }
        self = instant
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(iso8601)
    }

    /// The instant in China Standard Time, ISO 8601 with milliseconds: `2026-11-22T16:30:00.000+08:00`.
    public var iso8601: String {
        let local = ChinaTime.localDateTime(self)
        return local.date.description + "T" + pad(local.hour, 2) + ":" + pad(local.minute, 2) + ":"
            + pad(local.second, 2) + "." + pad(local.millisecond, 3) + "+08:00"
    }

    /// The national interface's `yyyy-MM-dd HH:mm:ss` in China Standard Time.
    public var nationalDateTime: String {
        let local = ChinaTime.localDateTime(self)
        return local.date.description + " " + pad(local.hour, 2) + ":" + pad(local.minute, 2) + ":" + pad(local.second, 2)
    }

    public var description: String { iso8601 }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)`.
    public init?(iso8601 text: String) {
        let chars = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int64? {
            guard range.upperBound <= chars.count else { return nil }
            var value: Int64 = 0
            for index in range {
                let c = chars[index]
                guard c >= 48 && c <= 57 else { return nil }
                value = value * 10 + Int64(c - 48)
            }
            return value
        }
        guard chars.count >= 20, chars[4] == 45, chars[7] == 45, chars[10] == 84 || chars[10] == 32, chars[13] == 58, chars[16] == 58,
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            let date = CivilDate(year: Int(year), month: Int(month), day: Int(day)), hour < 24, minute < 60, second < 60
        else { return nil }
        var index = 19
        var millis: Int64 = 0
        if index < chars.count && chars[index] == 46 {
            index += 1
            var digits = 0
            while index < chars.count, chars[index] >= 48, chars[index] <= 57 {
                if digits < 3 { millis = millis * 10 + Int64(chars[index] - 48) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            if digits < 3 { for _ in digits..<3 { millis *= 10 } }
        }
        var offsetMinutes: Int64 = 0
        guard index < chars.count else { return nil }
        if chars[index] == 90 {
            index += 1
        } else if chars[index] == 43 || chars[index] == 45 {
            guard let oh = number((index + 1)..<(index + 3)), index + 3 < chars.count, chars[index + 3] == 58,
                let om = number((index + 4)..<(index + 6))
            else { return nil }
            offsetMinutes = (oh * 60 + om) * (chars[index] == 45 ? -1 : 1)
            index += 6
        } else {
            return nil
        }
        guard index == chars.count else { return nil }
        let seconds = date.daysSinceEpoch * 86_400 + hour * 3600 + minute * 60 + second - offsetMinutes * 60
        self.millisecondsSinceEpoch = seconds * 1000 + millis
    }
}

private func pad(_ value: Int, _ width: Int) -> String {
    var text = String(value)
    while text.count < width { text = "0" + text }
    return text
}

/// A calendar date without a time zone (a date of birth, a business day).
public struct CivilDate: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Year, e.g. 2026.
    public let year: Int
    /// Month, 1 ... 12.
    public let month: Int
    /// Day of month, 1 ... 31.
    public let day: Int

    /// Creates a date, or nil when it does not exist (2026-02-30).
    public init?(year: Int, month: Int, day: Int) {
        guard (1900...9999).contains(year), (1...12).contains(month), day >= 1,
            day <= CivilDate.daysIn(month: month, year: year)
        else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `YYYY-MM-DD`.
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2])
        else { return nil }
        self.init(year: y, month: m, day: d)
    }

    /// Days in a month of a year (Gregorian).
    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 (Howard Hinnant's days_from_civil).
    public var daysSinceEpoch: Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The date a number of days after 1970-01-01 (civil_from_days).
    public init(daysSinceEpoch days: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.year = Int(yoe + era * 400 + (m <= 2 ? 1 : 0))
        self.month = Int(m)
        self.day = Int(d)
    }

    /// This date moved by a number of days.
    public func adding(days: Int64) -> CivilDate { CivilDate(daysSinceEpoch: daysSinceEpoch + days) }

    /// The first day of the next month.
    public var firstOfNextMonth: CivilDate {
        month == 12 ? CivilDate(year: year + 1, month: 1, day: 1)! : CivilDate(year: year, month: month + 1, day: 1)!
    }

    /// `YYYY-MM`.
    public var yearMonth: String { pad(year, 4) + "-" + pad(month, 2) }

    /// Whole years of age on `date` for someone born on this date.
    public func age(on date: CivilDate) -> Int {
        var years = date.year - year
        if date.month < month || (date.month == month && date.day < day) { years -= 1 }
        return years
    }

    /// Midnight at the start of this date in China Standard Time.
    public var startInChina: Instant { Instant(secondsSinceEpoch: daysSinceEpoch * 86_400 - ChinaTime.offsetSeconds) }

    public static func < (lhs: CivilDate, rhs: CivilDate) -> Bool { lhs.daysSinceEpoch < rhs.daysSinceEpoch }

    public var description: String { pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let text = try? container.decode(String.self), let date = CivilDate(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected a date YYYY-MM-DD")
        }
        self = date
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// China Standard Time (UTC+8, no daylight saving): the calendar of policy years, binding months,
/// billing days and business days.
public enum ChinaTime {
    /// The offset from UTC in seconds.
    public static let offsetSeconds: Int64 = 8 * 3600

    /// Date and time of day in China for an instant.
    public static func localDateTime(_ instant: Instant) -> (date: CivilDate, hour: Int, minute: Int, second: Int, millisecond: Int) {
        let local = instant.millisecondsSinceEpoch + offsetSeconds * 1000
        let dayMillis: Int64 = 86_400_000
        let days = local >= 0 ? local / dayMillis : (local - dayMillis + 1) / dayMillis
        let rest = local - days * dayMillis
        return (
            CivilDate(daysSinceEpoch: days), Int(rest / 3_600_000), Int(rest / 60_000 % 60), Int(rest / 1000 % 60),
            Int(rest % 1000)
        )
    }

    /// The calendar date in China for an instant.
    public static func date(_ instant: Instant) -> CivilDate { localDateTime(instant).date }
}

/// The source of "now". Production reads the system clock; tests fix it.
public protocol WallClock: Sendable {
    /// The current instant.
    func now() -> Instant
}

/// A clock that tests set and advance by hand.
public final class ManualClock: WallClock {
    private let current: Mutex<Instant>

    /// Creates a clock fixed at `start`.
    public init(_ start: Instant) { self.current = Mutex(start) }

    public func now() -> Instant { current.withLock { $0 } }

    /// Moves the clock to an instant.
    public func set(_ instant: Instant) { current.withLock { $0 = instant } }

    /// Moves the clock forward.
    public func advance(seconds: Int64) { current.withLock { $0 = $0.adding(seconds: seconds) } }
}
