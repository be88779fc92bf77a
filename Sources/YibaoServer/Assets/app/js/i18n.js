// The app's words, Simplified Chinese first, English on the switch. Problem documents become these
// plain-language messages by their stable `code` (docs/api.md); a code not listed falls back to a
// general message in the page's language, never to raw JSON.

const WORDS = {
  zh: {
    appName: '医保', signIn: '登录', signUp: '注册', signOut: '退出登录', phone: '手机号', password: '密码',
    authCode: '身份验证器动态码（6位）', idNumber: '身份证号', personNumber: '医保编号（个人编号）', personNumberShort: '医保编号', fromDate: '开始日期', untilDate: '结束日期', whyNotCovered: (a) => `这次就诊在这一级别的医院不在统筹基金支付范围，医保范围内的 ${a} 元由您负担（个人账户或现金）。`, whyCovered: (a, d, r, f) => `医保范围内 ${a} 元：起付线 ${d} 元由您负担，其余按 ${r} 由统筹基金支付 ${f} 元。`, whyCapped: '本年度统筹基金已到封顶线，超出部分由大额/大病保险或您负担。', whyNothingInScope: '这次的费用都不在医保范围内，或是需要先行自付的部分。', whyCoveredNoDeductible: (a, r, f) => `医保范围内 ${a} 元，按 ${r} 由统筹基金支付 ${f} 元（这次无需再付起付线）。`, reasonFullSelfPay: '目录外全自费', reasonOverLimit: '超限价自付', reasonFirstSelfPay: '乙类先行自付', smsCode: '短信验证码',
    sendSms: '获取验证码', next: '下一步', newPassword: '新密码（至少10位，含字母和数字）', forgot: '忘记密码',
    resetPassword: '重设密码', haveAccount: '已有账号？登录', noAccount: '还没有账号？注册',
    authSetupTitle: '设置身份验证器', authSetupHelp: '用身份验证器应用扫描二维码，或手动输入下面的密钥，然后输入应用显示的6位码登录。',
    manualKey: '手动输入的密钥', done: '完成', home: '首页', code: '付款码', wallet: '钱包', family: '家庭', more: '我的',
    codeTitle: '医保电子凭证', codeHelp: '请向收款员出示，二维码每30秒自动刷新', refreshIn: (s) => `${s} 秒后刷新`,
    offline: '当前离线，付款码仍可使用', brightness: '请调高屏幕亮度', fullScreen: '全屏显示',
    enrolTitle: '开通付款码', enrolHelp: '首次使用需在本机开通付款码，请输入身份验证器的6位码。', deviceName: '设备名称', enrol: '开通',
    balances: '余额', personalAccount: '个人账户', creditAvailable: '医疗信用额度（可用）', creditUsed: '已用', cards: '银行卡',
    history: '收支明细', filter: '筛选', all: '全部', loadMore: '加载更多', noMore: '没有更多了', exportCsv: '导出 CSV',
    statement: '月度账单', items: '药品和项目', report: '我不认识这笔交易', reportReason: '请说明原因', send: '提交',
    reports: '我的申诉', fund: '统筹基金', account: '个人账户', cash: '现金/银行卡', mutualAid: '家庭共济', total: '总费用',
    receipt: '电子票据', detail: '明细', back: '返回', institution: '医疗机构', time: '时间', amount: '金额', state: '状态',
    bindRelative: '绑定亲属', relationship: '关系', spouse: '配偶', parent: '父母', child: '子女', memberNumber: '亲属医保编号',
    memberId: '亲属身份证号', documentRef: '证明材料编号（出生证明或户口簿）', bindings: '家庭成员', asBinder: '我绑定的亲属',
    asMember: '绑定我的亲属', confirm: '同意', decline: '拒绝', cancel: '撤回', unbind: '解除绑定', pending: '待确认',
    inReview: '审核中', approved: '已绑定', active: '已绑定', rejected: '未通过', unbound: '已解除', declined: '已拒绝', cancelled: '已撤回',
    familyLimits: '家庭共济规则：可绑定配偶、父母、子女；16岁及以上的亲属需在其本人App中确认（刷脸），16岁以下需上传出生证明或户口簿，由医保局审核。每人每月最多完成5次绑定，同一亲属每月最多被绑定2次；一位亲属同时只能在一个家庭中。绑定后可为亲属缴费、查看其账户，就诊时用您的付款码为亲属付款，其个人账户不足的部分由您的个人账户共济支付（慢特病、生育、工伤除外）。',
    premiums: '缴费', payFor: '为谁缴费', self: '本人', period: '缴费期', kind: '险种', pay: '支付', paid: '已缴纳',
    payWithCard: '用银行卡支付', verifyCode: '校验码', verifyLink: '查验链接', credit: '信用与先诊疗后付费',
    bindCard: '绑定银行卡', cardNumber: '银行卡号', applyCredit: '申请医疗信用额度', limit: '额度', decision: '审批结果',
    priority: '付款顺序', setDefault: '设为默认', frictionless: '无感支付（先诊疗后付费）', sign: '签约', revoke: '解约',
    signed: '已签约', notSigned: '未签约', bills: '账单', repay: '还款', fromCard: '从银行卡', fromAccount: '从个人账户',
    overdue: '已逾期', penalty: '逾期罚息按日计收，按时还款可避免', inbox: '消息', unread: (n) => `${n} 条未读`, markRead: '全部已读',
    devices: '我的设备', sessions: '登录设备', endSession: '下线', endAll: '全部下线', revokeDevice: '停用', thisDevice: '本机',
    elderMode: '长辈模式（大字）', language: 'English', settings: '设置', loading: '加载中…', yuan: '元', none: '暂无',
    networkError: '网络连接失败，请检查网络后重试', genericError: '操作未成功，请稍后再试', signInFirst: '请先登录',
    busy: (seconds) => `系统繁忙，${seconds} 秒后自动重试，不会重复扣款`,
    coverage: '参保期间', fundingSources: '支付方式', default: '默认', remove: '移除', creditLines: '信用额度',
    welcome: (name) => `您好，${name}`, signedInUntil: '登录有效期至', status: '参保状态',
    memberWallet: '亲属的账户', payForMember: '为亲属缴费', selfPaidReason: '自付原因', kindFilter: '类型',
    settlement: '结算', refund: '退费', premium: '缴费', repayment: '还款', adjustment: '调整',
    reported: '已提交，等待医保局处理', authentic: '票据真实有效', notAuthentic: '票据信息不符，可能不是真实票据', skipToContent: '跳到主要内容', enum_active: '正常', enum_suspended: '暂停', enum_terminated: '终止', enum_resident_annual: '城乡居民医保（年度）', enum_flexible_monthly: '灵活就业人员医保（按月）', enum_commercial_plan: '惠民保（城市普惠商业医疗保险，按年）', enum_paid: '已缴纳', enum_pending: '处理中', enum_unpaid: '未缴纳', enum_open: '处理中', enum_resolved: '已处理', enum_rejected: '未通过', enum_account_first: '先个人账户，后银行卡/信用额度', enum_source_first: '先银行卡/信用额度', enum_account_only: '只用个人账户', enum_closed: '不在缴费期', orders: '待支付账单', ordersHelp: '医院发来的待支付账单（线上问诊、医院公众号缴费）。确认后与到柜台扫码结算相同：统筹基金、个人账户支付，其余从默认银行卡或信用额度支付。', forRelative: '为亲属支付：', payBefore: '请在此之前支付', useAccount: '使用个人账户支付', order_paid: '已支付', order_paying: '支付确认中', order_cancelled: '医院已撤销', order_expired: '已过期', order_awaiting_payment: '待支付', estimate: '报销估算', estimateHelp: '就医前估算医保能报销多少：选择医院和就医类型，按甲类、乙类、丙类填写大概的费用。按您今年到目前的累计和个人账户余额计算，不会扣款也不会留下记录。', estimateInstitution: '就医机构', estimateCategory: '就医类型', estimateClassA: '甲类费用（元）', estimateClassB: '乙类费用（元）', estimateClassC: '丙类及目录外费用（元）', estimateRun: '估算', estimateResult: '估算结果', estimateAssumptions: '估算依据', estimateNeedAmount: '请至少填写一项费用', cat11: '普通门诊', cat13: '急诊', cat14: '门诊慢特病', cat21: '住院', cat41: '药店购药', catastrophic: '大病保险', commercialPlan: '其中惠民保（商业保险）', assume_year_figures_now: '按您今年到目前的累计和个人账户余额计算；这之间再就医结算会改变结果', assume_prices_as_sent: '按填写的价格计算；超过限价的部分自付', assume_class_a_in_scope: '甲类费用全部在医保范围内，不设限价', assume_class_b_first_self_pay: (r) => `乙类费用按本地区最常见的先行自付比例 ${(Number(r ?? 0) / 100).toFixed(0)}% 计算`, assume_class_c_self_paid: '丙类及目录外费用全部自付', assume_commercial_plan_enrolled: '您已参加本年度惠民保，已计入惠民保支付部分', assume_commercial_plan_not_enrolled: '您未参加本年度惠民保，未计入惠民保；参保（缴纳保费）后可多报销一部分', reminders: '用药提醒', reminderCaregiver: '家人照看（医保编号）', remindersFamilyHelp: '为绑定的家人设置用药提醒：由您接受或修改的提醒，到时也会发到您的消息中心。', remindersHelp: '按医院开具的用法用量，为每次取的药生成提醒。医院没有给出用法时按假设生成，请按医嘱修改。接受后才会提醒；药品退费后提醒自动取消。提醒按北京时间送到消息中心。', remindersNone: '还没有可设置提醒的药品', reminderTimes: '提醒时间', reminderDays: '疗程天数', reminderDose: '用法用量', reminderCourse: '疗程', reminderDaysCount: (d, every) => (Number(every) > 1 ? `共 ${d} 天，每 ${every} 天一次` : `共 ${d} 天`), reminderPrescribed: '医嘱频次', reminderNext: '下次提醒', reminderOff: '关闭提醒', reminderOn: '开启提醒', reminderAccept: '接受提醒', reminderEdit: '修改时间和天数', save: '保存', reminderBadTimes: '请填写时间，如 08:00, 12:00, 18:00', reminderBadDays: '疗程天数为 1 到 365', enum_reminder_proposed: '待确认', enum_reminder_active: '提醒中', enum_reminder_off: '已关闭', enum_reminder_cancelled: '已取消（退费）', enum_reminder_finished: '疗程已结束',
  },
  en: {
    appName: 'Yibao', signIn: 'Sign in', signUp: 'Sign up', signOut: 'Sign out', phone: 'Phone', password: 'Password',
    authCode: 'Authenticator code (6 digits)', idNumber: 'ID number', personNumber: 'Insurance (person) number', personNumberShort: 'Insurance no.', fromDate: 'From', untilDate: 'Until', whyNotCovered: (a) => `This care at this level of hospital is not covered by the fund, so the ${a} yuan in scope is yours (account or cash).`, whyCovered: (a, d, r, f) => `${a} yuan in scope: the deductible ${d} yuan is yours; of the rest the fund pays ${r}, ${f} yuan.`, whyCapped: 'This year the fund has reached its cap: above it, the catastrophic or supplementary insurance pays, or you.', whyNothingInScope: 'Nothing in scope: every amount is self-paid or paid first by you.', whyCoveredNoDeductible: (a, r, f) => `${a} yuan in scope, of which the fund pays ${r}, ${f} yuan (no deductible due this time).`, reasonFullSelfPay: 'not covered (full self-pay)', reasonOverLimit: 'above the price cap', reasonFirstSelfPay: 'class B first self-pay', smsCode: 'SMS code',
    sendSms: 'Send code', next: 'Next', newPassword: 'New password (10+ characters, letters and digits)', forgot: 'Forgot password',
    resetPassword: 'Reset password', haveAccount: 'Have an account? Sign in', noAccount: 'No account yet? Sign up',
    authSetupTitle: 'Set up your authenticator', authSetupHelp: 'Scan the QR code with an authenticator app, or type the key below, then sign in with the 6-digit code it shows.',
    manualKey: 'Key to type in', done: 'Done', home: 'Home', code: 'Pay code', wallet: 'Wallet', family: 'Family', more: 'Me',
    codeTitle: 'Medical insurance e-voucher', codeHelp: 'Show this to the cashier; it refreshes every 30 seconds', refreshIn: (s) => `Refreshes in ${s} s`,
    offline: 'Offline — the code still works', brightness: 'Turn the screen brightness up', fullScreen: 'Full screen',
    enrolTitle: 'Turn on the pay code', enrolHelp: 'The first time, turn on the pay code on this phone with your 6-digit authenticator code.', deviceName: 'Device name', enrol: 'Turn on',
    balances: 'Balances', personalAccount: 'Personal account', creditAvailable: 'Medical credit (available)', creditUsed: 'Used', cards: 'Bank cards',
    history: 'History', filter: 'Filter', all: 'All', loadMore: 'Load more', noMore: 'No more', exportCsv: 'Export CSV',
    statement: 'Monthly statement', items: 'Drugs and items', report: "I don't recognise this", reportReason: 'Tell us why', send: 'Send',
    reports: 'My reports', fund: 'Pooled fund', account: 'Personal account', cash: 'Cash / card', mutualAid: 'Family mutual aid', total: 'Total',
    receipt: 'Receipt', detail: 'Details', back: 'Back', institution: 'Institution', time: 'Time', amount: 'Amount', state: 'State',
    bindRelative: 'Bind a relative', relationship: 'Relationship', spouse: 'Spouse', parent: 'Parent', child: 'Child', memberNumber: "Relative's insurance number",
    memberId: "Relative's ID number", documentRef: 'Document reference (birth certificate or household register)', bindings: 'Family', asBinder: 'Relatives I bound',
    asMember: 'Relatives who bound me', confirm: 'Accept', decline: 'Decline', cancel: 'Withdraw', unbind: 'Unbind', pending: 'Waiting',
    inReview: 'In review', approved: 'Bound', active: 'Bound', rejected: 'Rejected', unbound: 'Unbound', declined: 'Declined', cancelled: 'Withdrawn',
    familyLimits: 'Family rules: you may bind a spouse, parents and children. Relatives of 16 and over confirm in their own app (with a face check); under 16, upload a birth certificate or household register for the bureau to review. Each person completes at most 5 bindings a month and a relative can be bound at most twice a month; a relative belongs to one family at a time. Once bound you can pay their premiums, see their account, and pay for their visits with your code: what their own account lacks comes from yours as mutual aid (not for chronic/special disease, maternity or work injury).',
    premiums: 'Premiums', payFor: 'Pay for', self: 'Myself', period: 'Period', kind: 'Insurance', pay: 'Pay', paid: 'Paid',
    payWithCard: 'Pay with a bank card', verifyCode: 'Verification code', verifyLink: 'Verification link', credit: 'Credit and pay-later',
    bindCard: 'Bind a bank card', cardNumber: 'Card number', applyCredit: 'Apply for medical credit', limit: 'Limit', decision: 'Decision',
    priority: 'Payment order', setDefault: 'Make default', frictionless: 'Frictionless payment (treat first, pay later)', sign: 'Sign', revoke: 'Revoke',
    signed: 'Signed', notSigned: 'Not signed', bills: 'Bills', repay: 'Repay', fromCard: 'From a card', fromAccount: 'From the personal account',
    overdue: 'Overdue', penalty: 'Penalty interest accrues daily on overdue amounts; repaying on time avoids it', inbox: 'Inbox', unread: (n) => `${n} unread`, markRead: 'Mark all read',
    devices: 'My devices', sessions: 'Signed-in sessions', endSession: 'End', endAll: 'End all', revokeDevice: 'Turn off', thisDevice: 'This device',
    elderMode: 'Large text mode', language: '中文', settings: 'Settings', loading: 'Loading…', yuan: 'yuan', none: 'None yet',
    networkError: 'No connection. Check the network and try again', genericError: 'That did not work. Please try again later', signInFirst: 'Please sign in first',
    busy: (seconds) => `The system is busy; trying again in ${seconds} s. Nothing is charged twice`,
    coverage: 'Coverage', fundingSources: 'Ways to pay', default: 'Default', remove: 'Remove', creditLines: 'Credit lines',
    welcome: (name) => `Hello, ${name}`, signedInUntil: 'Signed in until', status: 'Insurance status',
    memberWallet: "Relative's account", payForMember: 'Pay for a relative', selfPaidReason: 'Why self-paid', kindFilter: 'Kind',
    settlement: 'Settlement', refund: 'Refund', premium: 'Premium', repayment: 'Repayment', adjustment: 'Adjustment',
    reported: 'Sent; the bureau will look into it', authentic: 'The receipt is authentic', notAuthentic: 'The receipt does not match: it may not be genuine', skipToContent: 'Skip to content', enum_active: 'Active', enum_suspended: 'Suspended', enum_terminated: 'Terminated', enum_resident_annual: 'Residents (annual)', enum_flexible_monthly: 'Flexible employment (monthly)', enum_commercial_plan: 'City inclusive health plan (惠民保, annual)', enum_paid: 'Paid', enum_pending: 'Pending', enum_unpaid: 'Unpaid', enum_open: 'Open', enum_resolved: 'Resolved', enum_rejected: 'Rejected', enum_account_first: 'Personal account first, then card or credit', enum_source_first: 'Card or credit first', enum_account_only: 'Personal account only', enum_closed: 'Not open for payment', orders: 'Bills to pay', ordersHelp: 'Bills the hospital sent (online consultations, the hospital\'s WeChat page). Paying one settles it exactly as the pay code at the counter: the fund and the personal account pay their share, the rest comes from your default card or credit line.', forRelative: 'For your relative:', payBefore: 'Pay before', useAccount: 'Use the personal account', order_paid: 'Paid', order_paying: 'Being confirmed', order_cancelled: 'Cancelled by the hospital', order_expired: 'Expired', order_awaiting_payment: 'To pay', estimate: 'Reimbursement estimate', estimateHelp: 'Before treatment, see roughly what insurance will pay: choose the hospital and the kind of care, and enter the expected amounts by class A, B and C. It uses your figures for the year so far and your personal account; nothing is charged or recorded.', estimateInstitution: 'Hospital or pharmacy', estimateCategory: 'Kind of care', estimateClassA: 'Class A amount (yuan)', estimateClassB: 'Class B amount (yuan)', estimateClassC: 'Class C and out-of-scope amount (yuan)', estimateRun: 'Estimate', estimateResult: 'Estimate', estimateAssumptions: 'What it assumes', estimateNeedAmount: 'Enter at least one amount', cat11: 'Outpatient', cat13: 'Emergency', cat14: 'Chronic outpatient', cat21: 'Inpatient', cat41: 'Pharmacy', catastrophic: 'Catastrophic insurance', commercialPlan: 'Of which the inclusive plan (惠民保)', assume_year_figures_now: 'Your figures for the year and your personal account as they are now; another settlement in between changes the result', assume_prices_as_sent: 'The prices entered; anything above a price cap is self-paid', assume_class_a_in_scope: 'Class A wholly in scope, with no price cap', assume_class_b_first_self_pay: (r) => `Class B with the region's most common first self-pay of ${(Number(r ?? 0) / 100).toFixed(0)}%`, assume_class_c_self_paid: 'Class C and out-of-scope items wholly self-paid', assume_commercial_plan_enrolled: "You are in this year's inclusive plan (惠民保): its share is included", assume_commercial_plan_not_enrolled: "You are not in this year's inclusive plan (惠民保): joining (paying its premium) would add its share", reminders: 'Medication reminders', reminderCaregiver: 'Looked after by (insurance number)', remindersFamilyHelp: 'Reminders for a relative you bound: the ones you accept or change also reach your own inbox at their times.', remindersHelp: 'A reminder for each drug you collect, following the dosage the hospital sent; where it sent none, on stated assumptions — change them to match your prescription. Nothing reminds you until you accept; a refunded drug\'s reminder is cancelled. Reminders arrive in your inbox at their times (China time).', remindersNone: 'No drugs to remind you of yet', reminderTimes: 'Times', reminderDays: 'Days of the course', reminderDose: 'Dose', reminderCourse: 'Course', reminderDaysCount: (d, every) => (Number(every) > 1 ? `${d} days, every ${every} days` : `${d} days`), reminderPrescribed: 'Prescribed frequency', reminderNext: 'Next reminder', reminderOff: 'Turn off', reminderOn: 'Turn on', reminderAccept: 'Accept', reminderEdit: 'Change times and days', save: 'Save', reminderBadTimes: 'Enter times like 08:00, 12:00, 18:00', reminderBadDays: 'The course is 1 to 365 days', enum_reminder_proposed: 'To confirm', enum_reminder_active: 'On', enum_reminder_off: 'Off', enum_reminder_cancelled: 'Cancelled (refunded)', enum_reminder_finished: 'Course finished',
  },
};

