import ArgumentParser
import Foundation
import YibaoApp
import YibaoCore
import YibaoServer
import YibaoStore

struct VerifyAudit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-audit",
        abstract:
            "Prove the hash-chained audit log; print each lane's head; exit 1 and point at the first broken link if anything was edited, deleted or reordered."
    )

    @OptionGroup var data: DataOptions

    @Option(
        name: .customLong("anchor"),
        help: "A head published earlier (lane:seq:hash, e.g. from a daily report) that must still be in the chain. Repeatable.")
    var anchors: [String] = []

    func run() async throws {
        let parsed = try anchors.map { text -> AuditReport.Head in
            guard let head = AuditReport.Head(text) else { throw ValidationError("an anchor looks like 3:1207:<64 hex digits>") }
            return head
        }
        let platform = try await data.openPlatform()
        let report = try await platform.verifyAudit(anchors: parsed)
        await platform.close()
        print("checked \(report.records) audit records in \(report.heads.count) lanes")
        for head in report.heads { print("head \(head)") }
        if report.passed {
            print("audit log verified: every record is chained to the one before it")
        } else {
            for problem in report.problems { print("BROKEN \(problem)") }
            throw ExitCode(1)
        }
    }
}

struct RotateKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-key",
        abstract: "Add a new personal-data key, make it current, and re-encrypt every sealed value under it while the platform keeps running."
    )

    @OptionGroup var data: DataOptions

    @Flag(help: "After re-encryption, remove the old keys from the key file (only when no value is left under them).")
    var retire = false

    func run() async throws {
        let configuration = data.configuration()
        let file = configuration.resolvedKeysFile
        guard ProcessInfo.processInfo.environment["YIBAO_KEYS"] == nil else {
            throw ValidationError("rotate-key works on a key file (--keys-file); keys given in YIBAO_KEYS cannot be rewritten")
        }
        let keys = try PersonalDataCipher.loadKeys(file: file, create: false)
        let rotated = keys.rotated()
        try PersonalDataCipher.writeKeys(rotated, to: file)
        print("new current key \(rotated.current) written to \(file) (running servers pick it up within a minute)")
        let platform = try await data.openPlatform()
        let report = try await platform.resealUnderCurrentKey(actor: "cli:rotate-key")
        for (column, count) in report.resealed.sorted(by: { $0.key < $1.key }) where count > 0 { print("re-encrypted \(count) values of \(column)") }
        print("\(report.remaining) values remain under older keys")
        if retire {
            if report.remaining == 0 {
                var retired = rotated
                retired.dataKeys = [rotated.current: rotated.dataKeys[rotated.current]!]
                try PersonalDataCipher.writeKeys(retired, to: file)
                print("old keys removed from \(file)")
            } else {
                print("old keys kept: values written meanwhile under them; run rotate-key --retire again")
            }
        }
        await platform.close()
    }
}

struct NewKeys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new-keys",
        abstract: "Create a personal-data key file (mode 0600) for a PostgreSQL deployment; give it to every instance with --keys-file."
    )

    @Option(help: "Where to write it; refuses to overwrite.")
    var out: String

    func run() async throws {
        guard !FileManager.default.fileExists(atPath: out) else { throw ValidationError("\(out) exists; keys are never overwritten") }
        try PersonalDataCipher.writeKeys(PersonalDataCipher.Keys.generate(), to: out)
        print("wrote \(out): back it up; without it personal data in the database cannot be read")
    }
}
