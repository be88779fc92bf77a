import Hummingbird
import YibaoApp
import YibaoCore

/// Payment orders (医保移动支付, national 6201-6203 semantics): the institution creates, queries,
/// cancels and refunds; the patient (or a binder for a bound member) sees and pays them in the app.
struct PaymentOrderController {
    let platform: Platform
    let metrics: BusinessMetrics

    struct PayRequest: Codable, Sendable {
        /// 个人账户使用标志; default true.
        var useAccount: Bool?
        /// The second factor (the e-voucher password step), unless proved in this session in the last five minutes.
        var totpCode: String?
    }

    func addRoutes(to routes: RouteRegistry) {
        routes.add(.post, "/v1/payment-orders", .institution, "Create a payment order for a visit's fee lines, paid on the patient's phone (6201)") {
            request, context in
            var request = request
            let body = try await request.decodeJSON(PaymentOrderRequest.self, context: context)
            return JSONResponse(try await platform.createPaymentOrder(body, institution: context.institution), status: .created)
        }
        routes.add(.get, "/v1/payment-orders/{order_id}", .institution, "A payment order and, once paid, its settlement") { _, context in
            JSONResponse(try await platform.paymentOrder(id: try context.parameters.require("order_id"), institution: context.institution))
        }
        routes.add(.delete, "/v1/payment-orders/{order_id}", .institution, "Cancel a payment order not paid") { _, context in
            JSONResponse(try await platform.cancelPaymentOrder(id: try context.parameters.require("order_id"), institution: context.institution))
        }
        routes.add(.post, "/v1/payment-orders/{order_id}/refunds", .institution, "Refund a paid order (the settlement's refund rules, 6203)") {
            request, context in
            var request = request
            let bytes = try await request.bodyBytes(context: context)
            let idempotency = try VisitController.idempotency(request, bytes)
            let body = try JSONBody.decode(RefundRequest.self, from: bytes)
            let settlementID = try await platform.paidSettlement(
                ofOrder: try context.parameters.require("order_id"), institution: context.institution)
            let record = try await metrics.count(.refund) {
                try await platform.refund(settlementID: settlementID, institution: context.institution, request: body, idempotency: idempotency)
            }
            return JSONResponse(record, status: .created)
        }
        routes.add(.get, "/v1/patient/payment-orders", .patient, "Orders to pay: yours and those of the members you bind (last 30 days)") {
            _, context in
            JSONResponse(try await platform.paymentOrders(person: context.patient.personNumber))
        }
        routes.add(
            .post, "/v1/patient/payment-orders/{order_id}/payment", .patient,
            "Pay an order (second factor; choose whether the personal account pays); needs an Idempotency-Key"
        ) { request, context in
            var request = request
            let bytes = try await request.bodyBytes(context: context)
            let idempotency = try VisitController.idempotency(request, bytes)
            let body = try JSONBody.decode(PayRequest.self, from: bytes)
            try await platform.requireSecondFactor(body.totpCode, session: context.patient)
            let record = try await metrics.count(.settlement) {
                try await platform.payPaymentOrder(
                    id: try context.parameters.require("order_id"), payer: context.patient.personNumber, useAccount: body.useAccount ?? true,
                    idempotency: idempotency)
            }
            return JSONResponse(record, status: .created)
        }
    }
}