const PROBLEMS = {
  zh: {
    invalid_request: '填写的内容有误，请检查后重试', unauthenticated: '登录已失效，请重新登录', forbidden: '您没有权限进行此操作',
    rate_limited: '操作太频繁，请稍后再试', not_found: '没有找到这条记录', unknown_person: '没有查到您的参保信息',
    overloaded: '系统繁忙，请稍后再试；这次操作没有执行',
    unavailable: '系统暂时无法确认这次操作是否完成，请稍后查看再试',
    registration_mismatch: '身份证号、医保编号和手机号与参保登记不一致', sms_code_invalid: '短信验证码不正确或已过期，请重新获取',
    sign_in_failed: '手机号、密码或动态码不正确', account_locked: '输错次数太多，账户已暂时锁定，请15分钟后再试',
    weak_password: '密码太简单：至少10位，含字母和数字，且不能包含手机号或身份证号', second_factor_required: '请输入身份验证器的6位码',
    second_factor_invalid: '动态码不正确或已用过，请等下一个码', account_insufficient: '个人账户余额不足',
    family_limit_reached: '本月绑定次数已达上限（每人每月最多完成5次绑定，同一亲属每月最多被绑定2次），请下月再试', already_in_family: '对方已在家庭共济关系中',
    binding_not_pending: '这条绑定申请已处理过了', family_payment_not_allowed: '不能为这位亲属支付',
    identity_not_verified: '身份核验没有通过', card_refused: '银行卡不可用或不在您本人名下', payment_declined: '银行拒绝了这笔支付（余额不足或卡片受限）',
    payment_pending: '支付结果待确认，请稍后查看', no_funding_source: '请先绑定银行卡或开通信用额度', premium_already_paid: '这一期已经缴过了',
    period_not_open: '现在不在缴费期内', no_premium_schedule: '当地暂未公布缴费标准', credit_refused: '信用额度申请未通过',
    credit_suspended: '信用额度已暂停（有逾期未还）', no_frictionless_authorisation: '还没有签约无感支付',
    repayment_exceeds_owed: '还款金额超过了欠款', account_repayment_not_allowed: '这笔欠款不能用个人账户还',
    party_not_configured: '这项服务暂未开通', already_exists: '已经存在', code_used: '付款码已使用，请等待刷新',
    code_expired: '付款码已过期，请刷新', code_revoked: '这台设备已停用', idempotency_key_reused: '请求重复，请刷新后重试',
    person_not_insured: '参保状态异常，暂不能享受待遇', reminder_closed: '这条提醒已取消或疗程已结束，不能再修改',
  },
  en: {
    invalid_request: 'Something in the form is not right; please check it', unauthenticated: 'Your session ended; please sign in again', forbidden: 'You may not do that',
    rate_limited: 'Too many tries; please wait a little', not_found: 'Not found', unknown_person: 'We could not find your insurance record',
    overloaded: 'The system is busy; please try again in a moment. Nothing was done',
    unavailable: 'The system could not confirm whether this was done; please check again in a moment',
    registration_mismatch: 'The ID number, insurance number and phone do not match the enrolment', sms_code_invalid: 'The SMS code is wrong or has expired; ask for a new one',
    sign_in_failed: 'Phone, password or authenticator code is wrong', account_locked: 'Too many wrong tries; the account is locked for 15 minutes',
    weak_password: 'Password too simple: at least 10 characters with letters and digits, not your phone or ID number', second_factor_required: 'Enter the 6-digit authenticator code',
    second_factor_invalid: 'That code is wrong or already used; wait for the next one', account_insufficient: 'Not enough in the personal account',
    family_limit_reached: 'This month’s binding limit is reached (5 bindings a person, a relative bound at most twice a month); try again next month', already_in_family: 'That person is already in a family',
    binding_not_pending: 'This request was already handled', family_payment_not_allowed: 'You cannot pay for this relative',
    identity_not_verified: 'Identity check failed', card_refused: 'The card cannot be used or is not in your name', payment_declined: 'The bank declined the payment',
    payment_pending: 'The payment is being confirmed; check again soon', no_funding_source: 'Bind a card or open a credit line first', premium_already_paid: 'This period is already paid',
    period_not_open: 'Payments for this period are not open', no_premium_schedule: 'No contribution schedule has been published', credit_refused: 'The credit application was declined',
    credit_suspended: 'The credit line is suspended (an overdue bill)', no_frictionless_authorisation: 'Frictionless payment is not signed',
    repayment_exceeds_owed: 'That is more than you owe', account_repayment_not_allowed: 'This cannot be repaid from the personal account',
    party_not_configured: 'This service is not available yet', already_exists: 'Already exists', code_used: 'Code already used; wait for the next',
    code_expired: 'The code expired; refresh it', code_revoked: 'This device is turned off', idempotency_key_reused: 'Duplicate request; reload and try again',
    person_not_insured: 'Your insurance is not active', reminder_closed: 'This reminder was cancelled or its course is over; it cannot be changed',
  },
};

let language = localStorage.getItem('yibao.lang') === 'en' ? 'en' : 'zh';

export const lang = () => language;
export function setLanguage(value) {
  language = value;
  localStorage.setItem('yibao.lang', value);
  document.documentElement.lang = value === 'en' ? 'en' : 'zh-CN';
}

/** A word (or a phrase function's result) in the page's language. */
export function t(key, ...args) {
  const entry = WORDS[language][key] ?? WORDS.zh[key] ?? key;
  return typeof entry === 'function' ? entry(...args) : entry;
}

/** A value the platform sends as a code (a state, a kind) in words; the code itself when unknown. */
export function named(value) {
  if (value === null || value === undefined) return '';
  const entry = WORDS[language][`enum_${value}`];
  return entry ?? String(value);
}

/** The plain-language message for a problem code. */
export function problemMessage(code) {
  return PROBLEMS[language][code] ?? t('genericError');
}

/** Fen as yuan with two decimals: 12345 → "123.45". */
export function yuan(fen) {
  const value = Number(fen ?? 0);
  const sign = value < 0 ? '-' : '';
  const abs = Math.abs(value);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

export function dateTime(iso) {
  if (!iso) return '';
  return iso.replace('T', ' ').slice(0, 16);
}
