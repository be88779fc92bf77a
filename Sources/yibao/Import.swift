import ArgumentParser
import Foundation
import YibaoApp
import YibaoCore
import YibaoServer
import YibaoStore

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import reference data: catalogue (CSV), institutions (CSV), people (CSV), policy (JSON, one file per region and year).",
        subcommands: [Catalogue.self, Institutions.self, People.self, PolicyFile.self]
    )

    /// Rows per transaction when importing.
    static let chunkSize = 500

    struct Catalogue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import catalogue items (columns: \(ReferenceFiles.catalogueHeader.joined(separator: ","))).")
        @OptionGroup var data: DataOptions
        @Argument(help: "The CSV file.") var file: String

        func run() async throws {
            let parsed = try Import.read(file) { try ReferenceFiles.catalogue($0) }
            let platform = try await data.openPlatform()
            var created = 0
            try await Import.chunks(parsed.items) { created += try await platform.importCatalogue($0) }
            await platform.close()
            Import.report(file: file, accepted: parsed.items.count, created: created, rejected: parsed.rejected)
        }
    }

    struct Institutions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import institutions (columns: \(ReferenceFiles.institutionHeader.joined(separator: ","))).")
        @OptionGroup var data: DataOptions
        @Argument(help: "The CSV file.") var file: String

        func run() async throws {
            let parsed = try Import.read(file) { try ReferenceFiles.institutions($0) }
            let platform = try await data.openPlatform()
            var created = 0
            try await Import.chunks(parsed.items) { chunk in
                for institution in chunk where try await platform.saveInstitution(institution) { created += 1 }
            }
            await platform.close()
            Import.report(file: file, accepted: parsed.items.count, created: created, rejected: parsed.rejected)
        }
    }

    struct People: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enrol people (columns: \(ReferenceFiles.peopleHeader.joined(separator: ","))).")
        @OptionGroup var data: DataOptions
        @Argument(help: "The CSV file.") var file: String

        func run() async throws {
            let parsed = try Import.read(file) { try ReferenceFiles.people($0) }
            let platform = try await data.openPlatform()
            var created = 0
            try await Import.chunks(parsed.items) { chunk in
                created += try await platform.enrol(chunk.map { ($0.person, $0.openingBalance) })
            }
            await platform.close()
            Import.report(file: file, accepted: parsed.items.count, created: created, rejected: parsed.rejected)
        }
    }

    struct PolicyFile: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "policy", abstract: "Save a region's policies for a year from a JSON file.")
        @OptionGroup var data: DataOptions
        @Argument(help: "The JSON file.") var file: String

        func run() async throws {
            let file = try YibaoJSON.decode(ReferenceFiles.PolicyFile.self, from: try Data(contentsOf: URL(fileURLWithPath: self.file)))
            if let problem = file.problems().first { throw ValidationError("\(problem.field): \(problem.message)") }
            let platform = try await data.openPlatform()
            try await platform.savePolicies(file.policies)
            await platform.close()
            print("saved \(file.policies.count) policies for \(file.region) \(file.year)")
        }
    }

    static func read<T>(_ file: String, _ parse: (String) throws -> T) throws -> T {
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw ValidationError("cannot read \(file): \(error.localizedDescription)")
        }
        do { return try parse(text) } catch { throw ValidationError("\(file): \(error)") }
    }

    /// Imports in chunks, one transaction each, with a progress bar on a terminal.
    static func chunks<T>(_ items: [T], _ body: ([T]) async throws -> Void) async throws {
        let progress = ProgressBar(total: items.count)
        var done = 0
        while done < items.count {
            let chunk = Array(items[done..<min(done + chunkSize, items.count)])
            do {
                try await body(chunk)
            } catch let refusal as Refusal {
                progress.finish()
                throw ValidationError("rows \(done + 1)-\(done + chunk.count) were not imported: \(refusal.detail)")
            }
            done += chunk.count
            progress.update(done)
        }
        progress.finish()
    }

    static func report(file: String, accepted: Int, created: Int, rejected: [ReferenceFiles.Rejection]) {
        print("\(file): \(accepted) rows imported (\(created) new, \(accepted - created) updated), \(rejected.count) rejected")
        for rejection in rejected { print("  \(file):\(rejection.line): \(rejection.reason)") }
    }
}

/// A progress bar on standard error when it is a terminal; silent otherwise.
final class ProgressBar {
    let total: Int
    let visible = isatty(STDERR_FILENO) == 1

    init(total: Int) { self.total = total }

    func update(_ done: Int) {
        guard visible, total > 0 else { return }
        let width = 30
        let filled = done * width / total
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        FileHandle.standardError.write(Data("\r\(bar) \(done * 100 / total)% \(done)/\(total) rows".utf8))
    }

    func finish() {
        if visible { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
