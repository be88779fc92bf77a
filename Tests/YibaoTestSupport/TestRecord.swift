import Foundation

/// What a test run did, for `scripts/test`'s summary: which database each store test ran on, which
/// halves were skipped and why, the seeds used. Lines are appended to the file named by
/// `YIBAO_TEST_SUMMARY` (nothing is written without it).
public enum TestRecord {
    private static let lock = NSLock()

    /// Appends one line: `kind<TAB>detail`, e.g. `store<TAB>sqlite seed=42` or `skipped<TAB>zbar: not installed`.
    public static func note(_ kind: String, _ detail: String) {
        guard let path = ProcessInfo.processInfo.environment["YIBAO_TEST_SUMMARY"], !path.isEmpty else { return }
        lock.lock()
        defer { lock.unlock() }
        let line = Data("\(kind)\t\(detail)\n".utf8)
        if let handle = FileHandle(forWritingAtPath: path) {
            handle.seekToEndOfFile()
            handle.write(line)
            try? handle.close()
        } else {
            _ = FileManager.default.createFile(atPath: path, contents: line)
        }
    }

    /// Whether a run requires PostgreSQL (CI sets `YIBAO_REQUIRE_POSTGRES=1`): its half must not be skipped.
    public static var postgresRequired: Bool { ProcessInfo.processInfo.environment["YIBAO_REQUIRE_POSTGRES"] == "1" }

    /// The seed of this run's random choices: `YIBAO_TEST_SEED` when set (to replay a run), else a new one.
    public static let runSeed: UInt64 = {
        if let text = ProcessInfo.processInfo.environment["YIBAO_TEST_SEED"], let seed = UInt64(text) { return seed }
        return UInt64.random(in: 1...UInt64(UInt32.max))
    }()
}
