/// China's 18-character resident ID number (公民身份号码, GB 11643): 17 digits and an ISO 7064
/// MOD 11-2 check character (0-9 or X).
public enum IDNumber {
    private static let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    private static let checks = Array("10X98765432")

    /// The check character for the first 17 digits.
    public static func checkCharacter(_ first17: String) -> Character? {
        let digits = first17.compactMap(\.wholeNumberValue)
        guard digits.count == 17, first17.count == 17 else { return nil }
        let sum = zip(digits, weights).map(*).reduce(0, +)
        return checks[sum % 11]
    }

    /// True for a well-formed number with a correct check character and a real birth date.
    public static func isValid(_ number: String) -> Bool {
        let upper = number.uppercased()
        guard upper.count == 18, let check = checkCharacter(String(upper.prefix(17))), upper.last == check else { return false }
        return birthDate(upper) != nil
    }

    /// The birth date encoded in positions 7-14.
    public static func birthDate(_ number: String) -> CivilDate? {
        let chars = Array(number)
        guard chars.count == 18, let year = Int(String(chars[6..<10])), let month = Int(String(chars[10..<12])),
            let day = Int(String(chars[12..<14]))
        else { return nil }
        return CivilDate(year: year, month: month, day: day)
    }

    /// Makes a valid number from a 6-digit region, a birth date and a 3-digit sequence (demo data, tests).
    public static func make(region: String, birthDate: CivilDate, sequence: Int) -> String {
        var seq = String(sequence % 1000)
        while seq.count < 3 { seq = "0" + seq }
        let month = birthDate.month < 10 ? "0\(birthDate.month)" : "\(birthDate.month)"
        let day = birthDate.day < 10 ? "0\(birthDate.day)" : "\(birthDate.day)"
        let first17 = region + "\(birthDate.year)" + month + day + seq
        return first17 + String(checkCharacter(first17)!)
    }
}
