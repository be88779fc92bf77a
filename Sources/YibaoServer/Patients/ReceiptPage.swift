import Foundation
import Hummingbird
import NIOCore
import YibaoApp
import YibaoCore
import YibaoStore

/// The printable receipt page (电子票据): every value HTML-escaped.
enum ReceiptPage {
    static func response(_ receipt: Receipt) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/html; charset=utf-8", .contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'"],
            body: .init(byteBuffer: ByteBuffer(string: html(receipt)))
        )
    }

    static func html(_ receipt: Receipt) -> String {
        let title = receipt.kind == .settlement ? "医疗费用结算单 Settlement receipt" : receipt.kind == .reversal ? "结算撤销单 Reversal" : "退费单 Refund"
        var rows = ""
        for line in receipt.lines {
            rows +=
                "<tr><td>\(escape(line.split.itemName))</td><td>\(escape(line.split.specification))</td><td class=n>\(line.split.quantity)</td>"
                + "<td class=n>\(line.split.amount)</td><td class=n>\(line.fundPaid)</td><td class=n>\(line.accountPaid)</td><td class=n>\(line.cashPaid)</td></tr>"
        }
        let source = receipt.fundingSource.map { " — \(escape($0.bank)) \(escape($0.masked))" } ?? ""
        return """
            <!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
            <title>\(escape(title)) \(escape(receipt.settlementId))</title>
            <style>body{font-family:sans-serif;max-width:780px;margin:2em auto;color:#111}table{border-collapse:collapse;width:100%}
            td,th{border-bottom:1px solid #ccc;padding:4px 6px;text-align:left}.n{text-align:right}h1{font-size:1.3em}
            .totals td{font-weight:bold}.code{font-family:monospace;font-size:1.2em;letter-spacing:.1em}@media print{body{margin:0}}</style></head><body>
            <h1>\(escape(title))</h1>
            <p>\(escape(receipt.institution.name)) (\(escape(receipt.institution.code)), \(escape(receipt.institution.region.value)))<br>
            结算号 Settlement <b>\(escape(receipt.settlementId))</b>\(receipt.originalId.map { " (原结算 of \(escape($0)))" } ?? "")<br>
            患者 Patient \(escape(receipt.personNameMasked)) · \(escape(receipt.category.chineseName)) · \(escape(receipt.settledAt.nationalDateTime))</p>
            <table><tr><th>项目 Item</th><th>规格 Spec</th><th class=n>数量 Qty</th><th class=n>金额 Amount</th><th class=n>基金 Fund</th>
            <th class=n>账户 Account</th><th class=n>现金 Cash</th></tr>\(rows)
            <tr class=totals><td colspan=3>合计 Total (元 yuan)</td><td class=n>\(receipt.totalAmount)</td><td class=n>\(receipt.fundPaid)</td>
            <td class=n>\(receipt.accountPaid)</td><td class=n>\(receipt.cashPaid)</td></tr></table>
            <p>\(receipt.breakdown.otherFund == .zero ? "" : "其中惠民保（商业保险）of which the commercial plan: \(receipt.breakdown.otherFund) · ")\
            其中共济 of which family mutual aid: \(receipt.mutualAidPaid) · 现金收取 cash collected \(receipt.cashCollection == .channel ? "by Yibao" : "at the counter")\(source)</p>
            <p>验证码 Verification code <span class=code>\(escape(receipt.verificationCode))</span></p>
            </body></html>
            """
    }

    static func escape(_ text: String) -> String {
        var output = ""
        for character in text {
            switch character {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            case "'": output += "&#39;"
            default: output.append(character)
            }
        }
        return output
    }
}
