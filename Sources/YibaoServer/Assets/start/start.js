// The front door: with `serve --demo`, the demo's published sign-ins (GET /v1/demo/sign-ins, only
// served in the demo) so a newcomer can try each app.
import { h } from '/desk/desk.js';

async function demo() {
  let signIns;
  try {
    const response = await fetch('/v1/demo/sign-ins');
    if (!response.ok) return;
    signIns = await response.json();
  } catch {
    return;
  }
  const list = document.getElementById('demo-list');
  const p = signIns.patient;
  list.append(
    h('h3', {}, '患者手机端 /app/'),
    h('p', {}, `注册：${p.name}，身份证号 `, h('code', {}, p.id_number), '，医保编号 ', h('code', {}, p.person_number), '，手机 ', h('code', {}, p.phone),
      '；短信验证码由沙箱发送，用演示管理员令牌读取：', h('code', {}, `GET /v1/sandbox/messages?phone=${p.phone}`)),
    h('h3', {}, '医院收款台 /cashier/'),
    h('ul', {}, signIns.staff.map((s) => h('li', {}, `${s.display_name}（${s.role === 'manager' ? '主管' : '收款员'}）：机构 `, h('code', {}, s.institution_code), '，登录名 ',
      h('code', {}, s.name), '，密码 ', h('code', {}, s.password), '，身份验证器密钥 ', h('code', { 'data-key': s.name }, s.totp_key)))),
    h('h3', {}, '医保局工作台 /bureau/'),
    h('ul', {}, signIns.operators.map((o) => h('li', {}, `${o.name}（${o.role}）：令牌 `, h('code', {}, o.token)))),
    h('h3', {}, '医院 HIS（curl）'),
    h('p', {}, h('code', {}, `Authorization: ${signIns.his_authorization}`)),
  );
  document.getElementById('demo').hidden = false;
}

demo();
