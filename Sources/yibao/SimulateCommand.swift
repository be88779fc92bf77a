import ArgumentParser
import Foundation
import YibaoSimulation

/// `yibao simulate`: the seeded simulation of every operation sequence on the same money.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract:
            "Run the seeded simulation: random sequences of settlements, refunds, reversals, retries, bank faults and aborted transactions against a real database, with every invariant checked after every step."
    )

    @Option(help: "The first seed.")
    var seed: UInt64 = 1

    @Option(help: "How many seeds, from --seed on.")
    var seeds: UInt64 = 1

    @Option(help: "Steps per seed.")
    var steps = 100

    @Option(name: .customLong("database-url"), help: "Run on new databases of this PostgreSQL server instead of SQLite files.")
    var databaseURL: String?

    @Option(help: "Seeds run at once.")
    var parallel = 2

    @Flag(help: "Print every step and its outcome.")
    var verbose = false

    func run() async throws {
        let database: SimulationWorld.Database = databaseURL.map { .postgres(url: $0) } ?? .sqlite
        let started = Date()
        let log: (@Sendable (String) -> Void)? = verbose ? { @Sendable line in print(line) } : nil
        let steps = self.steps
        var failed: [Simulation.Report] = []
        var planPaid = 0
        var planBack = 0
        var stepsRun = 0
        var next = seed
        let end = seed &+ seeds
        while next < end {
            let batch = (next..<min(end, next &+ UInt64(max(1, parallel))))
            next = batch.upperBound
            let reports = try await withThrowingTaskGroup(of: Simulation.Report.self) { group in
                for current in batch {
                    group.addTask {
                        do {
                            return try await Simulation.run(seed: current, steps: steps, database: database, log: log)
                        } catch {
                            throw ValidationError("seed \(current) could not run: \(String(reflecting: error))")
                        }
                    }
                }
                var reports: [Simulation.Report] = []
                for try await report in group { reports.append(report) }
                return reports.sorted { $0.seed < $1.seed }
            }
            for report in reports {
                stepsRun += report.outcomes.count
                planPaid += report.planRecords.paid
                planBack += report.planRecords.givenBack
                print(report.text)
                if !report.passed { failed.append(report) }
            }
        }
        let seconds = Date().timeIntervalSince(started)
        print(
            String(
                format: "%llu seeds on %@, %d steps in %.1f s (%.0f steps/s): %d failed; the commercial plan paid in %d records, got back in %d",
                seeds, "\(database)", stepsRun, seconds, Double(stepsRun) / max(seconds, 0.001), failed.count, planPaid, planBack))
        if !failed.isEmpty {
            print("failing seeds: \(failed.map { String($0.seed) }.joined(separator: " "))")
            throw ExitCode(1)
        }
    }
}
