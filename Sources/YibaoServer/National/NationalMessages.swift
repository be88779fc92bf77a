import YibaoCore

/// A failure the gateway answers with `infcode -1` and a Chinese `err_msg`.
struct NationalFailure: Error, Sendable {
    let message: String
    init(_ message: String) { self.message = message }
}

/// Chinese messages for national clients: every refusal Yibao has, by its code (the switch is
/// exhaustive, so a new refusal code does not compile until it has its message), with the field the
/// refusal names.
enum NationalMessages {
    static func message(_ refusal: Refusal) -> String {
        let text: String
        switch refusal.code {
        case .invalidRequest: text = "入参错误"
        case .idempotencyKeyReused: text = "报文ID已用于另一笔不同的交易"
        case .idempotencyKeyRequired: text = "缺少幂等标识"
        case .bodyTooLarge: text = "报文过大"
        case .bodyTooSlow: text = "报文接收超时"
        case .unauthenticated: text = "身份认证失败"
        case .forbidden: text = "无权办理此交易"
        case .rateLimited: text = "请求过于频繁，请稍后再试"
        case .signatureInvalid: text = "签名校验失败"
        case .signatureStale: text = "时间戳超出允许范围"
        case .signatureReplayed: text = "请求重复（随机数已使用）"
        case .notFound: text = "未找到对应记录"
        case .unknownPerson: text = "未查询到人员参保信息"
        case .unknownInstitution: text = "未查询到定点医药机构信息"
        case .unknownCatalogueItem: text = "医保目录中不存在该项目"
        case .noPolicy: text = "未配置该险种当年的待遇政策"
        case .personNotInsured: text = "人员参保状态异常，不能享受待遇"
        case .noFeeLines: text = "没有费用明细"
        case .visitAlreadySettled: text = "该就诊已结算"
        case .visitNotOpen: text = "就诊状态不允许此操作"
        case .alreadyReversed: text = "该结算已撤销"
        case .refundExceedsSettlement: text = "退费金额超过可退金额"
        case .amountMismatch: text = "医疗费总额与费用明细不符"
        case .settlementInProgress: text = "结算正在处理中，请稍后查询"
        case .alreadyExists: text = "记录已存在"
        case .settlementNotCompleted: text = "结算尚未完成"
        case .settlementRefunded: text = "该结算已部分退费，不能撤销"
        case .wouldGoNegative: text = "累计数不能为负"
        case .codeMalformed: text = "医保电子凭证格式错误"
        case .codeInvalid: text = "医保电子凭证校验失败"
        case .codeExpired: text = "医保电子凭证已过期，请刷新"
        case .codeUsed: text = "医保电子凭证已使用，请刷新"
        case .codeRevoked: text = "医保电子凭证所属设备已注销"
        case .paymentDeclined: text = "支付被银行拒绝"
        case .paymentPending: text = "支付结果待确认，请稍后查询"
        case .refundNotAllowed: text = "不允许退费"
        case .cardRefused: text = "银行卡不可用"
        case .noFundingSource: text = "未绑定支付方式"
        case .premiumAlreadyPaid: text = "该期保费已缴纳"
        case .periodNotOpen: text = "不在缴费期内"
        case .noPremiumSchedule: text = "未配置缴费标准"
        case .familyLimitReached: text = "家庭共济人数已达上限"
        case .bindingNotPending: text = "绑定申请状态不允许此操作"
        case .alreadyInFamily: text = "已在家庭共济关系中"
        case .familyPaymentNotAllowed: text = "不允许家庭共济支付"
        case .identityNotVerified: text = "身份核验未通过"
        case .creditRefused: text = "授信被拒绝"
        case .creditSuspended: text = "信用额度已暂停"
        case .noFrictionlessAuthorisation: text = "未签约无感支付"
        case .accountInsufficient: text = "个人账户余额不足"
        case .repaymentExceedsOwed: text = "还款金额超过欠款"
        case .accountRepaymentNotAllowed: text = "不允许使用个人账户还款"
        case .registrationMismatch: text = "登记信息不一致"
        case .smsCodeInvalid: text = "短信验证码错误"
        case .signInFailed: text = "登录失败"
        case .accountLocked: text = "账户已锁定"
        case .weakPassword: text = "密码强度不足"
        case .secondFactorRequired: text = "需要二次验证"
        case .secondFactorInvalid: text = "二次验证码错误"
        case .partyNotConfigured: text = "外部机构未接入"
        case .approvalRequired: text = "需第二名管理员审批"
        case .clearingState: text = "清算申请状态不允许此操作"
        case .nothingToClear: text = "没有可清算的结算记录"
        case .payoutAccountMissing: text = "机构未登记收款账户"
        case .periodNotEnded: text = "对账或清算期间尚未结束"
        case .paymentOrderClosed: text = "支付订单已支付、已撤销或已过期"
        case .reminderClosed: text = "用药提醒已取消或疗程已结束"
        }
        let field = refusal.field.map { "（\(NationalMessages.nationalName($0))）" } ?? ""
        return text + field
    }

    /// The national name of a field Yibao's refusals name, where they differ.
    static func nationalName(_ field: String) -> String {
        let names = [
            "person_number": "psn_no", "hospital_visit_number": "ipt_otp_no", "category": "med_type", "lines": "feedetail",
            "settlement_id": "setl_id", "visit_id": "mdtrt_id", "line_numbers": "feedetl_sn",
        ]
        for (yibao, national) in names where field.hasPrefix(yibao) { return national + field.dropFirst(yibao.count) }
        return field
    }
}
