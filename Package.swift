// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "yibao",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "yibao", targets: ["yibao"]),
        .library(name: "YibaoCore", targets: ["YibaoCore"]),
        .library(name: "YibaoStore", targets: ["YibaoStore"]),
        .library(name: "YibaoApp", targets: ["YibaoApp"]),
        .library(name: "YibaoSandbox", targets: ["YibaoSandbox"]),
        .library(name: "YibaoServer", targets: ["YibaoServer"]),
        .library(name: "YibaoSimulation", targets: ["YibaoSimulation"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.1.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        .target(
            name: "YibaoCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        .target(
            name: "YibaoStore",
            dependencies: [
                "YibaoCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "YibaoApp",
            dependencies: [
                "YibaoCore", "YibaoStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "YibaoSandbox",
            dependencies: ["YibaoCore", "YibaoStore", "YibaoApp"],
            swiftSettings: strict
        ),
        .target(
            name: "YibaoSimulation",
            dependencies: ["YibaoCore", "YibaoStore", "YibaoApp", "YibaoSandbox"],
            swiftSettings: strict
        ),
        .target(
            name: "YibaoServer",
            dependencies: [
                "YibaoCore", "YibaoStore", "YibaoApp", "YibaoSandbox",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ],
            resources: [.copy("Assets")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "yibao",
            dependencies: [
                "YibaoCore", "YibaoStore", "YibaoApp", "YibaoSandbox", "YibaoServer", "YibaoSimulation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .target(name: "YibaoTestSupport", path: "Tests/YibaoTestSupport", swiftSettings: strict),
        .testTarget(name: "YibaoCoreTests", dependencies: ["YibaoCore", "YibaoTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "YibaoAppTests", dependencies: ["YibaoCore", "YibaoStore", "YibaoApp", "YibaoSandbox", "YibaoTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "YibaoSimulationTests", dependencies: ["YibaoCore", "YibaoStore", "YibaoApp", "YibaoSimulation", "YibaoTestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "YibaoServerTests",
            dependencies: [
                "YibaoCore", "YibaoStore", "YibaoApp", "YibaoSandbox", "YibaoServer", "YibaoTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ],
            swiftSettings: strict
        ),
    ]
)
