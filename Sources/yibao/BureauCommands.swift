import ArgumentParser
import Foundation
import YibaoApp
import YibaoCore
import YibaoServer
import YibaoStore

struct CloseDay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "close-day",
        abstract:
            "Close a day: reconcile the payment channel's statement, scan the exception queue, make the day's fund report with the ledger verified. Idempotent."
    )

    @OptionGroup var data: DataOptions

    @Option(help: "The day, YYYY-MM-DD (default: yesterday in China).")
    var date: String?

    @Flag(help: "Run again a day already closed (refreshes the kept result).")
    var again = false

    func run() async throws {
        let day = try date.map { text -> CivilDate in
            guard let day = CivilDate(text) else { throw ValidationError("--date is YYYY-MM-DD") }
            return day
        }
        let platform = try await data.openPlatform()
        do {
            let close = try await platform.closeDay(day, again: again)
            await platform.close()
            if let channel = close.channel {
                print(
                    "channel \(channel.channel) \(channel.day): \(channel.statementMovements) on the statement (captured \(channel.captured), "
                        + "refunded \(channel.refunded), fees \(channel.fees)), \(channel.yibaoMovements) in Yibao, \(channel.breaks.count) breaks")
                for item in channel.breaks {
                    print(
                        "BREAK \(item.kind.rawValue) \(item.movement.rawValue) \(item.key): channel \(item.channel?.description ?? "—"), Yibao \(item.yibao?.description ?? "—")"
                    )
                }
            } else {
                print("no payment channel with statements is configured: channel reconciliation skipped")
            }
            let totals = close.fundReport.totals
            print(
                "day \(close.day): \(totals.settlements) settlements, \(totals.refundsAndReversals) refunds and reversals, medfee \(totals.total), "
                    + "fund \(totals.fund), accounts \(totals.ownAccount + totals.mutualAid), cash \(totals.cash)")
            print("exceptions opened \(close.exceptionsOpened), resolved \(close.exceptionsResolved)")
            if let ledger = close.ledger {
                let scope =
                    ledger.day.map {
                        "the day's \(ledger.entries) entries (\(ledger.postings) postings, \(ledger.settlements) settlements), every balance against the sums verified to \($0.balancesFrom)"
                    }
                    ?? "the whole ledger: \(ledger.entries) entries, \(ledger.postings) postings, \(ledger.settlements) settlements"
                print("ledger verified: \(scope); \(ledger.accounts) accounts; \(ledger.problems.count) problems")
                for problem in ledger.problems { print("PROBLEM \(problem)") }
            }
            print(
                "anchor: audit heads \(close.fundReport.anchor.auditHeads.joined(separator: " ")); ledger verified \(close.fundReport.anchor.ledgerVerified ?? false)"
            )
            if close.fundReport.anchor.ledgerVerified != true { throw ExitCode(1) }
        } catch let refusal as Refusal {
            await platform.close()
            throw ValidationError(refusal.detail)
        }
    }
}

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Print the fund report of a period (a day, a month) as CSV or JSON, anchored to the audit heads.")

    @OptionGroup var data: DataOptions

    @Option(help: "First day, YYYY-MM-DD.")
    var from: String

    @Option(help: "Last day, YYYY-MM-DD (default: the first day).")
    var through: String?

    @Flag(help: "JSON instead of CSV.")
    var json = false

    @Flag(help: "Also verify the whole ledger and print the result in the anchor.")
    var verify = false

    func run() async throws {
        guard let first = CivilDate(from), let last = CivilDate(through ?? from) else { throw ValidationError("--from and --through are YYYY-MM-DD") }
        let period: StatementPeriod
        do {
            period = try StatementPeriod(from: first, through: last)
        } catch {
            throw ValidationError(error.detail)
        }
        let platform = try await data.openPlatform()
        let report = try await platform.fundReport(period: period, verifyLedger: verify)
        await platform.close()
        if json {
            print(String(decoding: try YibaoJSON.encode(report), as: UTF8.self))
        } else {
            print(report.csv, terminator: "")
        }
    }
}

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the embedded database, consistent as of one moment, while the server runs (SQLite's online backup API).",
        discussion: """
            The personal-data key file is not put in the backup: a copy of the data with its keys beside it is a copy anyone can read. \
            Keep the key file in its own safe place (--keys-out copies it where you say); `restore` takes it back with --keys-file. \
            For PostgreSQL use its own tools (docs/operations.md: base backup, WAL archiving, point-in-time recovery).
            """)

    @Option(name: .customLong("data"), help: "Data directory of the embedded database.")
    var dataDirectory = "./yibao-data"

    @Option(help: "The backup file to write (must not exist).")
    var out: String

    @Option(help: "Also copy the key file here (another medium than the backup's).")
    var keysOut: String?

    func run() async throws {
        let source = (dataDirectory as NSString).appendingPathComponent("yibao.sqlite")
        do {
            try SQLiteBackend.backup(databaseAt: source, to: out)
        } catch {
            throw ValidationError("\(error)")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
        print("backed up \(source) to \(out) (\(size) bytes, integrity checked)")
        let keys = (dataDirectory as NSString).appendingPathComponent("keys.json")
        if let keysOut {
            guard !FileManager.default.fileExists(atPath: keysOut) else { throw ValidationError("\(keysOut) exists") }
            try FileManager.default.copyItem(atPath: keys, toPath: keysOut)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keysOut)
            print("key file copied to \(keysOut); keep it apart from the backup")
        } else {
            print("the key file (\(keys)) is not in the backup: restore needs it (--keys-file)")
        }
    }
}

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a backup into a new data directory, then verify the ledger and the audit chain; exit 1 unless both pass.")

    @Option(help: "The backup file.")
    var from: String

    @Option(name: .customLong("data"), help: "The new data directory (must not hold a database).")
    var dataDirectory: String

    @Option(help: "The key file the backup's data was sealed with.")
    var keysFile: String

    func run() async throws {
        let target = (dataDirectory as NSString).appendingPathComponent("yibao.sqlite")
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        do {
            try SQLiteBackend.backup(databaseAt: from, to: target)
        } catch {
            throw ValidationError("\(error)")
        }
        let keys = (dataDirectory as NSString).appendingPathComponent("keys.json")
        if !FileManager.default.fileExists(atPath: keys) {
            try FileManager.default.copyItem(atPath: keysFile, toPath: keys)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keys)
        }
        var options = try DataOptions.parse(["--data", dataDirectory])
        options.keysFile = keys
        let platform = try await options.openPlatform()
        let ledger = try await platform.verifyLedger()
        let audit = try await platform.verifyAudit()
        await platform.close()
        print("restored \(from) into \(dataDirectory)")
        print(
            "ledger: \(ledger.entries) entries, \(ledger.settlements) settlements, \(ledger.passed ? "verified" : "\(ledger.problems.count) problems")"
        )
        print(
            "audit: \(audit.records) records, \(audit.passed ? "verified" : "\(audit.problems.count) problems"); heads \(audit.heads.map(\.description).joined(separator: " "))"
        )
        for problem in ledger.problems.prefix(20) { print("DISCREPANCY \(problem)") }
        for problem in audit.problems.prefix(20) { print("AUDIT \(problem)") }
        guard ledger.passed, audit.passed else { throw ExitCode(1) }
    }
}
